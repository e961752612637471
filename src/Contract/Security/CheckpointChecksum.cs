using System.Security.Cryptography;

namespace Sweep.Contract.Security;

/// <summary>
/// The one thing every node knows about a trial checkpoint file without reading its format: its last
/// <see cref="TrailerLength"/> bytes are the SHA-256 of everything before them. A file that does not hash to its own
/// trailer is corrupt (cut short, overwritten, or not a checkpoint at all).
/// </summary>
public static class CheckpointChecksum
{
    public const int TrailerLength = 32;

    /// <summary>The file's SHA-256 (lower-case hex of its trailer) when it verifies; null when it does not or cannot be read.</summary>
    public static string? VerifyFile(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
            if (stream.Length <= TrailerLength)
                return null;
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[1 << 16];
            var remaining = stream.Length - TrailerLength;
            while (remaining > 0)
            {
                var read = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, remaining));
                if (read == 0)
                    return null;
                hash.AppendData(buffer, 0, read);
                remaining -= read;
            }
            var trailer = new byte[TrailerLength];
            stream.ReadExactly(trailer);
            var computed = hash.GetHashAndReset();
            return CryptographicOperations.FixedTimeEquals(computed, trailer) ? Convert.ToHexStringLower(trailer) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>As <see cref="VerifyFile"/>, for a checkpoint held in memory.</summary>
    public static string? Verify(ReadOnlySpan<byte> content)
    {
        if (content.Length <= TrailerLength)
            return null;
        var body = content[..^TrailerLength];
        var trailer = content[^TrailerLength..];
        Span<byte> computed = stackalloc byte[TrailerLength];
        SHA256.HashData(body, computed);
        return CryptographicOperations.FixedTimeEquals(computed, trailer) ? Convert.ToHexStringLower(trailer) : null;
    }

    /// <summary>The SHA-256 a file announces in its trailer (lower-case hex), without checking it; null when too short to have one.</summary>
    public static string? ReadTrailer(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        if (stream.Length <= TrailerLength)
            return null;
        stream.Seek(-TrailerLength, SeekOrigin.End);
        var trailer = new byte[TrailerLength];
        stream.ReadExactly(trailer);
        return Convert.ToHexStringLower(trailer);
    }

    /// <summary>Whether <paramref name="text"/> is a SHA-256 as the protocol writes it: 64 lower-case hex digits.</summary>
    public static bool IsSha256Hex(string? text) =>
        text is { Length: 64 } && text.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');
}
