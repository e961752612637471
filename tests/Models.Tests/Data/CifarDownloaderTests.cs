using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Sweep.Models.Data;
using Sweep.Models.Tests.TestSupport;

namespace Sweep.Models.Tests.Data;

/// <summary>The downloader against a loopback HTTP server serving a tarball the test builds.</summary>
public class CifarDownloaderTests
{
    private static readonly CifarSplitOptions SmallSplit = new() { TrainingSplitSize = 40, ValidationSize = 10, TestSize = null };

    [Fact]
    public void An_empty_data_folder_gets_the_tarball_downloaded_verified_and_unpacked()
    {
        var tarball = CifarFixtures.Tarball(perFile: 10, testCount: 7);
        using var server = new LoopbackHttpServer(tarball);
        using var temp = new TempFolder();
        var downloader = new CifarDownloader(server.Url, Convert.ToHexStringLower(MD5.HashData(tarball)));

        var data = CifarLoader.Load(temp.Path, SmallSplit, downloader);

        Assert.Equal(40, data.NumTrain);
        Assert.Equal(7, data.NumTest);
        Assert.True(File.Exists(Path.Combine(temp.Path, CifarLoader.BinaryFolderName, "data_batch_5.bin")));
        Assert.DoesNotContain(Directory.GetFiles(temp.Path), f => f.EndsWith(".tar.gz"));
        Assert.Equal(1, server.Requests);
    }

    [Fact]
    public void A_wrong_md5_fails_clearly_and_leaves_nothing_behind()
    {
        var tarball = CifarFixtures.Tarball(perFile: 10, testCount: 7);
        using var server = new LoopbackHttpServer(tarball);
        using var temp = new TempFolder();
        var downloader = new CifarDownloader(server.Url, CifarDownloader.OfficialMd5);

        var error = Assert.Throws<CifarDataException>(() => CifarLoader.Load(temp.Path, SmallSplit, downloader));

        Assert.Contains("md5", error.Message);
        Assert.Contains(CifarDownloader.OfficialMd5, error.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(temp.Path));
    }

    [Fact]
    public void Being_offline_gives_a_one_line_error_saying_how_to_get_the_data()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        using var temp = new TempFolder();
        var downloader = new CifarDownloader(new Uri($"http://127.0.0.1:{port}/cifar-10-binary.tar.gz"), CifarDownloader.OfficialMd5);

        var error = Assert.Throws<CifarDataException>(() => CifarLoader.Load(temp.Path, SmallSplit, downloader));

        Assert.Contains("offline", error.Message);
        Assert.Contains(temp.Path, error.Message);
        Assert.DoesNotContain('\n', error.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(temp.Path));
    }

    /// <summary>A minimal HTTP/1.1 server on 127.0.0.1 (random port) answering every GET with one body.</summary>
    private sealed class LoopbackHttpServer : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly byte[] _body;
        private readonly Task _loop;
        private int _requests;

        public LoopbackHttpServer(byte[] body)
        {
            _body = body;
            _listener.Start();
            Url = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/cifar-10-binary.tar.gz");
            _loop = Task.Run(ServeAsync);
        }

        public Uri Url { get; }

        public int Requests => Volatile.Read(ref _requests);

        private async Task ServeAsync()
        {
            while (true)
            {
                TcpClient client;
                try
                {
                    client = await _listener.AcceptTcpClientAsync();
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                    return;
                }
                using (client)
                {
                    var stream = client.GetStream();
                    var request = new StringBuilder();
                    var buffer = new byte[4096];
                    while (!request.ToString().Contains("\r\n\r\n"))
                    {
                        var read = await stream.ReadAsync(buffer);
                        if (read == 0)
                            break;
                        request.Append(Encoding.ASCII.GetString(buffer, 0, read));
                    }
                    Interlocked.Increment(ref _requests);
                    var header = $"HTTP/1.1 200 OK\r\nContent-Type: application/gzip\r\nContent-Length: {_body.Length}\r\nConnection: close\r\n\r\n";
                    await stream.WriteAsync(Encoding.ASCII.GetBytes(header));
                    await stream.WriteAsync(_body);
                }
            }
        }

        public void Dispose()
        {
            _listener.Stop();
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
    }
}
