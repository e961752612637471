using System.Buffers.Binary;
using System.Text;

namespace Sweep.Models.Data;

/// <summary>
/// Reads the official python batches (cifar-10-batches-py): a pickled dict whose <c>data</c> is a numpy
/// uint8 array of shape (N, 3072) and whose <c>labels</c> is a list of ints.
/// </summary>
/// <remarks>
/// No pickle library is available to us, and a general unpickler would execute arbitrary globals, so
/// this is a strict interpreter of exactly the opcodes and the handful of globals (numpy's array
/// reconstruction, numpy.dtype, _codecs.encode) that those files use; anything else is rejected.
/// </remarks>
internal static class CifarPickleFormat
{
    public static CifarRawBatch Read(string path)
    {
        if (!File.Exists(path))
            throw new CifarDataException(
                $"CIFAR-10 file {path} is missing; put the official cifar-10-batches-py files there, or point --data / SWEEP_DATA at an empty directory to download the binary version");
        object root;
        try
        {
            root = new Unpickler(File.ReadAllBytes(path)).Load();
        }
        catch (PickleException e)
        {
            throw new CifarDataException($"CIFAR-10 file {path} is not a CIFAR-10 python batch ({e.Message}); replace it with the official file");
        }
        return ToBatch(path, root);
    }

    internal static CifarRawBatch Parse(string source, byte[] bytes)
    {
        try
        {
            return ToBatch(source, new Unpickler(bytes).Load());
        }
        catch (PickleException e)
        {
            throw new CifarDataException($"CIFAR-10 file {source} is not a CIFAR-10 python batch ({e.Message}); replace it with the official file");
        }
    }

    private static CifarRawBatch ToBatch(string path, object root)
    {
        string Fail(string what) =>
            $"CIFAR-10 file {path} is not a CIFAR-10 python batch ({what}); replace it with the official file";

        if (root is not Dictionary<string, object?> dict)
            throw new CifarDataException(Fail("top level is not a dict"));
        if (!dict.TryGetValue("data", out var dataObj) || dataObj is not NumpyArray data)
            throw new CifarDataException(Fail("no numpy array under 'data'"));
        if (!dict.TryGetValue("labels", out var labelsObj) || labelsObj is not List<object?> labelList)
            throw new CifarDataException(Fail("no list under 'labels'"));
        if (data.DType != "u1" || data.Shape.Length != 2 || data.Shape[1] != CifarRawBatch.ImageBytes || data.Data is null)
            throw new CifarDataException(Fail($"'data' must be uint8 of shape (N, {CifarRawBatch.ImageBytes}), got {data.DType} ({string.Join(", ", data.Shape)})"));
        if (data.Shape[0] != labelList.Count)
            throw new CifarDataException(Fail($"'data' has {data.Shape[0]} rows but 'labels' has {labelList.Count} entries"));
        if (data.Data.Length != data.Shape[0] * data.Shape[1])
            throw new CifarDataException(Fail($"'data' holds {data.Data.Length} bytes, its shape needs {data.Shape[0] * data.Shape[1]}"));
        if (data.FortranOrder)
            throw new CifarDataException(Fail("'data' is stored in Fortran order"));
        var labels = new byte[labelList.Count];
        for (var i = 0; i < labels.Length; i++)
        {
            if (labelList[i] is not long label || label < 0 || label > 255)
                throw new CifarDataException(Fail($"label {i} is not a small int"));
            labels[i] = (byte)label;
        }
        var batch = new CifarRawBatch(path, data.Data, labels);
        batch.CheckLabels();
        return batch;
    }

    internal sealed class PickleException(string message) : Exception(message);

    internal sealed class NumpyArray
    {
        public long[] Shape { get; set; } = [];
        public string DType { get; set; } = "";
        public bool FortranOrder { get; set; }
        public byte[]? Data { get; set; }
    }

    private sealed class NumpyDType(string code)
    {
        public string Code { get; } = code;
    }

    private sealed record Global(string Module, string Name);

    private sealed class Mark
    {
        public static readonly Mark Instance = new();
    }

    /// <summary>A stack machine for pickle protocols 2 and 3 restricted to the CIFAR-10 batch contents.</summary>
    private sealed class Unpickler(byte[] bytes)
    {
        private static readonly HashSet<(string, string)> AllowedGlobals =
        [
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("_codecs", "encode"),
        ];

        private readonly List<object?> _stack = [];
        private readonly Dictionary<long, object?> _memo = [];
        private int _pos;

