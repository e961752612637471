using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Akka.Persistence;
using Sweep.Contract.Nodes;
using Sweep.Contract.Protocol;
using Sweep.Coordinator.Persistence;
using Sweep.Search.Engine;
using Sweep.Search.Specs;
using Sweep.Search.Trials;

namespace Sweep.Coordinator.Actors;

/// <summary>
/// Drives one sweep as the cluster's single coordinator: asks the search library's <see cref="SweepEngine"/>
/// what to do, persists the events it returns before acting on them (assigning trials to workers that pulled
/// for them, cancelling timed-out runs), re-queues the trials of workers that become unreachable or leave,
/// acknowledges results (ignoring late and duplicate ones) and answers status queries. A failed journal write or
/// recovery stops it (its <see cref="CoordinatorSupervisor"/> starts it again), and every write's outcome is reported
/// to that supervisor.
/// </summary>
public sealed partial class SweepCoordinator : ReceivePersistentActor, IWithTimers
{
    private readonly SweepSpec? _startSpec;
    private readonly CoordinatorSettings _settings;
    private readonly CoordinatorRestartSettings? _restart;
    private readonly IActorRef? _health;
    private readonly SweepEngine _engine = new();
    private readonly WorkerRegistry _workers = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();
    // _state: every event handed to the journal, used for decisions; _persisted: every event stored, for snapshots.
    private SweepState _state = SweepState.Empty;
    private SweepState _persisted = SweepState.Empty;
    private int _eventsSinceSnapshot;

    // Events applied to _state but not yet handed to the journal, and the actions waiting for them, in order. They are
    // written together when FlushWrites, sent to self behind every message queued at the time, comes round: the
    // messages that arrive while one write is in flight are handled in one go afterwards, and their events then go to
    // the journal in one transaction rather than one each, since every transaction is a synced disk write
    // (bench/Sweep.Throughput.Bench). Each action still runs only once its events are stored.
    private readonly List<ISweepEvent> _unwritten = [];
    private readonly List<Action> _afterWrite = [];

