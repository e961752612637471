using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;

namespace Sweep.Models.Data;

/// <summary>
/// Fetches the official CIFAR-10 binary tarball, checks its md5 and unpacks it (cifar-10-batches-bin/)
/// into a directory. Used by <see cref="CifarLoader"/> when the data directory is empty.
/// </summary>
public sealed class CifarDownloader(Uri url, string md5, HttpClient? httpClient = null)
{
    public const string OfficialUrl = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";
    public const string OfficialMd5 = "c32a1d4ab5d03f1284b67883e8d87530";

    public static CifarDownloader Official { get; } = new(new Uri(OfficialUrl), OfficialMd5);

    public Uri Url { get; } = url;
    public string Md5 { get; } = md5.ToLowerInvariant();

    /// <summary>Downloads, verifies and unpacks into <paramref name="directory"/>; nothing is left behind on failure.</summary>
    /// <exception cref="CifarDataException">offline, HTTP error, md5 mismatch or an unreadable tarball.</exception>
    public void DownloadAndExtract(string directory)
    {
        System.IO.Directory.CreateDirectory(directory);
        var archive = Path.Combine(directory, $".download-{Guid.NewGuid():N}.tar.gz");
        try
        {
            Download(archive);
            var actual = ComputeMd5(archive);
            if (actual != Md5)
                throw new CifarDataException(
                    $"CIFAR-10 download from {Url} has md5 {actual}, expected {Md5}; the transfer was corrupted or intercepted, try again or download it by hand and unpack it into {directory}");
            Extract(archive, directory);
        }
        finally
        {
            File.Delete(archive);
        }
    }

    private void Download(string archive)
    {
        var client = httpClient ?? new HttpClient { Timeout = TimeSpan.FromMinutes(30) };
        try
        {
            using var response = client.GetAsync(Url, HttpCompletionOption.ResponseHeadersRead).GetAwaiter().GetResult();
            if (!response.IsSuccessStatusCode)
                throw new CifarDataException(
                    $"CIFAR-10 download from {Url} failed with HTTP {(int)response.StatusCode}; download it by hand and unpack it into {Path.GetDirectoryName(archive)}");
            using var body = response.Content.ReadAsStream();
            using var file = File.Create(archive);
            body.CopyTo(file);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            throw new CifarDataException(
                $"CIFAR-10 download from {Url} failed ({e.Message.ReplaceLineEndings(" ")}); this machine may be offline: download the file by hand and unpack it into {Path.GetDirectoryName(archive)}", e);
        }
        finally
        {
            if (httpClient is null)
                client.Dispose();
        }
    }

    private static string ComputeMd5(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(MD5.HashData(stream));
    }

    private static void Extract(string archive, string directory)
    {
        var root = Path.GetFullPath(directory) + Path.DirectorySeparatorChar;
        try
        {
            using var file = File.OpenRead(archive);
            using var gzip = new GZipStream(file, CompressionMode.Decompress);
            using var tar = new TarReader(gzip);
            while (tar.GetNextEntry() is { } entry)
            {
                var target = Path.GetFullPath(Path.Combine(directory, entry.Name));
                if (!target.StartsWith(root, StringComparison.Ordinal))
                    throw new CifarDataException($"CIFAR-10 tarball {archive} has an entry outside the target folder ({entry.Name}); it is not the official file");
                switch (entry.EntryType)
                {
                    case TarEntryType.Directory:
                        System.IO.Directory.CreateDirectory(target);
                        break;
                    case TarEntryType.RegularFile or TarEntryType.V7RegularFile:
                        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                        entry.ExtractToFile(target, overwrite: true);
                        break;
                }
            }
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException)
        {
            throw new CifarDataException($"CIFAR-10 tarball from its download is unreadable ({e.Message}); download it by hand and unpack it into {directory}", e);
        }
    }
}
