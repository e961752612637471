using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace Sweep.Models.Training.Checkpoints;

/// <summary>The tensor sections of a trial checkpoint, in file order.</summary>
public enum CheckpointSection
{
    /// <summary>The model's state dict (parameters and buffers) after the epoch.</summary>
    Model,

    /// <summary>The state dict at the best val check so far (empty when there is none): a standalone TorchSharp .pt.</summary>
    Best,

    /// <summary>Each parameter's update-rule state, keyed "parameter name/state name" (velocity, cache, m, v, t).</summary>
    UpdateRule,

    /// <summary>The torch generators' states: "sampling" and, for a model with dropout, "dropout".</summary>
    Generators,
}

/// <summary>
/// One verified trial checkpoint file (docs/checkpoint-format.md): magic, version, total length, a JSON header, four
/// tensor sections in TorchSharp's state-dict encoding, and a SHA-256 trailer over everything before it. Writing is
/// atomic (a temporary file renamed over the target); opening reads the whole file and checks magic, version, length
/// and checksum before anything is parsed, and throws <see cref="CheckpointException"/> naming the problem.
/// </summary>
public sealed class TrialCheckpointFile
{
    /// <summary>The file's first 8 bytes.</summary>
    public static ReadOnlySpan<byte> Magic => "SWEEPCKP"u8;

    /// <summary>The one format version this build writes and reads.</summary>
    public const int Version = 1;

    /// <summary>The SHA-256 trailer's length.</summary>
    public const int TrailerLength = 32;

    // magic (8) + version (int32) + total file length (int64) + header length (int32)
    private const int PreambleLength = 8 + 4 + 8 + 4;

    private static readonly int SectionCount = Enum.GetValues<CheckpointSection>().Length;

    private readonly byte[] _bytes;
    private readonly (int Offset, int Length)[] _sections;

    private TrialCheckpointFile(string path, byte[] bytes, TrialCheckpointHeader header, (int, int)[] sections)
    {
        Path = path;
        _bytes = bytes;
        Header = header;
        _sections = sections;
    }

    /// <summary>The name of the checkpoint written after <paramref name="epoch"/>: epoch-E.ckpt.</summary>
    public static string FileName(int epoch) => $"epoch-{epoch}.ckpt";

    public string Path { get; }

    public TrialCheckpointHeader Header { get; }

    /// <summary>The file's size in bytes.</summary>
    public long Length => _bytes.Length;

    /// <summary>The model this checkpoint's weights belong to, as the JSON its header stores it (docs/checkpoint-format.md).</summary>
    public string ModelJson() => JsonSerializer.Serialize(Header.Model, CheckpointJson.Options);

    /// <summary>Whether the file holds best weights (a val check above 0 happened).</summary>
    public bool HasBestWeights => _sections[(int)CheckpointSection.Best].Length > 0;

    /// <summary>
    /// Writes a checkpoint atomically: into "<paramref name="path"/>.partial", then renamed over
    /// <paramref name="path"/>. Each section lists its tensors by name (any device; they are copied to the CPU).
    /// </summary>
    public static void Write(string path, TrialCheckpointHeader header, IReadOnlyDictionary<CheckpointSection, IReadOnlyList<(string Name, Tensor Value)>> sections)
    {
        var partial = path + ".partial";
        try
        {
            using (var stream = new FileStream(partial, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 20))
            {
                using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
                {
                    var json = JsonSerializer.SerializeToUtf8Bytes(header, CheckpointJson.Options);
                    writer.Write(Magic);
                    writer.Write(Version);
                    writer.Write(0L); // total length, patched below
                    writer.Write(json.Length);
                    writer.Write(json);
                    foreach (var section in Enum.GetValues<CheckpointSection>())
                    {
                        var lengthAt = stream.Position;
                        writer.Write(0L);
                        if (sections.TryGetValue(section, out var entries) && entries.Count > 0)
                            WriteStateDict(writer, entries);
                        var end = stream.Position;
                        stream.Position = lengthAt;
                        writer.Write(end - lengthAt - 8);
                        stream.Position = end;
                    }
                    var total = stream.Position + TrailerLength;
                    stream.Position = 8 + 4;
                    writer.Write(total);
                    writer.Flush();
                }
                stream.Position = 0;
                var hash = SHA256.HashData(stream);
                stream.Write(hash);
                // Not fsynced: the file is handed over at once (the coordinator stores the durable copy); should the
                // machine go down before the page cache reaches the disk, the checksum refuses what is left.
                stream.Flush();
            }
            File.Move(partial, path, overwrite: true);
        }
        catch
        {
            File.Delete(partial);
            throw;
        }
    }