        public object Load()
        {
            while (true)
            {
                var opcode = ReadByte();
                switch (opcode)
                {
                    case 0x80: // PROTO
                        var protocol = ReadByte();
                        if (protocol > 3)
                            throw new PickleException($"pickle protocol {protocol} is not supported (expected 2)");
                        break;
                    case (byte)'.': // STOP
                        if (_stack.Count != 1)
                            throw new PickleException("stack is not a single value at STOP");
                        return _stack[0] ?? throw new PickleException("pickled value is None");
                    case (byte)'}': Push(new Dictionary<string, object?>()); break;
                    case (byte)']': Push(new List<object?>()); break;
                    case (byte)')': Push(Array.Empty<object?>()); break;
                    case (byte)'(': Push(Mark.Instance); break;
                    case (byte)'N': Push(null); break;
                    case 0x88: Push(true); break;
                    case 0x89: Push(false); break;
                    case (byte)'q': _memo[ReadByte()] = Peek(); break; // BINPUT
                    case (byte)'r': _memo[ReadUInt32()] = Peek(); break; // LONG_BINPUT
                    case (byte)'h': Push(Memo(ReadByte())); break; // BINGET
                    case (byte)'j': Push(Memo(ReadUInt32())); break; // LONG_BINGET
                    case (byte)'K': Push((long)ReadByte()); break; // BININT1
                    case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2))); break; // BININT2
                    case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4))); break; // BININT
                    case 0x8a: Push(ReadLong1()); break; // LONG1
                    case (byte)'U': Push(Latin1(Take(ReadByte()))); break; // SHORT_BINSTRING (python 2 str)
                    case (byte)'T': Push(Latin1(Take(ReadLength()))); break; // BINSTRING (python 2 str)
                    case (byte)'C': Push(Take(ReadByte()).ToArray()); break; // SHORT_BINBYTES
                    case (byte)'B': Push(Take(ReadLength()).ToArray()); break; // BINBYTES
                    case (byte)'X': Push(Encoding.UTF8.GetString(Take(ReadLength()))); break; // BINUNICODE
                    case 0x85: Push(new[] { Pop() }); break; // TUPLE1
                    case 0x86: { var b = Pop(); var a = Pop(); Push(new[] { a, b }); break; } // TUPLE2
                    case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new[] { a, b, c }); break; } // TUPLE3
                    case (byte)'t': Push(PopToMark().ToArray()); break; // TUPLE
                    case (byte)'c': Push(ReadGlobal()); break; // GLOBAL
                    case (byte)'R': { var args = Pop(); var callable = Pop(); Push(Reduce(callable, args)); break; }
                    case (byte)'b': { var state = Pop(); Build(Peek(), state); break; } // BUILD
                    case (byte)'s': { var value = Pop(); var key = Pop(); SetItem(Peek(), key, value); break; }
                    case (byte)'u': // SETITEMS
                    {
                        var items = PopToMark();
                        if (items.Count % 2 != 0)
                            throw new PickleException("SETITEMS with an odd number of items");
                        var target = Peek();
                        for (var i = 0; i < items.Count; i += 2)
                            SetItem(target, items[i], items[i + 1]);
                        break;
                    }
                    case (byte)'a': { var value = Pop(); AsList(Peek()).Add(value); break; } // APPEND
                    case (byte)'e': { var items = PopToMark(); AsList(Peek()).AddRange(items); break; } // APPENDS
                    default:
                        throw new PickleException($"unsupported pickle opcode 0x{opcode:x2} at byte {_pos - 1}");
                }
            }
        }

        private static string Latin1(ReadOnlySpan<byte> span) => Encoding.Latin1.GetString(span);

        private object? Reduce(object? callable, object? args)
        {
            if (callable is not Global global || args is not object?[] arguments)
                throw new PickleException("REDUCE of something that is not an allowed global");
            switch (global.Name)
            {
                case "_reconstruct":
                    // numpy.core.multiarray._reconstruct(ndarray, (0,), b'b'): an empty array, filled by BUILD.
                    if (arguments.Length != 3 || arguments[0] is not Global { Name: "ndarray" })
                        throw new PickleException("unexpected numpy _reconstruct arguments");
                    return new NumpyArray();
                case "dtype":
                    // numpy.dtype('u1', False, True)
                    if (arguments.Length < 1 || arguments[0] is not string code)
                        throw new PickleException("unexpected numpy dtype arguments");
                    return new NumpyDType(code);
                case "encode":
                    // python 3 pickles bytes under protocol 2 as _codecs.encode(text, 'latin1').
                    if (arguments.Length != 2 || arguments[0] is not string text || arguments[1] is not string encoding
                        || !encoding.Equals("latin1", StringComparison.OrdinalIgnoreCase))
                        throw new PickleException("unexpected _codecs.encode arguments");
                    return Encoding.Latin1.GetBytes(text);
                default:
                    throw new PickleException($"global {global.Module}.{global.Name} cannot be called");
            }
        }

        private static void Build(object? target, object? state)
        {
            switch (target)
            {
                case NumpyDType dtype:
                    // state (3, '<'|'|', None, None, None, -1, -1, 0): only single-byte types are accepted.
                    if (state is not object?[] { Length: >= 2 } s || s[1] is not string)
                        throw new PickleException($"unexpected numpy dtype state for '{dtype.Code}'");
                    break;
                case NumpyArray array:
                    // state (version, shape, dtype, is_fortran, raw data)
                    if (state is not object?[] { Length: 5 } a || a[1] is not object?[] shape || a[2] is not NumpyDType dt
                        || a[3] is not bool fortran)
                        throw new PickleException("unexpected numpy array state");
                    array.Shape = shape.Select(d => d is long l ? l : throw new PickleException("non-integer array dimension")).ToArray();
                    array.DType = dt.Code;
                    array.FortranOrder = fortran;
                    array.Data = a[4] switch
                    {
                        byte[] raw => raw,
                        string text => Encoding.Latin1.GetBytes(text),
                        _ => throw new PickleException("numpy array data is not a byte string"),
                    };
                    break;
                default:
                    throw new PickleException("BUILD on an object that is not a numpy array or dtype");
            }
        }

        private static void SetItem(object? target, object? key, object? value)
        {
            if (target is not Dictionary<string, object?> dict)
                throw new PickleException("SETITEM on something that is not a dict");
            var name = key switch
            {
                string s => s,
                byte[] b => Encoding.Latin1.GetString(b),
                _ => throw new PickleException("dict key is not a string"),
            };
            dict[name] = value;
        }

        private static List<object?> AsList(object? target) =>
            target as List<object?> ?? throw new PickleException("APPEND on something that is not a list");

        private Global ReadGlobal()
        {
            var module = ReadLine();
            var name = ReadLine();
            if (!AllowedGlobals.Contains((module, name)))
                throw new PickleException($"global {module}.{name} is not allowed");
            return new Global(module, name);
        }

        private string ReadLine()
        {
            var end = Array.IndexOf(bytes, (byte)'\n', _pos);
            if (end < 0)
                throw new PickleException("unterminated GLOBAL name");
            var line = Encoding.ASCII.GetString(bytes, _pos, end - _pos);
            _pos = end + 1;
            return line;
        }

        private long ReadLong1()
        {
            var span = Take(ReadByte());
            if (span.Length > 8)
                throw new PickleException("integer too large");
            long value = 0;
            for (var i = span.Length - 1; i >= 0; i--)
                value = (value << 8) | span[i];
            if (span.Length is > 0 and < 8 && (span[^1] & 0x80) != 0)
                value -= 1L << (8 * span.Length);
            return value;
        }

        private byte ReadByte()
        {
            if (_pos >= bytes.Length)
                throw new PickleException("unexpected end of data");
            return bytes[_pos++];
        }

        private uint ReadUInt32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

        private int ReadLength()
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(Take(4));
            if (length < 0)
                throw new PickleException("negative length");
            return length;
        }

        private ReadOnlySpan<byte> Take(int count)
        {
            if (count < 0 || _pos + (long)count > bytes.Length)
                throw new PickleException("unexpected end of data");
            var span = bytes.AsSpan(_pos, count);
            _pos += count;
            return span;
        }

        private void Push(object? value) => _stack.Add(value);

        private object? Peek() =>
            _stack.Count > 0 ? _stack[^1] : throw new PickleException("stack underflow");

        private object? Pop()
        {
            var value = Peek();
            _stack.RemoveAt(_stack.Count - 1);
            if (value is Mark)
                throw new PickleException("unexpected MARK");
            return value;
        }

        private object? Memo(long key) =>
            _memo.TryGetValue(key, out var value) ? value : throw new PickleException($"memo {key} is not defined");

        private List<object?> PopToMark()
        {
            var mark = _stack.FindLastIndex(v => v is Mark);
            if (mark < 0)
                throw new PickleException("no MARK on the stack");
            var items = _stack.GetRange(mark + 1, _stack.Count - mark - 1);
            _stack.RemoveRange(mark, _stack.Count - mark);
            return items;
        }
    }
}
