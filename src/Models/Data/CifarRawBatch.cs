namespace Sweep.Models.Data;

/// <summary>Images of one batch file as stored: per image 3,072 bytes (R, G, B planes, each 32x32 row-major).</summary>
internal sealed record CifarRawBatch(string Source, byte[] Pixels, byte[] Labels)
{
    public const int ImageBytes = 3 * 32 * 32;

    public int Count => Labels.Length;

    /// <summary>Concatenates batches in order into one.</summary>
    public static CifarRawBatch Concat(string source, IReadOnlyList<CifarRawBatch> batches)
    {
        var count = batches.Sum(b => (long)b.Count);
        var pixels = new byte[count * ImageBytes];
        var labels = new byte[count];
        long offset = 0;
        foreach (var batch in batches)
        {
            Buffer.BlockCopy(batch.Pixels, 0, pixels, (int)(offset * ImageBytes), batch.Pixels.Length);
            Buffer.BlockCopy(batch.Labels, 0, labels, (int)offset, batch.Labels.Length);
            offset += batch.Count;
        }
        return new CifarRawBatch(source, pixels, labels);
    }

    internal void CheckLabels()
    {
        for (var i = 0; i < Labels.Length; i++)
            if (Labels[i] > 9)
                throw new CifarDataException(
                    $"{Source}: image {i} has label {Labels[i]}, but CIFAR-10 labels are 0..9; the file is corrupt or not CIFAR-10, replace it with the official file");
    }
}

/// <summary>Reads the official binary format: records of 1 label byte followed by 3,072 pixel bytes.</summary>
internal static class CifarBinaryFormat
{
    public const int RecordBytes = 1 + CifarRawBatch.ImageBytes;

    public static CifarRawBatch Read(string path)
    {
        if (!File.Exists(path))
            throw new CifarDataException(
                $"CIFAR-10 file {path} is missing; put the official cifar-10-batches-bin files there, or point --data / SWEEP_DATA at an empty directory to download them");
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length == 0 || bytes.Length % RecordBytes != 0)
            throw new CifarDataException(
                $"CIFAR-10 file {path} has {bytes.Length} bytes, which is not a whole positive number of {RecordBytes}-byte records; it is truncated or not in the binary format, replace it with the official file");
        var count = bytes.Length / RecordBytes;
        var pixels = new byte[(long)count * CifarRawBatch.ImageBytes];
        var labels = new byte[count];
        for (var i = 0; i < count; i++)
        {
            labels[i] = bytes[i * RecordBytes];
            Buffer.BlockCopy(bytes, i * RecordBytes + 1, pixels, i * CifarRawBatch.ImageBytes, CifarRawBatch.ImageBytes);
        }
        var batch = new CifarRawBatch(path, pixels, labels);
        batch.CheckLabels();
        return batch;
    }
}
