using Akka.Actor;
using Akka.TestKit;
using Sweep.Contract.Protocol;
using Sweep.Search.Spaces;
using Sweep.Search.Trials;
using Sweep.Worker.Actors;
using Sweep.Worker.Tests.Fakes;
using Sweep.Worker.Trials;
using Xunit.Abstractions;

namespace Sweep.Worker.Tests.Actors;

/// <summary>The worker node against a test probe playing the coordinator, with scripted (TorchSharp-free) trials.</summary>
public class WorkerNodeTests(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(output: output)
{
    private static readonly TimeSpan Retry = TimeSpan.FromMilliseconds(300);
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static TrialSpec Trial(string id, int epochs = 2) =>
        new(id, 1, TrialConfig.Empty, new TrialBudget(epochs, 100), 7);

    private (IActorRef Worker, TestProbe Coordinator) StartRegistered(ITrialRunner runner, int slots)
    {
        var coordinator = CreateTestProbe("coordinator");
        var settings = new WorkerNodeSettings("worker-a", "node-a",
            Enumerable.Range(0, slots).Select(i => new TrialSlot(i, "cpu", 1, Path.GetTempPath())).ToList(), Retry);
        var worker = Sys.ActorOf(WorkerNode.Props(settings, coordinator.Ref, runner));
        var register = coordinator.ExpectMsg<RegisterWorker>(Wait);
        Assert.Equal(slots, register.Slots);
        worker.Tell(new WorkerRegistered("worker-a", "test"), coordinator.Ref);
        var request = Fish<RequestTrials>(coordinator);
        Assert.Equal(slots, request.FreeSlots);
        Assert.Equal(0, request.AssignmentsReceived);
        return (worker, coordinator);
    }

    private static T Fish<T>(TestProbe probe, Func<T, bool>? predicate = null) =>
        (T)probe.FishForMessage(m => m is T t && (predicate is null || predicate(t)), Wait);

    [Fact]
    public void Runs_an_assigned_trial_off_the_actor_thread_and_reports_epochs_and_result_until_acknowledged()
    {
        var runner = new ScriptedTrialRunner(TrialScript.Train, TimeSpan.FromMilliseconds(50));
        var (worker, coordinator) = StartRegistered(runner, slots: 1);

        worker.Tell(new AssignTrial(Trial("s1-t0001", epochs: 3)), coordinator.Ref);

        var epochs = new List<int>();
        TrialFinished? finished = null;
        coordinator.FishForMessage(m =>
        {
            if (m is TrialEpochReport report) epochs.Add(report.Epoch);
            if (m is TrialFinished f) finished = f;
            return m is TrialFinished;
        }, Wait);
        Assert.Equal([1, 2, 3], epochs);
        Assert.Equal("s1-t0001", finished!.TrialId);
        Assert.Equal(TrialStatus.Completed, finished.Result.Status);
        Assert.Equal("worker-a", finished.Result.Worker);
        Assert.Equal(3, finished.Result.EpochsRun);

        // Not acknowledged: re-sent on the next retry tick; the slot is offered again meanwhile.
        Fish<RequestTrials>(coordinator, r => r.FreeSlots == 1 && r.AssignmentsReceived == 1);
        Fish<TrialFinished>(coordinator, f => f.TrialId == "s1-t0001");
        worker.Tell(new TrialOutcomeAcknowledged("s1-t0001"), coordinator.Ref);
        coordinator.ReceiveWhile(TimeSpan.FromMilliseconds(400), m => m, msgs: int.MaxValue); // a re-send already under way
        var seenAfterAck = coordinator.ReceiveWhile(TimeSpan.FromMilliseconds(1200), m => m, msgs: int.MaxValue);
        Assert.Contains(seenAfterAck, m => m is RequestTrials);
        Assert.DoesNotContain(seenAfterAck, m => m is TrialFinished);
    }

    [Fact]
    public void A_cancel_reaches_a_trial_while_it_trains_and_the_slot_is_offered_only_after_it_returned()
    {
        var runner = new ScriptedTrialRunner(TrialScript.BlockUntilCancelled, TimeSpan.Zero);
        var (worker, coordinator) = StartRegistered(runner, slots: 1);
        worker.Tell(new AssignTrial(Trial("s1-t0002")), coordinator.Ref);
        AwaitCondition(() => runner.Started.Count == 1, Wait);

        // The trial's thread is blocked, yet the node keeps answering: it asks for nothing (slot busy)...
        Fish<RequestTrials>(coordinator, r => r.FreeSlots == 0);
        worker.Tell(new CancelTrial("s1-t0002", "timed out"), coordinator.Ref);

        var finished = Fish<TrialFinished>(coordinator);
        Assert.Equal(TrialStatus.Cancelled, finished.Result.Status);
        Fish<RequestTrials>(coordinator, r => r.FreeSlots == 1);
    }

    [Fact]
    public void Never_runs_more_trials_than_slots_and_hands_back_an_extra_assignment()
    {
        var runner = new ScriptedTrialRunner(TrialScript.BlockUntilCancelled, TimeSpan.Zero);
        var (worker, coordinator) = StartRegistered(runner, slots: 2);
        worker.Tell(new AssignTrial(Trial("s1-t0001")), coordinator.Ref);
        worker.Tell(new AssignTrial(Trial("s1-t0002")), coordinator.Ref);
        worker.Tell(new AssignTrial(Trial("s1-t0003")), coordinator.Ref);

        var rejected = Fish<TrialRejected>(coordinator);
        Assert.Equal("s1-t0003", rejected.TrialId);
        AwaitCondition(() => runner.Started.Count == 2, Wait);
        Assert.Equal(2, runner.MaxConcurrent);
        Assert.Equal(2, runner.Threads.Distinct().Count());

        worker.Tell(new CancelTrial("s1-t0001", "test over"), coordinator.Ref);
        worker.Tell(new CancelTrial("s1-t0002", "test over"), coordinator.Ref);
        Fish<RequestTrials>(coordinator, r => r.FreeSlots == 2);
    }

    [Fact]
    public void A_trial_that_throws_is_reported_as_errored_with_its_reason()
    {
        var runner = new ScriptedTrialRunner(TrialScript.Throw, TimeSpan.Zero);
        var (worker, coordinator) = StartRegistered(runner, slots: 1);
        worker.Tell(new AssignTrial(Trial("s1-t0005")), coordinator.Ref);

        var errored = Fish<TrialErrored>(coordinator);
        Assert.Equal("s1-t0005", errored.TrialId);
        Assert.Contains("scripted failure", errored.Reason);
    }

    [Fact]
    public void Registers_again_when_the_coordinator_it_registered_with_stops()
    {
        var runner = new ScriptedTrialRunner(TrialScript.Train, TimeSpan.FromMilliseconds(10));
        var proxy = CreateTestProbe("proxy");
        var first = CreateTestProbe("first-coordinator");
        var settings = new WorkerNodeSettings("worker-b", "node-b", [new TrialSlot(0, "cpu", 1, Path.GetTempPath())], TimeSpan.FromSeconds(30));
        var worker = Sys.ActorOf(WorkerNode.Props(settings, proxy.Ref, runner));
        proxy.ExpectMsg<RegisterWorker>(Wait);
        worker.Tell(new WorkerRegistered("worker-b", "test"), first.Ref);
        Fish<RequestTrials>(proxy);

        Sys.Stop(first.Ref);

        var again = Fish<RegisterWorker>(proxy);
        Assert.Equal("worker-b", again.WorkerId);
    }

    [Fact]
    public void Registers_again_when_the_coordinator_does_not_know_it()
    {
        var runner = new ScriptedTrialRunner(TrialScript.Train, TimeSpan.FromMilliseconds(10));
        var (worker, coordinator) = StartRegistered(runner, slots: 1);
        worker.Tell(new RegistrationRequired("worker-a"), coordinator.Ref);
        Fish<RegisterWorker>(coordinator);
    }
}
