using System.Buffers.Binary;
using System.Formats.Tar;
using System.IO.Compression;
using System.Text;

namespace Sweep.Models.Tests.TestSupport;

/// <summary>Small CIFAR-10 files in the official layouts, made by the tests, and a temp folder per test.</summary>
internal static class CifarFixtures
{
    public const int ImageBytes = 3072;

    /// <summary>Deterministic pixels for image i of a file: different per image, pixel and file.</summary>
    public static byte[] Pixels(int fileIndex, int count)
    {
        var pixels = new byte[count * ImageBytes];
        for (var i = 0; i < pixels.Length; i++)
            pixels[i] = (byte)((i * 31 + fileIndex * 97 + (i / ImageBytes) * 13) % 256);
        return pixels;
    }

    public static byte[] Labels(int fileIndex, int count) =>
        Enumerable.Range(0, count).Select(i => (byte)((i + fileIndex) % 10)).ToArray();

    public static byte[] BinaryFile(byte[] pixels, byte[] labels)
    {
        var bytes = new byte[labels.Length * (ImageBytes + 1)];
        for (var i = 0; i < labels.Length; i++)
        {
            bytes[i * (ImageBytes + 1)] = labels[i];
            Buffer.BlockCopy(pixels, i * ImageBytes, bytes, i * (ImageBytes + 1) + 1, ImageBytes);
        }
        return bytes;
    }

    /// <summary>
    /// Writes data_batch_1..5.bin with <paramref name="perFile"/> records each and test_batch.bin with
    /// <paramref name="testCount"/> records; returns the folder.
    /// </summary>
    public static string WriteBinaryFolder(string folder, int perFile, int testCount)
    {
        Directory.CreateDirectory(folder);
        for (var f = 1; f <= 5; f++)
            File.WriteAllBytes(Path.Combine(folder, $"data_batch_{f}.bin"), BinaryFile(Pixels(f, perFile), Labels(f, perFile)));
        File.WriteAllBytes(Path.Combine(folder, "test_batch.bin"), BinaryFile(Pixels(0, testCount), Labels(0, testCount)));
        return folder;
    }

    public static string WritePythonFolder(string folder, int perFile, int testCount, bool python3Style)
    {
        Directory.CreateDirectory(folder);
        for (var f = 1; f <= 5; f++)
            File.WriteAllBytes(Path.Combine(folder, $"data_batch_{f}"), Pickle(Pixels(f, perFile), Labels(f, perFile), $"training batch {f} of 5", python3Style));
        File.WriteAllBytes(Path.Combine(folder, "test_batch"), Pickle(Pixels(0, testCount), Labels(0, testCount), "testing batch 1 of 1", python3Style));
        return folder;
    }

    /// <summary>
    /// A batch dict pickled with protocol 2 byte for byte as python 2's cPickle writes the official
    /// files ({'data': uint8 ndarray (N, 3072), 'labels': [ints], 'batch_label': str, 'filenames':
    /// [str]}); <paramref name="python3Style"/> writes str keys as unicode and the array bytes through
    /// _codecs.encode, as python 3 does for protocol 2.
    /// </summary>
    public static byte[] Pickle(byte[] pixels, byte[] labels, string batchLabel, bool python3Style)
    {
        var n = labels.Length;
        var o = new MemoryStream();
        var memo = 0;
        void Op(params byte[] bytes) => o.Write(bytes);
        void Put() => Op((byte)'q', (byte)++memo);
        void Str(string s)
        {
            var bytes = python3Style ? Encoding.UTF8.GetBytes(s) : Encoding.Latin1.GetBytes(s);
            if (python3Style)
            {
                Op((byte)'X');
                Span<byte> len = stackalloc byte[4];
                BinaryPrimitives.WriteInt32LittleEndian(len, bytes.Length);
                o.Write(len);
            }
            else
                Op((byte)'U', (byte)bytes.Length);
            o.Write(bytes);
            Put();
        }
        void Int(int v)
        {
            if (v < 256) Op((byte)'K', (byte)v);
            else if (v < 65536) { Op((byte)'M', (byte)(v & 0xff), (byte)(v >> 8)); }
            else
            {
                Op((byte)'J');
                Span<byte> b = stackalloc byte[4];
                BinaryPrimitives.WriteInt32LittleEndian(b, v);
                o.Write(b);
            }
        }
        void Global(string module, string name)
        {
            Op((byte)'c');
            o.Write(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));
            Put();
        }

