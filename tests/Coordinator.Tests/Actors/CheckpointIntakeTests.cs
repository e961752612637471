using System.Security.Cryptography;
using Akka.Actor;
using Akka.TestKit;
using Sweep.Contract.Nodes;
using Sweep.Contract.Protocol;
using Sweep.Contract.Security;
using Sweep.Coordinator.Actors;
using Sweep.Coordinator.Nodes;
using Sweep.Coordinator.Persistence;
using Sweep.Coordinator.Tests.Support;
using Xunit.Abstractions;

namespace Sweep.Coordinator.Tests.Actors;

/// <summary>
/// The coordinator receiving checkpoint uploads from test probes playing two registered workers: only the assigned
/// worker's well-formed chunks are written, a multi-megabyte file arrives whole and verified, and only then is it journaled.
/// </summary>
public sealed class CheckpointIntakeTests(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(output: output), IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private readonly TempJournal _journal = new();
    private CoordinatorNode? _node;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_node is not null)
            await _node.DisposeAsync();
        _journal.Dispose();
    }

    private static byte[] Checkpoint(int bytes)
    {
        var body = RandomNumberGenerator.GetBytes(bytes);
        return [.. body, .. SHA256.HashData(body)];
    }

    private TestProbe Register(string workerId)
    {
        var probe = CreateTestProbe(_node!.System, workerId);
        _node.Proxy.Tell(new RegisterWorker(workerId, "nowhere", 1, "cpu"), probe.Ref);
        probe.ExpectMsg<WorkerRegistered>(Wait);
        return probe;
    }

    private CheckpointChunkAck Send(TestProbe from, CheckpointChunk chunk)
    {
        _node!.Proxy.Tell(chunk, from.Ref);
        return (CheckpointChunkAck)from.FishForMessage(m => m is CheckpointChunkAck, Wait);
    }

    [Fact]
    public async Task Only_the_assigned_workers_well_formed_upload_is_stored_verified_and_then_journaled()
    {
        _node = await CoordinatorNode.StartAsync(ClusterNodeOptions.Loopback(ClusterNodeConfig.CoordinatorRole), _journal.Location,
            TestSweeps.TwoStages(firstStage: 2, epochs: 3), new CoordinatorSettings(50, TimeSpan.FromSeconds(1)), TimeSpan.FromSeconds(20));
        var owner = Register("worker-a");
        var other = Register("worker-b");
        _node.Proxy.Tell(new RequestTrials("worker-a", 1, 0), owner.Ref);
        var assignment = owner.ExpectMsg<AssignTrial>(Wait);
        Assert.Equal(1, assignment.CheckpointEvery);
        Assert.Null(assignment.Resume);
        var trialId = assignment.Trial.TrialId;

        var content = Checkpoint(5 * 1024 * 1024);
        var sha = CheckpointChecksum.Verify(content)!;
        CheckpointChunk Chunk(string worker, int epoch, long offset, int length, long? total = null, string? hash = null) =>
            new(worker, trialId, epoch, offset, total ?? content.Length, hash ?? sha, content.AsSpan((int)offset, length).ToArray());

        // Refused: another worker's upload, an epoch beyond the budget, a chunk over the limit, a bad hash, a length
        // that does not fit.
        Assert.False(Send(other, Chunk("worker-b", 1, 0, 1000)).Accepted);
        Assert.False(Send(owner, Chunk("worker-a", 4, 0, 1000)).Accepted);
        Assert.False(Send(owner, Chunk("worker-a", 1, 0, CheckpointChunk.MaxData + 1)).Accepted);
        Assert.False(Send(owner, Chunk("worker-a", 1, 0, 1000, hash: "not-a-hash")).Accepted);
        Assert.False(Send(owner, Chunk("worker-a", 1, 0, 1000, total: 20)).Accepted);
        Assert.False(Send(owner, Chunk("worker-a", 1, 0, 1000, total: CheckpointChunk.MaxTotalLength + 1)).Accepted);
        // A chunk that does not start where the store is asks the worker to go on from there.
        Assert.Equal(0, Send(owner, Chunk("worker-a", 1, 65_536, 1000)).Received);

        // A 5 MB upload in chunks of CheckpointChunk.ChunkBytes, each acknowledged before the next.
        CheckpointChunkAck ack = new(trialId, 1, 0);
        var chunks = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (ack.Received < content.Length)
        {
            var length = (int)Math.Min(CheckpointChunk.ChunkBytes, content.Length - ack.Received);
            ack = Send(owner, Chunk("worker-a", 1, ack.Received, length));
            Assert.True(ack.Accepted);
            chunks++;
        }
        Output!.WriteLine($"{content.Length} bytes in {chunks} chunks stored in {clock.Elapsed.TotalSeconds:0.00} s " +
                         $"({content.Length / 1e6 / clock.Elapsed.TotalSeconds:0.0} MB/s)");
        Assert.Equal((content.Length + CheckpointChunk.ChunkBytes - 1) / CheckpointChunk.ChunkBytes, chunks);
        Assert.Equal(content.Length, ack.Received);
        Assert.Equal(1, _journal.CountEvents("trial-checkpointed"));
        var store = new CheckpointStore(CheckpointStore.DirectoryFor(_journal.Location, null));
        Assert.Equal(content, File.ReadAllBytes(store.LatestOf(trialId)!));

        // An upload whose bytes do not match the announced hash is refused when complete; the stored epoch stays.
        var forged = Checkpoint(CheckpointChunk.ChunkBytes + 4_000);
        var first = Send(owner, new CheckpointChunk("worker-a", trialId, 2, 0, forged.Length, sha, forged[..CheckpointChunk.ChunkBytes]));
        Assert.True(first.Accepted);
        var last = Send(owner, new CheckpointChunk("worker-a", trialId, 2, first.Received, forged.Length, sha, forged[(int)first.Received..]));
        Assert.False(last.Accepted);
        Assert.Equal(1, _journal.CountEvents("trial-checkpointed"));
        Assert.Equal(1, store.Latest(trialId)!.Epoch);
        // An older epoch than the stored one is no longer wanted.
        Assert.False(Send(owner, Chunk("worker-a", 1, 0, 1000)).Accepted);
    }

    [Fact]
    public async Task With_keep_none_a_finished_trials_checkpoint_is_deleted_and_no_final_one_is_taken()
    {
        var spec = TestSweeps.TwoStages(firstStage: 2, epochs: 3) with { Checkpoints = new Search.Specs.CheckpointSpec(1, Search.Specs.CheckpointKeep.None) };
        _node = await CoordinatorNode.StartAsync(ClusterNodeOptions.Loopback(ClusterNodeConfig.CoordinatorRole), _journal.Location,
            spec, new CoordinatorSettings(50, TimeSpan.FromMilliseconds(300)), TimeSpan.FromSeconds(20));
        var owner = Register("worker-a");
        _node.Proxy.Tell(new RequestTrials("worker-a", 1, 0), owner.Ref);
        var trialId = owner.ExpectMsg<AssignTrial>(Wait).Trial.TrialId;
        var content = Checkpoint(1000);
        var sha = CheckpointChecksum.Verify(content)!;
        var ack = Send(owner, new CheckpointChunk("worker-a", trialId, 1, 0, content.Length, sha, content));
        Assert.Equal(content.Length, ack.Received);
        var store = new CheckpointStore(CheckpointStore.DirectoryFor(_journal.Location, null));
        Assert.NotNull(store.VerifiedPath(trialId, 1, sha));

        var result = new Search.Trials.TrialResult(Search.Trials.TrialStatus.Completed, 0.5, 3, [0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.5], 1, 1);
        _node.Proxy.Tell(new TrialFinished("worker-a", trialId, result), owner.Ref);
        owner.FishForMessage(m => m is TrialOutcomeAcknowledged, Wait);
        Assert.False(Send(owner, new CheckpointChunk("worker-a", trialId, 3, 0, content.Length, sha, content)).Accepted);
        AwaitCondition(() => store.Latest(trialId) is null, Wait);
    }

    [Fact]
    public async Task A_checkpoint_the_resuming_worker_refuses_is_journaled_and_its_run_reports_from_epoch_one_again()
    {
        _node = await CoordinatorNode.StartAsync(ClusterNodeOptions.Loopback(ClusterNodeConfig.CoordinatorRole), _journal.Location,
            TestSweeps.TwoStages(firstStage: 1, epochs: 3), new CoordinatorSettings(50, TimeSpan.FromMilliseconds(300)), TimeSpan.FromSeconds(20));
        var first = Register("worker-a");
        var second = Register("worker-b");
        _node.Proxy.Tell(new RequestTrials("worker-a", 1, 0), first.Ref);
        var trialId = first.ExpectMsg<AssignTrial>(Wait).Trial.TrialId;
        _node.Proxy.Tell(new TrialEpochReport("worker-a", trialId, 1, 2.0, 0.2, 0.15, 1.0), first.Ref);
        var content = Checkpoint(1000);
        var sha = CheckpointChecksum.Verify(content)!;
        Assert.Equal(content.Length, Send(first, new CheckpointChunk("worker-a", trialId, 1, 0, content.Length, sha, content)).Received);
        // worker-a hands the trial back; worker-b gets it with the offer of its epoch-1 checkpoint.
        _node.Proxy.Tell(new TrialRejected("worker-a", trialId), first.Ref);
        _node.Proxy.Tell(new RequestTrials("worker-b", 1, 0), second.Ref);
        var resumed = (AssignTrial)second.FishForMessage(m => m is AssignTrial, Wait);
        Assert.Equal((trialId, 1), (resumed.Resume!.FromTrialId, resumed.Resume.Epoch));
        AwaitCondition(() => _journal.CountEvents("trial-resumed") == 1, Wait);

        // Only the worker running the trial is heard.
        _node.Proxy.Tell(new CheckpointRefused("worker-a", trialId, trialId, 1, "forged"), first.Ref);
        _node.Proxy.Tell(new CheckpointRefused("worker-b", trialId, trialId, 1, "it fails its SHA-256 checksum"), second.Ref);
        AwaitCondition(() => _journal.CountEvents("trial-resume-abandoned") == 1, Wait);
        // The run trains from epoch 0, so its epoch 1 is new (before, it read as the resumed epoch and was dropped).
        _node.Proxy.Tell(new TrialEpochReport("worker-b", trialId, 1, 2.0, 0.2, 0.15, 1.0), second.Ref);
        AwaitCondition(() => _journal.CountEvents("trial-epoch-reported") == 2, Wait);
        Assert.Equal(1, _journal.CountEvents("trial-resume-abandoned"));
    }
}