    /// <param name="startSpec">The sweep to start when the journal is empty; null to only resume.</param>
    /// <param name="checkpoints">Where trial checkpoints are stored; null: no checkpoints, every run starts at epoch 0.</param>
    /// <param name="restart">How in-flight trials are kept across a restart; null re-queues them all at once.</param>
    /// <param name="health">Told of every journal write's outcome (the supervisor); null for none.</param>
    public SweepCoordinator(SweepSpec? startSpec, CoordinatorSettings settings, CheckpointStore? checkpoints = null,
        CoordinatorRestartSettings? restart = null, IActorRef? health = null)
    {
        _startSpec = startSpec;
        _settings = settings;
        _checkpoints = checkpoints;
        _restart = restart;
        _health = health;
        ReceiveCheckpointTransfers();

        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is CoordinatorSnapshot snapshot)
                _state = _persisted = snapshot.State;
        });
        Recover<ISweepEvent>(e => _state = _persisted = _state.Apply(e));
        Recover<RecoveryCompleted>(_ => OnRecovered());

        Command<RegisterWorker>(OnRegister);
        Command<RequestTrials>(OnRequest);
        Command<TrialEpochReport>(OnEpoch);
        Command<FlushWrites>(_ => Flush());
        Command<TrialFinished>(OnFinished);
        Command<TrialErrored>(OnErrored);
        Command<TrialRejected>(OnRejected);
        // What is stored, not what is decided: a client told the sweep is complete may stop this node at once.
        Command<GetSweepStatus>(_ => Sender.Tell(new SweepStatus(_persisted.Progress(DateTimeOffset.UtcNow), _workers.Count, _workers.TotalSlots)));
        Command<Terminated>(t =>
        {
            if (_workers.FindByActor(t.ActorRef) is { } worker)
                LoseWorker(worker, "its actor stopped");
        });
        Command<ClusterEvent.UnreachableMember>(m => LoseNode(m.Member.Address, "unreachable"));
        Command<ClusterEvent.MemberRemoved>(m => LoseNode(m.Member.Address, "removed from the cluster"));
        Command<ClusterEvent.IMemberEvent>(_ => { });
        Command<ClusterEvent.ReachableMember>(_ => { });
        Command<CheckTimeouts>(_ => OnCheckTimeouts());
        Command<ReclaimInFlight>(_ => OnReclaimInFlight());
        Command<SaveSnapshotSuccess>(success =>
        {
            _health?.Tell(JournalWriteSucceeded.Instance);
            DeleteSnapshots(new SnapshotSelectionCriteria(success.Metadata.SequenceNr - 1));
        });
        Command<SaveSnapshotFailure>(failure =>
        {
            _health?.Tell(new JournalWriteFailed(FirstLine(failure.Cause)));
            _log.Warning("snapshot failed, recovery will replay more events: {0}", failure.Cause.Message);
        });
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(_ => { });
    }

    public override string PersistenceId => JournalLocation.PersistenceId;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(SweepSpec? startSpec, CoordinatorSettings settings, CheckpointStore? checkpoints = null,
        CoordinatorRestartSettings? restart = null, IActorRef? health = null) =>
        Akka.Actor.Props.Create(() => new SweepCoordinator(startSpec, settings, checkpoints, restart, health));

    private sealed record CheckTimeouts
    {
        public static readonly CheckTimeouts Instance = new();
    }

    private sealed record ReclaimInFlight
    {
        public static readonly ReclaimInFlight Instance = new();
    }

    private sealed record FlushWrites
    {
        public static readonly FlushWrites Instance = new();
    }

    protected override void PreStart()
    {
        Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
            typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent));
        Timers.StartPeriodicTimer("timeouts", CheckTimeouts.Instance, _settings.TimeoutCheckInterval);
        StartCheckpointHousekeeping();
        base.PreStart();
    }

    protected override void PostStop()
    {
        Cluster.Get(Context.System).Unsubscribe(Self);
        base.PostStop();
    }

    private void OnRecovered()
    {
        if (!_state.IsStarted)
        {
            if (_startSpec is null)
            {
                _log.Error("the journal holds no sweep and no spec was given; nothing to coordinate");
                return;
            }
            _log.Info("starting sweep '{0}' (seed {1})", _startSpec.Name, _startSpec.Seed);
            PersistThen(_engine.Start(_startSpec), DispatchToAll);
            return;
        }
        if (_startSpec is not null && !SweepIdentity.Same(_startSpec, _state.Spec!))
            _log.Warning("the journal holds sweep '{0}', not the given spec '{1}'; continuing the journal's sweep", _state.Spec!.Name, _startSpec.Name);
        _log.Info("resuming sweep '{0}': {1}", _state.Spec!.Name, _state.Counts);
        // A write right away, so that the supervisor learns at once whether the journal takes writes again.
        SaveSnapshot(new CoordinatorSnapshot(_persisted));
        var kept = InFlightOnLiveWorkers();
        if (kept.Count > 0)
        {
            _log.Info("keeping {0} in-flight trial(s) of workers still in the cluster for {1} s", kept.Count, _restart!.InFlightGrace.TotalSeconds);
            Timers.StartSingleTimer("reclaim", ReclaimInFlight.Instance, _restart.InFlightGrace);
        }
        PersistThen([.. _engine.Recover(_state).Where(e => e is not TrialRequeued requeued || !kept.Contains(requeued.TrialId))], DispatchToAll);
    }

    /// <summary>
    /// The running trials (as the journal has them) whose worker's node is still an up, reachable member: after a
    /// restart (a journal outage) their workers are most likely still running them, or hold their results, which
    /// they re-send once they have registered again. Empty without restart settings.
    /// </summary>
    private HashSet<string> InFlightOnLiveWorkers()
    {
        if (_restart is null)
            return [];
        var cluster = Cluster.Get(Context.System).State;
        var live = cluster.Members
            .Where(m => m.Status == MemberStatus.Up && !cluster.Unreachable.Contains(m))
            .Select(m => m.Address)
            .ToHashSet();
        return _state.RunningTrials
            .Where(t => t.Worker is { } worker && ActorPath.TryParse(worker, out var path) && live.Contains(path!.Address))
            .Select(t => t.TrialId)
            .ToHashSet();
    }

    /// <summary>The grace after a restart is over: the trials of workers that did not register again are re-queued.</summary>
    private void OnReclaimInFlight()
    {
        foreach (var worker in _state.RunningByWorker.Keys.Where(w => _workers.Find(w) is null).ToList())
        {
            var events = _engine.WorkerLost(_state, worker);
            _log.Warning("worker {0} did not register again after the restart; re-queueing {1} trial(s)", worker, events.Count);
            PersistThen(events, DispatchToAll);
        }
    }

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        // Akka stops the coordinator after this; the supervisor starts it again from the journal.
        _health?.Tell(new JournalWriteFailed(FirstLine(cause)));
        _log.Warning("journal write of event {0} failed, restarting from the journal: {1}", sequenceNr, FirstLine(cause));
    }

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        // The decision state already holds the rejected event: only a restart from the journal makes the two agree again.
        _health?.Tell(new JournalWriteFailed(FirstLine(cause)));
        _log.Warning("journal rejected event {0}, restarting from the journal: {1}", sequenceNr, FirstLine(cause));
        Context.Stop(Self);
    }

    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        // Akka stops the coordinator after this; the supervisor starts it again.
        _health?.Tell(new JournalWriteFailed(FirstLine(reason)));
        _log.Warning("journal recovery failed, retrying: {0}", FirstLine(reason));
    }

    private static string FirstLine(Exception e)
    {
        var message = e.GetBaseException().Message;
        return message.Split('\n', 2)[0].Trim();
    }

    private void OnRegister(RegisterWorker register)
    {
        if (!SenderNodes.IsMember(Context.System, Sender, role: null))
        {
            _log.Warning("registration of {0} from {1} refused: the sender is not a member of this cluster", TrialIds.Describe(register.WorkerId), Sender.Path);
            return;
        }
        if (_workers.Find(register.WorkerId) is { } previous && !previous.Actor.Equals(Sender))
            Context.Unwatch(previous.Actor);
        _workers.Register(register.WorkerId, Sender, SenderNodes.NodeOf(Context.System, Sender).ToString(), register.Slots);
        Context.Watch(Sender);
        _log.Info("worker {0} registered with {1} slot(s) on {2}", register.WorkerId, register.Slots, register.Device);
        Sender.Tell(new WorkerRegistered(register.WorkerId, _state.Spec?.Name ?? _startSpec?.Name ?? ""));
    }

    private void OnRequest(RequestTrials request)
    {
        if (_workers.Find(request.WorkerId) is not { } worker)
        {
            Sender.Tell(new RegistrationRequired(request.WorkerId));
            return;
        }
        _workers.UpdateDemand(worker, request.FreeSlots, request.AssignmentsReceived);
        DispatchTo(worker);
    }

    private void OnEpoch(TrialEpochReport report)
    {
        if (!FromAssignedWorker(report.WorkerId, report.TrialId, "epoch report"))
            return;
        var events = _engine.ReportEpoch(_state, report.TrialId, report.WorkerId, report.Epoch, report.Loss, report.TrainAcc, report.ValAcc);
        if (events.Count == 0)
            return;
        PersistThen(events, () => { });
        PruneIfDue(report.TrialId, report.WorkerId);
    }

    /// <summary>
    /// Asks the engine whether the spec's pruning rule stops the trial after the epoch just reported; the decision is
    /// journaled first, then the run is cancelled on its worker (whose cancelled result is then acknowledged and dropped,
    /// since the trial is already terminal).
    /// </summary>
    private void PruneIfDue(string trialId, string workerId)
    {
        var events = _engine.Prune(_state, trialId, DateTimeOffset.UtcNow);
        if (events.Count == 0 || events[0] is not TrialPruned pruned)
            return;
        PersistThen(events, () =>
        {
            _log.Info("trial {0} pruned: {1}; cancelling it on {2}", trialId, pruned.Reason, workerId);
            _workers.Find(workerId)?.Actor.Tell(new CancelTrial(trialId, "pruned: " + pruned.Reason));
            DispatchToAll();
        });
    }

    private void OnFinished(TrialFinished finished)
    {
        var trialId = finished.TrialId;
        if (!FromRegisteredWorker(finished.WorkerId, trialId, "result"))
            return;
        var before = _state.FindTrial(trialId);
        // Only the run the trial is assigned to counts: a late result of a run that was re-queued (its worker was
        // partitioned or looked lost) is acknowledged and dropped, so every trial completes exactly once.
        var events = before is { Status: TrialStatus.Running } && before.Worker == finished.WorkerId
            ? _engine.Complete(_state, trialId, finished.Result with { Worker = finished.WorkerId }, DateTimeOffset.UtcNow)
            : [];
        var replyTo = Sender;
        if (events.Count == 0)
        {
            _log.Info("result of trial {0} from {1} ignored: {2}", trialId, finished.WorkerId, IgnoredBecause(before));
            replyTo.Tell(new TrialOutcomeAcknowledged(trialId));
            return;
        }
        foreach (var e in events)
            LogRungDecision(e);
        PersistThen(events, () =>
        {
            replyTo.Tell(new TrialOutcomeAcknowledged(trialId));
            DispatchToAll();
        });
    }

    // A trial's outcome (a result, or a failure for good that closes a rung) can make rung decisions due.
    private void LogRungDecision(ISweepEvent e)
    {
        switch (e)
        {
            case TrialPaused paused:
                _log.Info("trial {0} paused at its rung after epoch {1}", paused.TrialId, paused.Epoch);
                break;
            case TrialPromoted promoted:
                _log.Info("trial {0} promoted past rung {1}: {2}", promoted.TrialId, promoted.Rung, promoted.Reason);
                break;
            case TrialPruned pruned:
                _log.Info("trial {0} pruned: {1}", pruned.TrialId, pruned.Reason);
                break;
        }
    }

    private void OnErrored(TrialErrored errored)
    {
        if (!FromRegisteredWorker(errored.WorkerId, errored.TrialId, "failure report"))
            return;
        var replyTo = Sender;
        var events = _engine.Fail(_state, errored.TrialId, errored.Reason, errored.WorkerId, DateTimeOffset.UtcNow, final: errored.Final);
        if (events.Count == 0)
        {
            _log.Info("failure of trial {0} from {1} ignored: {2}", errored.TrialId, errored.WorkerId, IgnoredBecause(_state.FindTrial(errored.TrialId)));
            replyTo.Tell(new TrialOutcomeAcknowledged(errored.TrialId));
            return;
        }
        _log.Warning("trial {0} failed on {1}: {2}", errored.TrialId, errored.WorkerId, errored.Reason);
        foreach (var e in events)
            LogRungDecision(e);
        PersistThen(events, () =>
        {
            replyTo.Tell(new TrialOutcomeAcknowledged(errored.TrialId));
            DispatchToAll();
        });
    }

    private void OnRejected(TrialRejected rejected)
    {
        if (!FromRegisteredWorker(rejected.WorkerId, rejected.TrialId, "hand-back"))
            return;
        if (_state.FindTrial(rejected.TrialId) is not { Status: TrialStatus.Running } trial || trial.Worker != rejected.WorkerId)
            return;
        PersistThen([new TrialRequeued(rejected.TrialId, $"worker {rejected.WorkerId} had no free slot")], DispatchToAll);
    }

    private void OnCheckTimeouts()
    {
        var before = _state;
        var events = _engine.TimedOut(_state, DateTimeOffset.UtcNow);
        if (events.Count == 0)
            return;
        foreach (var e in events)
            LogRungDecision(e);
        PersistThen(events, () =>
        {
            foreach (var failed in events.OfType<TrialFailed>())
            {
                _log.Warning("trial {0} {1}; cancelling it", failed.TrialId, failed.Reason);
                if (before.FindTrial(failed.TrialId)?.Worker is { } worker)
                    _workers.Find(worker)?.Actor.Tell(new CancelTrial(failed.TrialId, failed.Reason));
            }
            DispatchToAll();
        });
    }

    private void LoseNode(Address address, string why)
    {
        var node = address.ToString();
        foreach (var worker in _workers.OnNode(node))
            LoseWorker(worker, $"its node {node} is {why}");
    }

    private void LoseWorker(WorkerRegistry.Entry worker, string why)
    {
        _workers.Remove(worker.WorkerId);
        Context.Unwatch(worker.Actor);
        var events = _engine.WorkerLost(_state, worker.WorkerId);
        _log.Warning("worker {0} lost ({1}); re-queueing {2} trial(s)", worker.WorkerId, why, events.Count);
        PersistThen(events, DispatchToAll);
    }

    private void DispatchToAll()
    {
        foreach (var worker in _workers.WithDemand())
            DispatchTo(worker);
    }

    private void DispatchTo(WorkerRegistry.Entry worker)
    {
        if (worker.Demand <= 0 || (_state.Pending.Count == 0 && !_state.StagesToPlan.Any()))
            return;
        var events = _engine.Dispatch(_state, worker.WorkerId, worker.Demand, DateTimeOffset.UtcNow);
        var assigned = events.OfType<TrialDispatched>().Count();
        if (assigned == 0)
            return;
        _workers.Assigned(worker, assigned);
        PersistThen(events, () =>
        {
            foreach (var dispatched in events.OfType<TrialDispatched>())
                Assign(worker, dispatched);
        });
    }

    /// <summary>
    /// Applies the events to the decision state at once (so that the next decision, even one made before the
    /// write completes, sees them), persists them with the other events of the messages handled meanwhile, and runs
    /// <paramref name="then"/> (the actions: sends) only once all are stored, after the actions queued before it.
    /// <see cref="_persisted"/> trails behind and is what snapshots and status replies hold.
    /// </summary>
    private void PersistThen(IReadOnlyList<ISweepEvent> events, Action then)
    {
        if (events.Count == 0 && _afterWrite.Count == 0)
        {
            then();
            return;
        }
        foreach (var e in events)
            _state = _state.Apply(e);
        if (_afterWrite.Count == 0)
            Self.Tell(FlushWrites.Instance);
        _unwritten.AddRange(events);
        _afterWrite.Add(then);
    }

    private void Flush()
    {
        if (_afterWrite.Count == 0)
            return;
        var batch = _unwritten.ToList();
        var actions = _afterWrite.ToList();
        _unwritten.Clear();
        _afterWrite.Clear();
        if (batch.Count == 0)
        {
            actions.ForEach(action => action());
            return;
        }
        var remaining = batch.Count;
        PersistAll(batch, e =>
        {
            _persisted = _persisted.Apply(e);
            if (++_eventsSinceSnapshot >= _settings.SnapshotEvery)
            {
                _eventsSinceSnapshot = 0;
                SaveSnapshot(new CoordinatorSnapshot(_persisted));
            }
            if (--remaining == 0)
            {
                _health?.Tell(JournalWriteSucceeded.Instance);
                actions.ForEach(action => action());
            }
        });
    }

    /// <summary>
    /// A trial message is acted on only when it comes from the node of the registered worker it names; anything
    /// else (a stranger using a worker's id, an id no worker registered) is logged and dropped. A member that is
    /// not registered (the coordinator restarted) is asked to register again.
    /// </summary>
    private bool FromRegisteredWorker(string workerId, string trialId, string what)
    {
        if (_workers.Find(workerId) is not { } worker)
        {
            _log.Warning("{0} for trial {1} from unregistered worker {2} ({3}) ignored", what, trialId, TrialIds.Describe(workerId), Sender.Path);
            if (SenderNodes.IsMember(Context.System, Sender, role: null))
                Sender.Tell(new RegistrationRequired(workerId));
            return false;
        }
        if (SenderNodes.NodeOf(Context.System, Sender).ToString() != worker.NodeAddress)
        {
            _log.Warning("{0} for trial {1} refused: it names worker {2} of {3} but came from {4}", what, trialId, workerId, worker.NodeAddress, Sender.Path);
            return false;
        }
        return true;
    }

    /// <summary>As <see cref="FromRegisteredWorker"/>, and the trial must currently run on that worker.</summary>
    private bool FromAssignedWorker(string workerId, string trialId, string what) =>
        FromRegisteredWorker(workerId, trialId, what) && _state.FindTrial(trialId)?.Worker == workerId;

    private static string IgnoredBecause(TrialState? trial) => trial switch
    {
        null => "no such trial",
        { IsTerminal: true } => $"the trial is already {trial.Status.ToWireName()} (duplicate or late)",
        { Attempts: 0 } => "the trial was never dispatched",
        _ => $"the trial is {trial.Status.ToWireName()} on {trial.Worker ?? "no worker"}",
    };
}