    /// <summary>Reads and verifies <paramref name="path"/>.</summary>
    /// <exception cref="CheckpointException">unreadable, not a checkpoint, another version, truncated or corrupt.</exception>
    public static TrialCheckpointFile Open(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new CheckpointException(CheckpointProblem.Unreadable, $"checkpoint {path} cannot be read: {e.Message.Split('\n')[0]}");
        }
        if (bytes.Length < Magic.Length || !bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw new CheckpointException(CheckpointProblem.NotACheckpoint, $"{path} is not a Sweep trial checkpoint (no SWEEPCKP magic)");
        if (bytes.Length < PreambleLength + TrailerLength)
            throw Truncated(path, bytes.Length, null);
        var version = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8));
        if (version != Version)
            throw new CheckpointException(CheckpointProblem.UnsupportedVersion,
                $"checkpoint {path} has format version {version}; this build reads version {Version} only, so use the build that wrote it");
        var declared = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(12));
        if (declared > bytes.Length)
            throw Truncated(path, bytes.Length, declared);
        var content = bytes.AsSpan(0, bytes.Length - TrailerLength);
        if (declared != bytes.Length || !SHA256.HashData(content).AsSpan().SequenceEqual(bytes.AsSpan(bytes.Length - TrailerLength)))
            throw Corrupt(path, "its SHA-256 trailer does not match its content");

        try
        {
            var headerLength = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(20));
            var header = JsonSerializer.Deserialize<TrialCheckpointHeader>(bytes.AsSpan(PreambleLength, headerLength), CheckpointJson.Options)
                         ?? throw new JsonException("null header");
            var sections = new (int, int)[SectionCount];
            var at = PreambleLength + headerLength;
            for (var i = 0; i < SectionCount; i++)
            {
                var length = checked((int)BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(at)));
                at += 8;
                if (length < 0 || at + length > content.Length)
                    throw new InvalidDataException("a section runs past the end");
                sections[i] = (at, length);
                at += length;
            }
            if (at != content.Length)
                throw new InvalidDataException("bytes after the last section");
            return new TrialCheckpointFile(path, bytes, header, sections);
        }
        catch (Exception e) when (e is JsonException or InvalidDataException or ArgumentException or OverflowException or NotSupportedException)
        {
            throw Corrupt(path, $"its content does not parse ({e.Message.Split('\n')[0]})");
        }
    }

    /// <summary>The tensors of <paramref name="section"/>, by name, on the CPU; they belong to the caller's dispose scope.</summary>
    public Dictionary<string, Tensor> ReadSection(CheckpointSection section)
    {
        var (offset, length) = _sections[(int)section];
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        if (length == 0)
            return tensors;
        try
        {
            using var reader = new BinaryReader(new MemoryStream(_bytes, offset, length, writable: false), Encoding.UTF8);
            var count = reader.Read7BitEncodedInt64();
            for (long i = 0; i < count; i++)
            {
                var name = reader.ReadString();
                var tensor = TensorExtensionMethods.Load(reader, skip: false);
                if (!tensors.TryAdd(name, tensor))
                {
                    tensor.Dispose();
                    throw new InvalidDataException($"tensor '{name}' twice");
                }
            }
            if (reader.BaseStream.Position != length)
                throw new InvalidDataException("trailing bytes");
            return tensors;
        }
        catch (Exception e) when (e is not CheckpointException)
        {
            foreach (var tensor in tensors.Values)
                tensor.Dispose();
            throw Corrupt(Path, $"its {section} section does not parse ({e.Message.Split('\n')[0]})");
        }
    }

    /// <summary>
    /// Copies the state dict of <paramref name="section"/> (<see cref="CheckpointSection.Model"/> or
    /// <see cref="CheckpointSection.Best"/>) into <paramref name="model"/>'s parameters and buffers, on its device.
    /// </summary>
    /// <exception cref="CheckpointException">the section is empty (<see cref="CheckpointProblem.NoBestWeights"/>) or
    /// its names, shapes or dtypes are not the model's (<see cref="CheckpointProblem.Mismatch"/>).</exception>
    public void LoadInto(nn.Module model, CheckpointSection section)
    {
        if (section == CheckpointSection.Best)
            RequireBestWeights();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var saved = ReadSection(section);
        var state = model.state_dict();
        if (!saved.Keys.ToHashSet().SetEquals(state.Keys))
            throw Mismatch($"its {section} tensors are {string.Join(", ", saved.Keys.Except(state.Keys).Take(3))}..., not the model's");
        foreach (var (name, target) in state)
        {
            var tensor = saved[name];
            if (!tensor.shape.SequenceEqual(target.shape) || tensor.dtype != target.dtype)
                throw Mismatch($"its tensor {name} is {tensor.dtype} [{string.Join(",", tensor.shape)}], the model's {target.dtype} [{string.Join(",", target.shape)}]");
            target.copy_(tensor);
        }
    }

    /// <summary>A <see cref="CheckpointProblem.Mismatch"/> naming this file and what differs from the run that reads it.</summary>
    public CheckpointException Mismatch(string what) => new(CheckpointProblem.Mismatch,
        $"checkpoint {Path} was written by another run ({what}); resume only the trial that wrote it, or start it from epoch 0");

    private void RequireBestWeights()
    {
        if (!HasBestWeights)
            throw new CheckpointException(CheckpointProblem.NoBestWeights,
                $"checkpoint {Path} holds no best weights (no val check up to epoch {Header.Epoch} beat 0); train longer or use a later checkpoint");
    }

    /// <summary>
    /// Writes the best weights (the state dict at the best val check) to <paramref name="outPath"/> atomically: a
    /// TorchSharp state-dict file that <c>model.load(outPath)</c> reads into the model the header describes.
    /// </summary>
    /// <exception cref="CheckpointException">the checkpoint has no best weights.</exception>
    /// <exception cref="IOException">the output cannot be written.</exception>
    public void ExportBestWeights(string outPath)
    {
        RequireBestWeights();
        var (offset, length) = _sections[(int)CheckpointSection.Best];
        var partial = outPath + ".partial";
        try
        {
            using (var stream = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                stream.Write(_bytes, offset, length);
                stream.Flush(flushToDisk: true);
            }
            File.Move(partial, outPath, overwrite: true);
        }
        catch
        {
            File.Delete(partial);
            throw;
        }
    }

    /// <summary>
    /// TorchSharp's state-dict encoding (what Module.save writes and Module.load reads): a LEB128 entry count, then per
    /// entry the name (a length-prefixed UTF-8 string) and the tensor (LEB128 dtype, rank and sizes, raw little-endian data).
    /// </summary>
    internal static void WriteStateDict(BinaryWriter writer, IReadOnlyList<(string Name, Tensor Value)> entries)
    {
        writer.Write7BitEncodedInt64(entries.Count); // unsigned LEB128, as TorchSharp encodes counts
        foreach (var (name, value) in entries)
        {
            // The scope frees the CPU copy; a tensor already on the CPU comes back as itself and is not the scope's.
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            writer.Write(name);
            value.detach().cpu().contiguous().Save(writer);
        }
    }

    private static CheckpointException Truncated(string path, long length, long? declared) =>
        new(CheckpointProblem.Truncated,
            $"checkpoint {path} is truncated ({length} bytes{(declared is { } d ? $" of {d}" : "")}); the write or the copy was cut off, so use an earlier checkpoint or restart the trial");

    private static CheckpointException Corrupt(string path, string what) =>
        new(CheckpointProblem.Corrupt, $"checkpoint {path} is corrupt: {what}; use an earlier checkpoint or restart the trial");
}
