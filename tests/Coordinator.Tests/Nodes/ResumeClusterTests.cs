using System.Collections.Immutable;
using Akka.Configuration;
using Sweep.Contract.Configuration;
using Sweep.Contract.Nodes;
using Sweep.Contract.Protocol;
using Sweep.Coordinator.Actors;
using Sweep.Coordinator.Nodes;
using Sweep.Coordinator.Persistence;
using Sweep.Coordinator.Tests.Support;
using Sweep.Search.Engine;
using Sweep.Search.Reporting;
using Sweep.Search.Specs;
using Sweep.Search.Trials;
using Sweep.TestSupport;
using Sweep.Worker.Hosting;
using Sweep.Worker.Trials;
using Xunit.Abstractions;

namespace Sweep.Coordinator.Tests.Nodes;

/// <summary>
/// Resumable trials in a real cluster: a coordinator node and worker nodes, each its own ActorSystem talking over loopback
/// TCP through the real serializer, each worker with its own checkpoint folder (no shared filesystem), and scripted
/// trials that write multi-megabyte checkpoint files and resume from them.
/// </summary>
public sealed class ResumeClusterTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan JoinTimeout = TimeSpan.FromSeconds(20);
    // A crash, not a leave: the dying node's system stops without telling the cluster.
    private static readonly Config Crash = ConfigurationFactory.ParseString("akka.coordinated-shutdown.run-by-actor-system-terminate = off");
    private readonly TempJournal _journal = new();
    private readonly List<IAsyncDisposable> _nodes = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await NodeShutdown.DisposeAllAsync(_nodes.ToList(), output);
        _journal.Dispose();
    }

    private CheckpointStore Store => new(CheckpointStore.DirectoryFor(_journal.Location, null));

    private static SweepSpec OneStage(int trials, int epochs) =>
        TestSweeps.TwoStages("resume-test", firstStage: trials, secondStage: 1, epochs: epochs) is var spec
            ? spec with { Stages = [spec.Stages[0]] }
            : throw new InvalidOperationException();

    private async Task<CoordinatorNode> StartCoordinator(SweepSpec spec)
    {
        var node = await CoordinatorNode.StartAsync(ClusterNodeOptions.Loopback(ClusterNodeConfig.CoordinatorRole), _journal.Location,
            spec, CoordinatorSettings.Create(SweepConfig.Reference()), JoinTimeout);
        _nodes.Add(node);
        return node;
    }

    private async Task<WorkerHost> StartWorker(CoordinatorNode coordinator, ITrialRunner runner, string name, Config? extra = null, bool track = true)
    {
        var scratch = Path.Combine(_journal.Folder, name + ".worker-checkpoints");
        var host = await WorkerHost.StartAsync(ClusterNodeOptions.Loopback(ClusterNodeConfig.WorkerRole, coordinator.Address.ToString()),
            [new TrialSlot(0, "cpu", 1, scratch)], runner, JoinTimeout, extra);
        if (track)
            _nodes.Add(host);
        return host;
    }

    /// <summary>Waits until the trial running on <paramref name="worker"/> has a stored checkpoint of at least <paramref name="epoch"/>.</summary>
    private async Task<(string TrialId, int Epoch)> WaitForStoredCheckpoint(CoordinatorNode coordinator, string worker, int epoch)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            var status = await SweepStatusPolling.WaitFor(coordinator, _ => true, TimeSpan.FromSeconds(10));
            foreach (var running in status.Progress.Running.Where(r => r.Worker == worker))
                if (Store.Latest(running.TrialId) is { } stored && stored.Epoch >= epoch)
                    return (running.TrialId, stored.Epoch);
            await Task.Delay(100);
        }
        throw new TimeoutException($"no trial of {worker} stored a checkpoint of epoch {epoch} within 60 s");
    }

    [Fact]
    public async Task A_trial_whose_worker_dies_resumes_on_another_worker_from_its_stored_epoch_and_ends_as_an_uninterrupted_run()
    {
        var spec = OneStage(trials: 2, epochs: 6);
        var coordinator = await StartCoordinator(spec);
        // 3 MB checkpoints: every epoch's upload and the resume's download are multi-megabyte transfers in 64 KiB chunks.
        const int payload = 3 * 1024 * 1024;
        var doomedRunner = new ScriptedTrialRunner(TrialScript.Train, TimeSpan.FromMilliseconds(700), payload);
        var doomed = await StartWorker(coordinator, doomedRunner, "doomed", Crash, track: false);
        var (lostTrial, storedEpoch) = await WaitForStoredCheckpoint(coordinator, doomed.WorkerId, epoch: 2);
        await doomed.System.Terminate();
        var trainedBeforeKill = doomedRunner.TrainedEpochs.Where(e => e.TrialId == lostTrial).Max(e => e.Epoch);
        output.WriteLine($"killed the worker running {lostTrial}: epoch {storedEpoch} stored, epoch {trainedBeforeKill} trained");

        var survivorRunner = new ScriptedTrialRunner(TrialScript.Train, TimeSpan.FromMilliseconds(50), payload);
        var survivor = await StartWorker(coordinator, survivorRunner, "survivor");
        await SweepStatusPolling.WaitFor(coordinator, s => s.Progress.IsCompleted, TimeSpan.FromSeconds(90));
        var state = await JournalReader.ReadStateAsync(_journal.Location, TimeSpan.FromSeconds(30));

        // The survivor continued the lost trial after a stored epoch at least as late as the one seen before the kill,
        // never retraining an epoch the store held.
        var lost = state.GetTrial(lostTrial);
        Assert.Equal(survivor.WorkerId, lost.Result!.Worker);
        var resumedAt = Assert.Single(survivorRunner.Resumes, r => r.TrialId == lostTrial).Epoch;
        Assert.True(resumedAt >= storedEpoch, $"resumed at {resumedAt}, but epoch {storedEpoch} was stored");
        Assert.Equal(new ResumePoint(lostTrial, resumedAt), lost.ResumedFrom);
        Assert.Equal(resumedAt + 1, survivorRunner.TrainedEpochs.Where(e => e.TrialId == lostTrial).Min(e => e.Epoch));
        Assert.True(trainedBeforeKill - resumedAt <= 1, $"epochs {resumedAt + 1}..{trainedBeforeKill} trained twice");
        // The journal's epoch history of the resumed run is whole: the stored epochs, then the survivor's.
        Assert.Equal(Enumerable.Range(1, 6), lost.Epochs.Select(e => e.Epoch));
        Assert.True(_journal.CountEvents("trial-resumed") >= 1);
        Assert.True(_journal.CountEvents("trial-checkpointed") >= 2);
        Assert.Equal(0, _journal.CountEvents("checkpoint-discarded"));

        // The leaderboard equals that of the same trials run without interruption.
        var uninterrupted = Uninterrupted(state).ToDictionary(r => r.TrialId);
        var actual = Leaderboard.From(state).Rows;
        Assert.Equal(uninterrupted.Keys.Order(), actual.Select(r => r.TrialId).Order());
        Assert.Equal(uninterrupted.Values.Select(r => r.BestValAcc).OrderDescending(), actual.Select(r => r.BestValAcc));
        foreach (var row in actual)
        {
            var expected = uninterrupted[row.TrialId];
            Assert.Equal(expected.BestValAcc, row.BestValAcc);
            Assert.Equal(expected.BestEpoch, row.BestEpoch);
            Assert.Equal(expected.ValAccHistory, row.ValAccHistory.ToList());
            Assert.Equal(expected.TrainAccHistory, row.TrainAccHistory.ToList());
        }
        // Finished trials keep their final checkpoint (keep = latest), which verifies.
        Assert.All(state.Trials.Keys, id => Assert.NotNull(Store.LatestOf(id)));
        Assert.Equal(6, Store.Latest(lostTrial)!.Epoch);
    }

    [Fact]
    public async Task A_trial_running_when_the_coordinator_stopped_resumes_from_its_stored_epoch_under_the_next_coordinator()
    {
        var spec = OneStage(trials: 1, epochs: 5);
        var first = await StartCoordinator(spec);
        var doomedRunner = new ScriptedTrialRunner(TrialScript.Train, TimeSpan.FromMilliseconds(600));
        var doomed = await StartWorker(first, doomedRunner, "doomed", Crash, track: false);
        var (trialId, storedEpoch) = await WaitForStoredCheckpoint(first, doomed.WorkerId, epoch: 2);
        // Everything stops: the worker crashes, then the coordinator goes away.
        await doomed.System.Terminate();
        _nodes.Remove(first);
        await first.DisposeAsync();

        // A new coordinator recovers the sweep from the journal and the checkpoint from the store beside it.
        var second = await CoordinatorNode.StartAsync(ClusterNodeOptions.Loopback(ClusterNodeConfig.CoordinatorRole), _journal.Location,
            null, CoordinatorSettings.Create(SweepConfig.Reference()), JoinTimeout);
        _nodes.Add(second);
        var survivorRunner = new ScriptedTrialRunner(TrialScript.Train, TimeSpan.FromMilliseconds(50));
        await StartWorker(second, survivorRunner, "survivor");
        await SweepStatusPolling.WaitFor(second, s => s.Progress.IsCompleted, TimeSpan.FromSeconds(60));

        var resumedAt = Assert.Single(survivorRunner.Resumes).Epoch;
        Assert.True(resumedAt >= storedEpoch);
        Assert.Equal(Enumerable.Range(resumedAt + 1, 5 - resumedAt), survivorRunner.TrainedEpochs.Select(e => e.Epoch));
        var state = await JournalReader.ReadStateAsync(_journal.Location, TimeSpan.FromSeconds(30));
        Assert.Equal(new ResumePoint(trialId, resumedAt), state.GetTrial(trialId).ResumedFrom);
        Assert.Equal(5, state.GetTrial(trialId).Result!.EpochsRun);
    }

    [Fact]
    public async Task A_corrupt_stored_checkpoint_restarts_the_trial_from_epoch_0_with_a_journaled_warning()
    {
        var spec = OneStage(trials: 1, epochs: 5);
        var coordinator = await StartCoordinator(spec);
        var doomedRunner = new ScriptedTrialRunner(TrialScript.Train, TimeSpan.FromMilliseconds(500));
        var doomed = await StartWorker(coordinator, doomedRunner, "doomed", Crash, track: false);
        var (trialId, _) = await WaitForStoredCheckpoint(coordinator, doomed.WorkerId, epoch: 2);
        await doomed.System.Terminate();
        await Task.Delay(1000);
        // Flip one byte of the stored checkpoint: it no longer matches its SHA-256 trailer.
        var stored = Store.Latest(trialId)!;
        var bytes = await File.ReadAllBytesAsync(stored.Path);
        bytes[bytes.Length / 2] ^= 0xFF;
        await File.WriteAllBytesAsync(stored.Path, bytes);
        Assert.Null(Store.LatestOf(trialId));

        var survivorRunner = new ScriptedTrialRunner(TrialScript.Train, TimeSpan.FromMilliseconds(50));
        await StartWorker(coordinator, survivorRunner, "survivor");
        var done = await SweepStatusPolling.WaitFor(coordinator, s => s.Progress.IsCompleted, TimeSpan.FromSeconds(60));

        Assert.Equal(1, done.Progress.Counts.Completed);
        Assert.Empty(survivorRunner.Resumes);
        Assert.Equal(Enumerable.Range(1, 5), survivorRunner.TrainedEpochs.Where(e => e.TrialId == trialId).Select(e => e.Epoch));
        Assert.Equal(1, _journal.CountEvents("checkpoint-discarded"));
        Assert.Equal(0, _journal.CountEvents("trial-resumed"));
        var state = await JournalReader.ReadStateAsync(_journal.Location, TimeSpan.FromSeconds(30));
        Assert.Null(state.GetTrial(trialId).ResumedFrom);
        Assert.Equal(5, state.GetTrial(trialId).Result!.EpochsRun);
    }

    [Fact]
    public async Task A_config_carried_into_the_next_stage_continues_from_its_previous_trial_instead_of_retraining()
    {
        var template = TestSweeps.TwoStages("carry-test", firstStage: 3, secondStage: 1, epochs: 2);
        var spec = template with { Stages = [template.Stages[0], new StageSpec(1, 4, 200, TopK: 1, CarryOver: 1)] };
        var coordinator = await StartCoordinator(spec);
        var runner = new ScriptedTrialRunner(TrialScript.Train, TimeSpan.FromMilliseconds(50));
        await StartWorker(coordinator, runner, "only");
        await SweepStatusPolling.WaitFor(coordinator, s => s.Progress.IsCompleted, TimeSpan.FromSeconds(60));
        var state = await JournalReader.ReadStateAsync(_journal.Location, TimeSpan.FromSeconds(30));

        var carried = state.GetTrial("s2-t0001");
        var source = SweepEngine.CarryOverSource(state, carried.TrialId);
        Assert.NotNull(source);
        Assert.Equal(1, state.GetTrial(source).Stage);
        Assert.Equal(new ResumePoint(source, 2), carried.ResumedFrom);
        Assert.Contains((carried.TrialId, 2), runner.Resumes);
        Assert.Equal([3, 4], runner.TrainedEpochs.Where(e => e.TrialId == carried.TrialId).Select(e => e.Epoch));
        Assert.Equal(4, carried.Result!.EpochsRun);
        Assert.Equal(source + "@2", Leaderboard.From(state).Rows.Single(r => r.TrialId == carried.TrialId).ResumedFrom);
        // The newly sampled trial of stage 2 trains from scratch.
        Assert.Equal([1, 2, 3, 4], runner.TrainedEpochs.Where(e => e.TrialId == "s2-t0002").Select(e => e.Epoch));
    }

    /// <summary>Each trial of the sweep run once, start to end, by a runner that is never interrupted.</summary>
    private static IReadOnlyList<(string TrialId, double BestValAcc, int BestEpoch, List<double> ValAccHistory, List<double> TrainAccHistory)> Uninterrupted(SweepState state)
    {
        var runner = new ScriptedTrialRunner(TrialScript.Train, TimeSpan.Zero);
        var slot = new TrialSlot(0, "cpu", 1, Path.GetTempPath());
        return state.Trials.Values
            .Select(t => (t.TrialId, Result: runner.Run(t.Spec, slot, TrialRunOptions.Fresh, _ => { }, CancellationToken.None)))
            .Select(r => (r.TrialId, r.Result.BestValAcc, r.Result.BestEpoch, r.Result.ValAccHistory.ToList(), r.Result.TrainAccHistory.ToList()))
            .ToList();
    }
}
