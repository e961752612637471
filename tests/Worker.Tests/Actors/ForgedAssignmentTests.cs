using Akka.Actor;
using Akka.Cluster;
using Akka.Configuration;
using Akka.TestKit;
using Sweep.Contract.Configuration;
using Sweep.Contract.Nodes;
using Sweep.Contract.Protocol;
using Sweep.Search.Spaces;
using Sweep.Search.Trials;
using Sweep.Worker.Actors;
using Sweep.TestSupport;
using Sweep.Worker.Trials;
using Xunit.Abstractions;

namespace Sweep.Worker.Tests.Actors;

/// <summary>
/// Issue 9: a process that is not a cluster member sent AssignTrial to a worker with a path as its trial id, and the
/// worker trained it and wrote files there. A worker takes assignments only from the coordinator's node, and only
/// with a valid trial id.
/// </summary>
public sealed class ForgedAssignmentTests(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(NodeConfig(), output: output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    // One node playing both roles: the test probe stands for the coordinator on a real cluster member.
    private static Config NodeConfig() =>
        ConfigurationFactory.ParseString($"akka.cluster.roles = [{ClusterNodeConfig.WorkerRole}, {ClusterNodeConfig.CoordinatorRole}]")
            .WithFallback(ClusterNodeConfig.Build(ClusterNodeOptions.Loopback(ClusterNodeConfig.WorkerRole)));

    private static TrialSpec Trial(string id) => new(id, 1, TrialConfig.Empty, new TrialBudget(1, 100), 7);

    private (IActorRef Worker, TestProbe Coordinator) StartRegistered(ScriptedTrialRunner runner, string checkpoints)
    {
        var cluster = Cluster.Get(Sys);
        cluster.Join(cluster.SelfAddress);
        AwaitCondition(() => cluster.SelfMember.Status == MemberStatus.Up, Wait);
        var coordinator = CreateTestProbe("coordinator");
        var settings = new WorkerNodeSettings("worker-a", cluster.SelfAddress.ToString(), [new TrialSlot(0, "cpu", 1, checkpoints)], TimeSpan.FromSeconds(30));
        var worker = Sys.ActorOf(WorkerNode.Props(settings, coordinator.Ref, runner), "worker");
        coordinator.ExpectMsg<RegisterWorker>(Wait);
        worker.Tell(new WorkerRegistered("worker-a", "test"), coordinator.Ref);
        coordinator.FishForMessage(m => m is RequestTrials, Wait);
        return (worker, coordinator);
    }

    [Fact]
    public void Assignments_from_a_non_member_or_with_an_unsafe_trial_id_are_refused()
    {
        var checkpoints = Directory.CreateTempSubdirectory("sweep-forged-").FullName;
        try
        {
            var runner = new ScriptedTrialRunner(TrialScript.Train, TimeSpan.FromMilliseconds(20));
            var (worker, coordinator) = StartRegistered(runner, checkpoints);

            using var stranger = ActorSystem.Create(ClusterNodeConfig.SystemName,
                ConfigurationFactory.ParseString("akka.actor.provider = remote").WithFallback(SweepConfig.Reference()));
            var strangerProbe = new TestProbe(stranger, new Akka.TestKit.Xunit2.XunitAssertions());
            var workerPath = $"{Cluster.Get(Sys).SelfAddress}/user/worker";
            stranger.ActorSelection(workerPath).Tell(new AssignTrial(Trial("s1-t0001")), strangerProbe.Ref);
            stranger.ActorSelection(workerPath).Tell(new WorkerRegistered("worker-a", "forged"), strangerProbe.Ref);
            // An unsafe id from the coordinator itself (a bug, or a forged journal) is refused as well.
            var outside = Path.Combine(Path.GetTempPath(), $"sweep-outside-{Guid.NewGuid():N}");
            worker.Tell(new AssignTrial(Trial(outside)), coordinator.Ref);
            worker.Tell(new AssignTrial(Trial("../escape")), coordinator.Ref);

            strangerProbe.ExpectNoMsg(TimeSpan.FromSeconds(2));
            Assert.Empty(runner.Started);
            Assert.False(Directory.Exists(outside));

            // The coordinator's own assignment still runs.
            worker.Tell(new AssignTrial(Trial("s1-t0002")), coordinator.Ref);
            var finished = (TrialFinished)coordinator.FishForMessage(m => m is TrialFinished, Wait);
            Assert.Equal("s1-t0002", finished.TrialId);
            Assert.Equal(["s1-t0002"], runner.Started);
        }
        finally
        {
            Directory.Delete(checkpoints, recursive: true);
        }
    }
}
