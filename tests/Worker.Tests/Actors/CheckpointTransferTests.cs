using Akka.Actor;
using Akka.TestKit;
using Sweep.Contract.Protocol;
using Sweep.Contract.Security;
using Sweep.Search.Spaces;
using Sweep.Search.Trials;
using Sweep.TestSupport;
using Sweep.Worker.Actors;
using Sweep.Worker.Trials;
using Xunit.Abstractions;

namespace Sweep.Worker.Tests.Actors;

/// <summary>
/// The worker's checkpoint transfers against a test probe playing the coordinator: each checkpoint a trial writes is
/// uploaded in acknowledged chunks and deleted once stored, and an offered checkpoint is fetched, verified and resumed from.
/// </summary>
public sealed class CheckpointTransferTests(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(output: output), IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly string _scratch = Path.Combine(Path.GetTempPath(), "sweep-worker-ckpt-" + Guid.NewGuid().ToString("N")[..12]);

    private static TrialSpec Trial(string id, int epochs) => new(id, 1, TrialConfig.Empty, new TrialBudget(epochs, 100), 7);

    private (IActorRef Worker, TestProbe Coordinator) StartRegistered(ITrialRunner runner)
    {
        var coordinator = CreateTestProbe("coordinator");
        var settings = new WorkerNodeSettings("worker-a", "node-a", [new TrialSlot(0, "cpu", 1, _scratch)], TimeSpan.FromMilliseconds(300));
        var worker = Sys.ActorOf(WorkerNode.Props(settings, coordinator.Ref, runner));
        coordinator.ExpectMsg<RegisterWorker>(Wait);
        worker.Tell(new WorkerRegistered("worker-a", "test"), coordinator.Ref);
        coordinator.FishForMessage(m => m is RequestTrials, Wait);
        return (worker, coordinator);
    }

    [Fact]
    public void Each_checkpoint_is_uploaded_in_acknowledged_chunks_below_the_frame_limit_and_deleted_once_stored()
    {
        // Checkpoints of 3.5 chunks: four chunks each.
        var size = CheckpointChunk.ChunkBytes * 7 / 2;
        var runner = new ScriptedTrialRunner(TrialScript.Train, TimeSpan.FromMilliseconds(20), checkpointPayloadBytes: size);
        var (worker, coordinator) = StartRegistered(runner);
        worker.Tell(new AssignTrial(Trial("s1-t0001", epochs: 2), CheckpointEvery: 1), coordinator.Ref);

        var stored = new Dictionary<int, MemoryStream>();
        var chunks = 0;
        while (!stored.TryGetValue(2, out var last) || last.Length < size)
        {
            var chunk = (CheckpointChunk)coordinator.FishForMessage(m => m is CheckpointChunk, Wait);
            chunks++;
            Assert.Equal("worker-a", chunk.WorkerId);
            Assert.InRange(chunk.Data.Length, 1, CheckpointChunk.ChunkBytes);
            if (!stored.TryGetValue(chunk.Epoch, out var file))
                stored[chunk.Epoch] = file = new MemoryStream();
            Assert.Equal(file.Length, chunk.Offset);
            file.Write(chunk.Data);
            worker.Tell(new CheckpointChunkAck(chunk.TrialId, chunk.Epoch, file.Length), coordinator.Ref);
            if (file.Length == chunk.TotalLength)
            {
                // The whole file verifies against its trailer and carries the announced hash.
                Assert.Equal(chunk.Sha256, CheckpointChecksum.Verify(file.ToArray()));
                if (chunk.Epoch == 2)
                    break;
            }
        }
        Assert.True(chunks >= 8, $"{chunks} chunks for two checkpoints of {size} bytes");
        // Once stored, the worker deletes its own copies.
        var folder = TrialCheckpoints.FolderOf(_scratch, "s1-t0001");
        AwaitCondition(() => !Directory.Exists(folder) || Directory.GetFiles(folder).Length == 0, Wait);
    }

    [Fact]
    public void A_finished_trial_is_reported_only_once_its_last_checkpoint_is_stored()
    {
        // Without the hold, the coordinator would learn of the end first and drop the final upload (the best weights).
        var runner = new ScriptedTrialRunner(TrialScript.Train, TimeSpan.FromMilliseconds(20), checkpointPayloadBytes: 200_000);
        var (worker, coordinator) = StartRegistered(runner);
        worker.Tell(new AssignTrial(Trial("s1-t0002", epochs: 1), CheckpointEvery: 1), coordinator.Ref);

        var chunk = (CheckpointChunk)coordinator.FishForMessage(m => m is CheckpointChunk, Wait);
        // The run ends (its slot is offered again at once) while the upload waits for its first acknowledgement: no
        // result for two seconds, though the worker re-sends the chunk meanwhile.
        coordinator.FishForMessage(m => m is RequestTrials { FreeSlots: 1 }, Wait);
        var quiet = DateTime.UtcNow + TimeSpan.FromSeconds(2);
        while (DateTime.UtcNow < quiet)
            Assert.IsNotType<TrialFinished>(coordinator.ReceiveOne(TimeSpan.FromMilliseconds(200)));

        // Every chunk acknowledged: the result follows the last acknowledgement.
        while (true)
        {
            var received = chunk.Offset + chunk.Data.Length;
            worker.Tell(new CheckpointChunkAck(chunk.TrialId, chunk.Epoch, received), coordinator.Ref);
            if (received == chunk.TotalLength)
                break;
            chunk = (CheckpointChunk)coordinator.FishForMessage(m => m is CheckpointChunk c && c.Offset == received, Wait);
        }
        var finished = (TrialFinished)coordinator.FishForMessage(m => m is TrialFinished, Wait);
        Assert.Equal(TrialStatus.Completed, finished.Result.Status);
    }

    [Fact]
    public void An_offered_checkpoint_is_fetched_verified_and_the_run_continues_after_its_epoch()
    {
        var trial = Trial("s1-t0003", epochs: 4);
        var checkpoint = WriteCheckpoint(trial, epoch: 2);
        var content = File.ReadAllBytes(checkpoint);
        var sha = CheckpointChecksum.Verify(content)!;
        var runner = new ScriptedTrialRunner(TrialScript.Train, TimeSpan.FromMilliseconds(20));
        var (worker, coordinator) = StartRegistered(runner);

        worker.Tell(new AssignTrial(trial, 0, new CheckpointOffer(trial.TrialId, 2, content.Length, sha)), coordinator.Ref);
        var epochs = new List<int>();
        TrialFinished? finished = null;
        coordinator.FishForMessage(m =>
        {
            if (m is CheckpointChunkRequest request && request.Offset < content.Length)
            {
                var length = (int)Math.Min(1000, content.Length - request.Offset);
                worker.Tell(new CheckpointChunk("worker-a", trial.TrialId, 2, request.Offset, content.Length, sha,
                    content.AsSpan((int)request.Offset, length).ToArray()), coordinator.Ref);
            }
            if (m is TrialEpochReport report) epochs.Add(report.Epoch);
            if (m is TrialFinished f) finished = f;
            return m is TrialFinished;
        }, Wait);

        Assert.Equal([(trial.TrialId, 2)], runner.Resumes);
        Assert.Equal([3, 4], epochs);
        Assert.Equal(TrialStatus.Completed, finished!.Result.Status);
        // The result's histories are whole: the epoch-0 check and all four epochs.
        Assert.Equal(5, finished.Result.ValAccHistory.Length);
        var uninterrupted = new ScriptedTrialRunner(TrialScript.Train, TimeSpan.Zero)
            .Run(trial, new TrialSlot(0, "cpu", 1, _scratch), TrialRunOptions.Fresh, _ => { }, CancellationToken.None);
        Assert.Equal(uninterrupted.ValAccHistory.ToList(), finished.Result.ValAccHistory.ToList());
    }

    [Fact]
    public void An_offered_checkpoint_that_arrives_corrupt_starts_the_run_from_epoch_0()
    {
        var trial = Trial("s1-t0004", epochs: 3);
        var content = File.ReadAllBytes(WriteCheckpoint(trial, epoch: 2));
        var sha = CheckpointChecksum.Verify(content)!;
        content[10] ^= 0xFF;
        var runner = new ScriptedTrialRunner(TrialScript.Train, TimeSpan.FromMilliseconds(20));
        var (worker, coordinator) = StartRegistered(runner);

        worker.Tell(new AssignTrial(trial, 0, new CheckpointOffer(trial.TrialId, 2, content.Length, sha)), coordinator.Ref);
        var seen = new List<object>();
        coordinator.FishForMessage(m =>
        {
            if (m is CheckpointChunkRequest request && request.Offset < content.Length)
                worker.Tell(new CheckpointChunk("worker-a", trial.TrialId, 2, request.Offset, content.Length, sha,
                    content.AsSpan((int)request.Offset).ToArray()), coordinator.Ref);
            if (m is TrialEpochReport or CheckpointRefused) seen.Add(m);
            return m is TrialFinished;
        }, Wait);

        Assert.Empty(runner.Resumes);
        AssertRefusedThenTrainedFromEpochOne(seen, trial.TrialId, "fails its SHA-256 checksum");
    }

    /// <summary>
    /// The coordinator hears of the refused checkpoint once, before the run's first epoch report (so that the journal stops
    /// counting the run as resumed before its reports arrive), and the reports then run from epoch 1.
    /// </summary>
    private static void AssertRefusedThenTrainedFromEpochOne(List<object> seen, string trialId, string reason)
    {
        var refused = Assert.IsType<CheckpointRefused>(seen[0]);
        Assert.Equal(("worker-a", trialId, trialId, 2), (refused.WorkerId, refused.TrialId, refused.FromTrialId, refused.Epoch));
        Assert.Contains(reason, refused.Reason);
        Assert.Single(seen.OfType<CheckpointRefused>());
        Assert.Equal([1, 2, 3], seen.OfType<TrialEpochReport>().Select(r => r.Epoch));
    }

    [Fact]
    public void An_offer_the_coordinator_no_longer_has_hands_the_trial_back_and_frees_the_slot()
    {
        var trial = Trial("s1-t0005", epochs: 3);
        var runner = new ScriptedTrialRunner(TrialScript.Train, TimeSpan.FromMilliseconds(20));
        var (worker, coordinator) = StartRegistered(runner);

        worker.Tell(new AssignTrial(trial, 0, new CheckpointOffer(trial.TrialId, 2, 5000, new string('a', 64))), coordinator.Ref);
        coordinator.FishForMessage(m => m is CheckpointChunkRequest, Wait);
        worker.Tell(new CheckpointUnavailable(trial.TrialId, 2), coordinator.Ref);

        coordinator.FishForMessage(m => m is TrialRejected r && r.TrialId == trial.TrialId, Wait);
        coordinator.FishForMessage(m => m is RequestTrials { FreeSlots: 1 }, Wait);
        Assert.Empty(runner.Started);
    }

    [Fact]
    public void A_cancel_while_the_checkpoint_arrives_frees_the_slot_and_reports_the_run_cancelled()
    {
        var trial = Trial("s1-t0006", epochs: 3);
        var runner = new ScriptedTrialRunner(TrialScript.Train, TimeSpan.FromMilliseconds(20));
        var (worker, coordinator) = StartRegistered(runner);

        worker.Tell(new AssignTrial(trial, 0, new CheckpointOffer(trial.TrialId, 2, 5000, new string('a', 64))), coordinator.Ref);
        coordinator.FishForMessage(m => m is CheckpointChunkRequest, Wait);
        worker.Tell(new CancelTrial(trial.TrialId, "timed out after 60 s"), coordinator.Ref);

        var finished = (TrialFinished)coordinator.FishForMessage(m => m is TrialFinished, Wait);
        Assert.Equal(TrialStatus.Cancelled, finished.Result.Status);
        coordinator.FishForMessage(m => m is RequestTrials { FreeSlots: 1 }, Wait);
        Assert.Empty(runner.Started);
    }

    [Fact]
    public void A_checkpoint_the_runner_refuses_to_resume_from_trains_the_trial_from_epoch_0()
    {
        var trial = Trial("s1-t0007", epochs: 3);
        var content = File.ReadAllBytes(WriteCheckpoint(trial, epoch: 2));
        var sha = CheckpointChecksum.Verify(content)!;
        var runner = new RefusingResumes(new ScriptedTrialRunner(TrialScript.Train, TimeSpan.FromMilliseconds(20)));
        var (worker, coordinator) = StartRegistered(runner);

        worker.Tell(new AssignTrial(trial, 0, new CheckpointOffer(trial.TrialId, 2, content.Length, sha)), coordinator.Ref);
        var seen = new List<object>();
        var finished = (TrialFinished)coordinator.FishForMessage(m =>
        {
            if (m is CheckpointChunkRequest request && request.Offset < content.Length)
                worker.Tell(new CheckpointChunk("worker-a", trial.TrialId, 2, request.Offset, content.Length, sha,
                    content.AsSpan((int)request.Offset).ToArray()), coordinator.Ref);
            if (m is TrialEpochReport or CheckpointRefused) seen.Add(m);
            return m is TrialFinished or TrialErrored;
        }, Wait);

        Assert.Equal([true, false], runner.Calls);
        AssertRefusedThenTrainedFromEpochOne(seen, trial.TrialId, "checkpoint of another model");
        Assert.Equal(TrialStatus.Completed, finished.Result.Status);
    }

    /// <summary>A runner whose resume files never fit (another model, say): it refuses them before training, as TorchTrialRunner does.</summary>
    private sealed class RefusingResumes(ITrialRunner inner) : ITrialRunner
    {
        public List<bool> Calls { get; } = [];

        public TrialResult Run(TrialSpec trial, TrialSlot slot, TrialRunOptions options, Action<TrialEpochProgress> onEpoch, CancellationToken cancellation)
        {
            lock (Calls) Calls.Add(options.ResumeFrom is not null);
            if (options.ResumeFrom is not null)
                throw new TrialResumeRejectedException("checkpoint of another model");
            return inner.Run(trial, slot, options, onEpoch, cancellation);
        }
    }

    /// <summary>A checkpoint of the trial after <paramref name="epoch"/>, as the scripted runner writes it.</summary>
    private string WriteCheckpoint(TrialSpec trial, int epoch)
    {
        string? path = null;
        new ScriptedTrialRunner(TrialScript.Train, TimeSpan.Zero).Run(trial with { Budget = trial.Budget with { Epochs = epoch } },
            new TrialSlot(0, "cpu", 1, Path.Combine(_scratch, "source")), new TrialRunOptions(null, CheckpointEvery: epoch),
            progress => path = progress.CheckpointPath ?? path, CancellationToken.None);
        return path!;
    }

    void IDisposable.Dispose()
    {
        Shutdown();
        if (Directory.Exists(_scratch))
            Directory.Delete(_scratch, recursive: true);
    }
}
