using System.Diagnostics;
using Akka.Configuration;
using Sweep.Contract.Cli;
using Sweep.Contract.Configuration;
using Sweep.Contract.Nodes;
using Sweep.Coordinator.Actors;
using Sweep.Coordinator.Nodes;
using Sweep.Coordinator.Tests.Support;
using Sweep.Worker.Hosting;
using Sweep.TestSupport;
using Sweep.Worker.Trials;
using Xunit.Abstractions;

namespace Sweep.Coordinator.Tests.Nodes;

/// <summary>
/// Issue 9, part 3: mutual TLS on loopback with certificates made by openssl for this test. A worker with a
/// certificate of the cluster's CA joins and runs the sweep; a worker with no certificate, or one signed by another
/// CA, is refused at the handshake and the sweep goes on.
/// </summary>
public sealed class ClusterTlsTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan RefusedJoin = TimeSpan.FromSeconds(6);
    private readonly TempJournal _journal = new();
    private readonly List<IAsyncDisposable> _nodes = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await NodeShutdown.DisposeAllAsync(_nodes.ToList(), output);
        _journal.Dispose();
    }

    private void OpenSsl(params string[] args)
    {
        var start = new ProcessStartInfo("openssl") { WorkingDirectory = _journal.Folder, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"openssl {string.Join(' ', args)}: {error.Result}");
    }

    /// <summary>A CA, and a node certificate it signed; returns the config that points a node at them.</summary>
    private Config MakeCertificates(string ca, string node)
    {
        OpenSsl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-subj", $"/CN={ca}", "-keyout", $"{ca}.key", "-out", $"{ca}.crt");
        OpenSsl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", $"/CN={node}",
            "-keyout", $"{node}.key", "-out", $"{node}.csr");
        OpenSsl("x509", "-req", "-in", $"{node}.csr", "-CA", $"{ca}.crt", "-CAkey", $"{ca}.key", "-CAcreateserial", "-days", "2",
            "-out", $"{node}.crt");
        string At(string file) => SweepConfig.Quote(Path.Combine(_journal.Folder, file));
        return ConfigurationFactory.ParseString($"sweep.node.tls {{ certificate = {At(node + ".crt")}, key = {At(node + ".key")}, ca = {At(ca + ".crt")} }}");
    }

    private async Task<WorkerHost> StartWorker(string seedNode, ScriptedTrialRunner runner, Config? tls, TimeSpan joinTimeout)
    {
        var host = await WorkerHost.StartAsync(ClusterNodeOptions.Loopback(ClusterNodeConfig.WorkerRole, seedNode),
            [new TrialSlot(0, "cpu", 1, Path.GetTempPath())], runner, joinTimeout, tls);
        _nodes.Add(host);
        return host;
    }

    [Fact]
    public async Task Only_workers_with_a_certificate_of_the_clusters_CA_join_and_the_sweep_goes_on()
    {
        var cluster = MakeCertificates("sweep-ca", "node");
        var rogue = MakeCertificates("rogue-ca", "rogue");
        var node = await CoordinatorNode.StartAsync(ClusterNodeOptions.Loopback(ClusterNodeConfig.CoordinatorRole), _journal.Location,
            TestSweeps.TwoStages("tls-sweep", firstStage: 3, secondStage: 1), new CoordinatorSettings(50, TimeSpan.FromSeconds(1)),
            TimeSpan.FromSeconds(20), cluster);
        _nodes.Add(node);
        var seed = node.Address.ToString();
        Assert.StartsWith("akka.ssl.tcp://", seed);
        var hostAndPort = seed["akka.ssl.tcp://sweep@".Length..];

        var strangers = new ScriptedTrialRunner(TrialScript.Train, TimeSpan.FromMilliseconds(50));
        var plain = await Assert.ThrowsAsync<SweepUsageException>(() => StartWorker(hostAndPort, strangers, null, RefusedJoin));
        Assert.Contains("could not join", plain.Message);
        var signedByAnother = await Assert.ThrowsAsync<SweepUsageException>(() => StartWorker(seed, strangers, rogue, RefusedJoin));
        Assert.Contains("could not join", signedByAnother.Message);

        var runner = new ScriptedTrialRunner(TrialScript.Train, TimeSpan.FromMilliseconds(50));
        // The short HOST:PORT form works over TLS too.
        await StartWorker(hostAndPort, runner, cluster, TimeSpan.FromSeconds(20));
        var status = await SweepStatusPolling.WaitFor(node, s => s.Progress.IsCompleted, TimeSpan.FromSeconds(60));
        Assert.Equal(4, status.Progress.Counts.Completed);
        Assert.Empty(strangers.Started);
        Assert.Equal(4, runner.Started.Count);
    }
}