        Op(0x80, 2, (byte)'}');
        Put();
        Op((byte)'(');
        Str("data");
        Global("numpy.core.multiarray", "_reconstruct");
        Global("numpy", "ndarray");
        Int(0);
        Op(0x85);
        if (python3Style)
        {
            Global("_codecs", "encode");
            Str("b");
            Str("latin1");
            Op(0x86, (byte)'R');
            Put();
        }
        else
            Str("b");
        Op(0x87, (byte)'R');
        Put();
        Op((byte)'(');
        Int(1);
        Int(n);
        Int(ImageBytes);
        Op(0x86);
        Global("numpy", "dtype");
        Str("u1");
        Int(0);
        Int(1);
        Op(0x87, (byte)'R');
        Put();
        Op((byte)'(');
        Int(3);
        Str("|");
        Op((byte)'N', (byte)'N', (byte)'N');
        Op((byte)'J', 0xff, 0xff, 0xff, 0xff, (byte)'J', 0xff, 0xff, 0xff, 0xff);
        Int(0);
        Op((byte)'t', (byte)'b', 0x89);
        if (python3Style)
        {
            Global("_codecs", "encode");
            Str(Encoding.Latin1.GetString(pixels));
            Str("latin1");
            Op(0x86, (byte)'R');
            Put();
        }
        else
        {
            Op((byte)'T');
            Span<byte> len = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(len, pixels.Length);
            o.Write(len);
            o.Write(pixels);
            Put();
        }
        Op((byte)'t', (byte)'b');
        Str("labels");
        Op((byte)']');
        Put();
        Op((byte)'(');
        foreach (var label in labels)
            Int(label);
        Op((byte)'e');
        Str("batch_label");
        Str(batchLabel);
        Str("filenames");
        Op((byte)']');
        Put();
        Op((byte)'(');
        for (var i = 0; i < n; i++)
            Str($"image_{i}.png");
        Op((byte)'e', (byte)'u', (byte)'.');
        return o.ToArray();
    }

    /// <summary>A .tar.gz holding cifar-10-batches-bin/ with small binary files, like the official tarball.</summary>
    public static byte[] Tarball(int perFile, int testCount)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Pax, leaveOpen: true))
        {
            tar.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "cifar-10-batches-bin/"));
            void Add(string name, byte[] content) =>
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, $"cifar-10-batches-bin/{name}") { DataStream = new MemoryStream(content) });
            for (var f = 1; f <= 5; f++)
                Add($"data_batch_{f}.bin", BinaryFile(Pixels(f, perFile), Labels(f, perFile)));
            Add("test_batch.bin", BinaryFile(Pixels(0, testCount), Labels(0, testCount)));
            Add("batches.meta.txt", Encoding.ASCII.GetBytes("airplane\nautomobile\n"));
        }
        return output.ToArray();
    }
}

/// <summary>A fresh folder under the system temp folder, deleted with its contents on dispose.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"sweep-test-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(Path))
            Directory.Delete(Path, recursive: true);
    }
}

/// <summary>Finds the real CIFAR-10 of the team's machine: SWEEP_DATA, else ../shared/data above the repo.</summary>
internal static class RealCifar
{
    public static string Directory
    {
        get
        {
            var fromEnvironment = Environment.GetEnvironmentVariable("SWEEP_DATA");
            if (!string.IsNullOrWhiteSpace(fromEnvironment))
                return fromEnvironment;
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var candidate = System.IO.Path.Combine(dir.FullName, "shared", "data", "cifar-10-batches-bin");
                if (System.IO.Directory.Exists(candidate))
                    return candidate;
            }
            throw new InvalidOperationException(
                "real CIFAR-10 not found: set SWEEP_DATA or place shared/data/cifar-10-batches-bin in a folder above the repository");
        }
    }
}
