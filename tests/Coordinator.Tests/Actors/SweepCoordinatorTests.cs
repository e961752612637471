using Akka.Actor;
using Akka.TestKit;
using Sweep.Contract.Nodes;
using Sweep.Contract.Protocol;
using Sweep.Coordinator.Actors;
using Sweep.Coordinator.Nodes;
using Sweep.Coordinator.Persistence;
using Sweep.Coordinator.Tests.Support;
using Sweep.Search.Specs;
using Sweep.Search.Trials;
using Xunit.Abstractions;

namespace Sweep.Coordinator.Tests.Actors;

/// <summary>
/// The coordinator singleton on a one-node cluster with a real SQLite journal, driven by a test probe that
/// plays a worker: pulling, acknowledgement, duplicates, failures and timeouts.
/// </summary>
public sealed class SweepCoordinatorTests(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(output: output), IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private readonly TempJournal _journal = new();
    private CoordinatorNode? _node;
    private const string WorkerId = "probe-worker";

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_node is not null)
            await _node.DisposeAsync();
        _journal.Dispose();
    }

    private async Task<TestProbe> StartWithWorker(SweepSpec spec)
    {
        _node = await CoordinatorNode.StartAsync(ClusterNodeOptions.Loopback(ClusterNodeConfig.CoordinatorRole), _journal.Location, spec,
            new CoordinatorSettings(50, TimeSpan.FromMilliseconds(200)), TimeSpan.FromSeconds(20));
        var worker = CreateTestProbe(_node.System, "worker");
        _node.Proxy.Tell(new RegisterWorker(WorkerId, "nowhere", 4, "cpu"), worker.Ref);
        worker.ExpectMsg<WorkerRegistered>(Wait);
        return worker;
    }

    private SweepStatus Status() => _node!.Proxy.Ask<SweepStatus>(new GetSweepStatus(), Wait).Result;

    private static TrialResult Completed(double best) => new(TrialStatus.Completed, best, 1, [best], [best], 1.0, 0.5);

    [Fact]
    public async Task Never_sends_more_trials_than_the_worker_asked_for()
    {
        var worker = await StartWithWorker(TestSweeps.TwoStages(firstStage: 5));
        _node!.Proxy.Tell(new RequestTrials(WorkerId, 2, 0), worker.Ref);
        var first = worker.ExpectMsg<AssignTrial>(Wait);
        var second = worker.ExpectMsg<AssignTrial>(Wait);
        Assert.NotEqual(first.Trial.TrialId, second.Trial.TrialId);

        // The same request again before the assignments arrived: both are in flight, so nothing more is sent.
        _node.Proxy.Tell(new RequestTrials(WorkerId, 2, 0), worker.Ref);
        worker.ExpectNoMsg(TimeSpan.FromMilliseconds(800));

        // Received both, still two free slots: two more.
        _node.Proxy.Tell(new RequestTrials(WorkerId, 2, 2), worker.Ref);
        worker.ExpectMsg<AssignTrial>(Wait);
        worker.ExpectMsg<AssignTrial>(Wait);
        worker.ExpectNoMsg(TimeSpan.FromMilliseconds(500));
        Assert.Equal(4, Status().Progress.Counts.Running);
    }

    [Fact]
    public async Task A_duplicate_result_is_acknowledged_but_journaled_once()
    {
        var worker = await StartWithWorker(TestSweeps.TwoStages());
        _node!.Proxy.Tell(new RequestTrials(WorkerId, 1, 0), worker.Ref);
        var trial = worker.ExpectMsg<AssignTrial>(Wait).Trial;

        var finished = new TrialFinished(WorkerId, trial.TrialId, Completed(0.4));
        _node.Proxy.Tell(finished, worker.Ref);
        worker.FishForMessage(m => m is TrialOutcomeAcknowledged a && a.TrialId == trial.TrialId, Wait);
        _node.Proxy.Tell(finished with { Result = Completed(0.9) }, worker.Ref);
        worker.FishForMessage(m => m is TrialOutcomeAcknowledged a && a.TrialId == trial.TrialId, Wait);

        var status = Status();
        Assert.Equal(1, status.Progress.Counts.Completed);
        Assert.Equal(0.4, status.Progress.Best!.BestValAcc);
        Assert.Equal(1, _journal.CountEvents("trial-completed"));
    }

    [Fact]
    public async Task A_failing_trial_is_retried_up_to_the_limit_then_failed_for_good()
    {
        var worker = await StartWithWorker(TestSweeps.TwoStages(firstStage: 1, maxRetries: 1));
        for (var run = 1; run <= 2; run++)
        {
            _node!.Proxy.Tell(new RequestTrials(WorkerId, 1, run - 1), worker.Ref);
            var trial = ((AssignTrial)worker.FishForMessage(m => m is AssignTrial, Wait)).Trial;
            Assert.Equal("s1-t0001", trial.TrialId);
            _node.Proxy.Tell(new TrialErrored(WorkerId, trial.TrialId, "IOException: disk full"), worker.Ref);
            worker.FishForMessage(m => m is TrialOutcomeAcknowledged, Wait);
        }
        AwaitCondition(() => Status().Progress.Counts.Failed == 1, Wait);
        Assert.Equal(2, _journal.CountEvents("trial-failed"));
    }

    [Fact]
    public async Task A_trial_past_its_timeout_is_cancelled_on_its_worker_and_counted_as_failed()
    {
        var worker = await StartWithWorker(TestSweeps.TwoStages(firstStage: 2, timeout: TimeSpan.FromSeconds(1)));
        _node!.Proxy.Tell(new RequestTrials(WorkerId, 1, 0), worker.Ref);
        var trial = worker.ExpectMsg<AssignTrial>(Wait).Trial;

        var cancel = (CancelTrial)worker.FishForMessage(m => m is CancelTrial, Wait);
        Assert.Equal(trial.TrialId, cancel.TrialId);
        Assert.Contains("timed out", cancel.Reason);
        Assert.Equal(1, Status().Progress.Counts.Failed);

        // The late result of the cancelled run is ignored.
        _node.Proxy.Tell(new TrialFinished(WorkerId, trial.TrialId, Completed(0.7)), worker.Ref);
        worker.FishForMessage(m => m is TrialOutcomeAcknowledged, Wait);
        Assert.Equal(0, Status().Progress.Counts.Completed);
    }

    [Fact]
    public async Task An_assignment_the_worker_hands_back_is_queued_again()
    {
        var worker = await StartWithWorker(TestSweeps.TwoStages(firstStage: 1));
        _node!.Proxy.Tell(new RequestTrials(WorkerId, 1, 0), worker.Ref);
        var trial = worker.ExpectMsg<AssignTrial>(Wait).Trial;
        _node.Proxy.Tell(new TrialRejected(WorkerId, trial.TrialId), worker.Ref);
        AwaitCondition(() => Status().Progress.Counts.Pending == 1, Wait);
        _node.Proxy.Tell(new RequestTrials(WorkerId, 1, 1), worker.Ref);
        Assert.Equal(trial.TrialId, worker.ExpectMsg<AssignTrial>(Wait).Trial.TrialId);
    }

    [Fact]
    public async Task A_request_from_an_unknown_worker_asks_it_to_register()
    {
        await StartWithWorker(TestSweeps.TwoStages());
        var stranger = CreateTestProbe(_node!.System, "stranger");
        _node.Proxy.Tell(new RequestTrials("stranger", 1, 0), stranger.Ref);
        Assert.Equal("stranger", stranger.ExpectMsg<RegistrationRequired>(Wait).WorkerId);
    }

    [Fact]
    public async Task Recovers_from_snapshot_and_events_with_finished_trials_kept_and_running_ones_pending()
    {
        var spec = TestSweeps.TwoStages(firstStage: 60);
        var worker = await StartWithWorker(spec);
        // 60 dispatches + 40 completions + stage start > 50 events: at least one snapshot is taken.
        for (var i = 0; i < 60; i++)
        {
            _node!.Proxy.Tell(new RequestTrials(WorkerId, 1, i), worker.Ref);
            var trial = worker.ExpectMsg<AssignTrial>(Wait).Trial;
            if (i < 40)
            {
                _node.Proxy.Tell(new TrialFinished(WorkerId, trial.TrialId, Completed(0.01 * i)), worker.Ref);
                worker.FishForMessage(m => m is TrialOutcomeAcknowledged, Wait);
            }
        }
        AwaitCondition(() => Status().Progress.Counts.Completed == 40, Wait);
        await _node!.DisposeAsync();
        _node = null;

        Assert.True(_journal.CountSnapshots() >= 1);
        var state = await JournalReader.ReadStateAsync(_journal.Location, Wait);
        Assert.Equal(40, state.Counts.Completed);
        Assert.Equal(20, state.Counts.Running);

        _node = await CoordinatorNode.StartAsync(ClusterNodeOptions.Loopback(ClusterNodeConfig.CoordinatorRole), _journal.Location, null,
            new CoordinatorSettings(50, TimeSpan.FromMilliseconds(200)), TimeSpan.FromSeconds(20));
        AwaitCondition(() => Status().Progress.Counts is { Completed: 40, Pending: 20, Running: 0 }, Wait);
    }
}
