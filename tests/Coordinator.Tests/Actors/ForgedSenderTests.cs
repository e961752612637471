using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit;
using Sweep.Contract.Configuration;
using Sweep.Contract.Nodes;
using Sweep.Contract.Protocol;
using Sweep.Coordinator.Actors;
using Sweep.Coordinator.Nodes;
using Sweep.Coordinator.Tests.Support;
using Sweep.Search.Trials;
using Xunit.Abstractions;

namespace Sweep.Coordinator.Tests.Actors;

/// <summary>
/// Issue 9: a process that is not a cluster member sends a forged result for a running trial straight to the
/// coordinator's actor path. It must be refused; the real worker's result must still count.
/// </summary>
public sealed class ForgedSenderTests(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(output: output), IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private const string WorkerId = "probe-worker";
    private readonly TempJournal _journal = new();
    private CoordinatorNode? _node;
    private ActorSystem? _stranger;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_stranger is not null)
            await _stranger.Terminate();
        if (_node is not null)
            await _node.DisposeAsync();
        _journal.Dispose();
    }

    private SweepStatus Status() => _node!.Proxy.Ask<SweepStatus>(new GetSweepStatus(), Wait).Result;

    private static TrialResult Completed(double best) => new(TrialStatus.Completed, best, 1, [best], [best], 1.0, 0.5);

    [Fact]
    public async Task A_result_forged_by_a_non_member_is_refused_and_the_real_workers_result_counts()
    {
        _node = await CoordinatorNode.StartAsync(ClusterNodeOptions.Loopback(ClusterNodeConfig.CoordinatorRole), _journal.Location,
            TestSweeps.TwoStages(firstStage: 2), new CoordinatorSettings(50, TimeSpan.FromSeconds(5)), TimeSpan.FromSeconds(20));
        var worker = CreateTestProbe(_node.System, "worker");
        // As a worker does, register again until the coordinator answers: one that is still recovering its journal
        // (slow when the whole suite starts at once) or restarting drops what it is sent meanwhile.
        worker.AwaitAssert(() =>
        {
            _node.Proxy.Tell(new RegisterWorker(WorkerId, "nowhere", 1, "cpu"), worker.Ref);
            worker.ExpectMsg<WorkerRegistered>(TimeSpan.FromSeconds(3));
        }, TimeSpan.FromSeconds(45), TimeSpan.FromMilliseconds(100));
        _node.Proxy.Tell(new RequestTrials(WorkerId, 1, 0), worker.Ref);
        var trial = ((AssignTrial)worker.FishForMessage(m => m is AssignTrial, Wait)).Trial; // past a late second WorkerRegistered

        // A stranger: same system name and serializers, reachable over remoting, but never joined the cluster.
        _stranger = ActorSystem.Create(ClusterNodeConfig.SystemName, ConfigurationFactory.ParseString("akka.actor.provider = remote")
            .WithFallback(SweepConfig.Reference()));
        var strangerProbe = new TestProbe(_stranger, new Akka.TestKit.Xunit2.XunitAssertions());
        var coordinatorPath = $"{_node.Address}/user/{CoordinatorSingleton.ManagerName}/{CoordinatorSingleton.SingletonName}";
        var forged = new TrialFinished(WorkerId, trial.TrialId, Completed(0.99));
        _stranger.ActorSelection(coordinatorPath).Tell(forged, strangerProbe.Ref);
        _stranger.ActorSelection(coordinatorPath).Tell(new TrialEpochReport(WorkerId, trial.TrialId, 1, 0.1, 0.99, 0.99, 1), strangerProbe.Ref);
        // A registration from the stranger is refused too, so it cannot become a worker and then report.
        _stranger.ActorSelection(coordinatorPath).Tell(new RegisterWorker("stranger", "nowhere", 1, "cpu"), strangerProbe.Ref);

        strangerProbe.ExpectNoMsg(TimeSpan.FromSeconds(2));
        var status = Status();
        Assert.Equal(0, status.Progress.Counts.Completed);
        Assert.Equal(1, status.Progress.Counts.Running);
        Assert.Equal(1, status.Workers);
        Assert.Null(status.Progress.Best);
        Assert.Equal(0, _journal.CountEvents("trial-completed"));
        Assert.Equal(0, _journal.CountEvents("trial-epoch-reported"));

        // The real worker's result is still taken.
        _node.Proxy.Tell(new TrialFinished(WorkerId, trial.TrialId, Completed(0.42)), worker.Ref);
        worker.FishForMessage(m => m is TrialOutcomeAcknowledged, Wait);
        status = Status();
        Assert.Equal(1, status.Progress.Counts.Completed);
        Assert.Equal(0.42, status.Progress.Best!.BestValAcc, 6);
    }
}
