using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using Sweep.Contract.Cli;
using Sweep.Contract.Configuration;
using Sweep.Contract.Nodes;
using Sweep.Coordinator.Actors;
using Sweep.Coordinator.Nodes;
using Sweep.Coordinator.Persistence;
using Sweep.Coordinator.Tests.Support;

namespace Sweep.Coordinator.Tests.Cli;

/// <summary>
/// Bad input to the real executables: each gives one clear "sweep: ..." line naming the problem and the fix,
/// a non-zero exit code, and leaves no journal behind (or the existing file untouched).
/// </summary>
public sealed class BadInputTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private readonly TempJournal _temp = new();

    private (int ExitCode, string Stdout, string Stderr) Coordinator(params string[] args) =>
        SweepProcess.Run(SweepProcess.CoordinatorDll, _temp.Folder, Bound, null, args);

    private (int ExitCode, string Stdout, string Stderr) Worker(params string[] args) =>
        SweepProcess.Run(SweepProcess.WorkerDll, _temp.Folder, Bound, null, args);

    private static void AssertOneLineError(int exitCode, string stderr, string mustMention)
    {
        Assert.NotEqual(0, exitCode);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var line = Assert.Single(lines);
        Assert.StartsWith("sweep: ", line);
        Assert.Contains(mustMention, line);
    }

    [Theory]
    [InlineData("status")]
    [InlineData("leaderboard")]
    [InlineData("resume")]
    public void A_missing_journal_is_an_error_and_is_not_created(string command)
    {
        var (code, _, stderr) = Coordinator(command, "--journal", "nothing-here.db");
        AssertOneLineError(code, stderr, "does not exist");
        Assert.False(File.Exists(Path.Combine(_temp.Folder, "nothing-here.db")));
    }

    [Theory]
    [InlineData("status")]
    [InlineData("leaderboard")]
    [InlineData("resume")]
    public void A_corrupt_journal_is_an_error_and_stays_byte_for_byte_the_same(string command)
    {
        var path = Path.Combine(_temp.Folder, "corrupt.db");
        File.WriteAllBytes(path, RandomNumberGenerator.GetBytes(8192));
        var before = SHA256.HashData(File.ReadAllBytes(path));

        var (code, _, stderr) = Coordinator(command, "--journal", path);

        AssertOneLineError(code, stderr, "corrupt.db");
        Assert.Equal(before, SHA256.HashData(File.ReadAllBytes(path)));
        Assert.Equal(["corrupt.db"], Directory.GetFiles(_temp.Folder).Select(Path.GetFileName));
    }

    [Fact]
    public void A_journal_path_that_is_a_directory_is_an_error()
    {
        Directory.CreateDirectory(Path.Combine(_temp.Folder, "adir"));
        var (code, _, stderr) = Coordinator("status", "--journal", "adir");
        AssertOneLineError(code, stderr, "is a directory");
    }

    [Fact]
    public void A_missing_spec_is_an_error_and_creates_no_runs_folder()
    {
        var (code, _, stderr) = Coordinator("run", "no-such-spec.conf", "--local-workers", "1");
        AssertOneLineError(code, stderr, "no-such-spec.conf");
        Assert.False(Directory.Exists(Path.Combine(_temp.Folder, "runs")));
    }

    [Fact]
    public void A_malformed_spec_is_an_error_and_creates_no_runs_folder()
    {
        File.WriteAllText(Path.Combine(_temp.Folder, "broken.conf"), "sweep {\n  name = \"broken\"\n  stages = [ { count = \n");
        var (code, _, stderr) = Coordinator("run", "broken.conf");
        Assert.NotEqual(0, code);
        Assert.StartsWith("sweep: ", stderr.Trim());
        Assert.False(Directory.Exists(Path.Combine(_temp.Folder, "runs")));
    }

    [Fact]
    public void A_missing_data_directory_is_an_error_before_any_journal_exists()
    {
        File.WriteAllText(Path.Combine(_temp.Folder, "tiny.conf"), TinySpecs.Text("tiny", RepoPaths.CifarDirectory()));
        var (code, _, stderr) = Coordinator("run", "tiny.conf", "--data", "no-such-data", "--local-workers", "1");
        AssertOneLineError(code, stderr, "no-such-data");
        Assert.False(Directory.Exists(Path.Combine(_temp.Folder, "runs")));
    }

    [Fact]
    public async Task A_run_on_a_journal_holding_another_sweep_refuses_and_leaves_it_unchanged()
    {
        var journal = Path.Combine(_temp.Folder, "other.db");
        var node = await CoordinatorNode.StartAsync(ClusterNodeOptions.Loopback(ClusterNodeConfig.CoordinatorRole),
            JournalLocation.Parse(journal), TestSweeps.TwoStages(name: "first-sweep"), CoordinatorSettings.Create(SweepConfig.Reference()), TimeSpan.FromSeconds(20));
        await JournalReaderWait(journal);
        await node.DisposeAsync();
        SqliteConnection.ClearAllPools();
        var before = Hash(journal);

        File.WriteAllText(Path.Combine(_temp.Folder, "tiny.conf"), TinySpecs.Text("tiny", RepoPaths.CifarDirectory()));
        var (code, _, stderr) = Coordinator("run", "tiny.conf", "--journal", journal, "--local-workers", "1");

        AssertOneLineError(code, stderr, "holds another sweep");
        Assert.Contains("first-sweep", stderr);
        Assert.Equal(before, Hash(journal));
    }

    private static async Task JournalReaderWait(string journal)
    {
        for (var i = 0; i < 100; i++)
        {
            try
            {
                var state = await JournalReader.ReadStateAsync(JournalLocation.Parse(journal), TimeSpan.FromSeconds(20));
                if (state.IsStarted)
                    return;
            }
            catch (SweepUsageException)
            {
                // The coordinator has not created the journal yet.
            }
            await Task.Delay(100);
        }
        throw new TimeoutException("the first sweep never started");
    }

    private static string Hash(string path) =>
        string.Join(",", new[] { path, path + "-wal" }.Where(File.Exists).Select(p => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(p)))));

    [Fact]
    public void A_coordinator_whose_seed_nodes_are_unreachable_gives_up_and_leaves_no_journal()
    {
        File.WriteAllText(Path.Combine(_temp.Folder, "tiny.conf"), TinySpecs.Text("tiny", RepoPaths.CifarDirectory()));
        var (code, _, stderr) = Coordinator("coordinator", "tiny.conf", "--journal", "runs/tiny.db", "--port", "0",
            "--seed-nodes", "127.0.0.1:9", "--join-timeout", "3");
        AssertOneLineError(code, stderr, "could not join the cluster");
        Assert.False(File.Exists(Path.Combine(_temp.Folder, "runs", "tiny.db")));
    }

    [Fact]
    public void A_worker_with_a_missing_data_directory_stops_before_joining()
    {
        var (code, _, stderr) = Worker("worker", "--seed-nodes", "127.0.0.1:9", "--data", "no-such-data");
        AssertOneLineError(code, stderr, "no-such-data");
    }

    [Fact]
    public void A_worker_with_a_malformed_seed_node_is_an_error()
    {
        var (code, _, stderr) = Worker("worker", "--seed-nodes", "not a host:port:x", "--data", RepoPaths.CifarDirectory());
        AssertOneLineError(code, stderr, "seed node");
    }

    [Fact]
    public void A_worker_whose_seed_nodes_are_unreachable_gives_up_after_its_join_timeout()
    {
        var (code, _, stderr) = Worker("worker", "--seed-nodes", "127.0.0.1:9", "--join-timeout", "3", "--data", RepoPaths.CifarDirectory());
        Assert.NotEqual(0, code);
        Assert.Contains("could not join the cluster", stderr);
        Assert.Contains("127.0.0.1:9", stderr);
    }

    public void Dispose() => _temp.Dispose();
}
