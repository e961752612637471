using Akka.Actor;
using Akka.Event;
using Sweep.Contract.Nodes;
using Sweep.Contract.Protocol;
using Sweep.Worker.Trials;

namespace Sweep.Worker.Actors;

/// <summary>What a worker node offers: its id, its address, its slots and how often it retries.</summary>
public sealed record WorkerNodeSettings(string WorkerId, string NodeAddress, IReadOnlyList<TrialSlot> Slots, TimeSpan RetryInterval)
{
    public string Device => string.Join(",", Slots.Select(s => s.Device).Distinct());
}

/// <summary>
/// Owns this process's trial slots and its conversation with the coordinator: registers through the
/// singleton proxy (again whenever the coordinator moves or restarts), pulls exactly one trial per free
/// slot, runs each trial in a <see cref="TrialExecution"/> child, forwards epoch reports, and re-sends
/// every trial outcome until the coordinator acknowledges it.
/// </summary>
public sealed partial class WorkerNode : ReceiveActor, IWithTimers
{
    private readonly WorkerNodeSettings _settings;
    private readonly IActorRef _coordinator;
    private readonly ITrialRunner _runner;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly string?[] _slotTrial;
    private readonly Dictionary<string, IActorRef> _executions = new();
    private readonly Dictionary<string, ISweepWire> _unacknowledged = new();
    // A finished trial's outcome waits here while its last checkpoint is still uploading, so that the coordinator holds
    // the final checkpoint (the trial's best weights, for export and test) by the time it learns the trial finished:
    // once a trial is finished the coordinator drops its transfers. The slot is free meanwhile. Released when the
    // upload ends, or after FinalCheckpointWaitRetries retry intervals whatever happens to it.
    private readonly Dictionary<string, (ISweepWire Outcome, DateTime Deadline)> _heldOutcomes = new();
    private const int FinalCheckpointWaitRetries = 20;
    private IActorRef? _registeredWith;
    private long _assignmentsReceived;
    private long _executionsStarted;

    public WorkerNode(WorkerNodeSettings settings, IActorRef coordinatorProxy, ITrialRunner runner)
    {
        _settings = settings;
        _coordinator = coordinatorProxy;
        _runner = runner;
        _slotTrial = new string?[settings.Slots.Count];

        // Only the coordinator's node may register, assign, cancel or acknowledge; anything else is logged and dropped.
        Receive<ISweepWire>(message => !FromCoordinator(message), _ => { });
        Receive<WorkerRegistered>(OnRegistered);
        Receive<RegistrationRequired>(_ => Unregister("the coordinator does not know this worker"));
        Receive<Terminated>(t => t.ActorRef.Equals(_registeredWith), _ => Unregister("the coordinator stopped or moved"));
        Receive<AssignTrial>(OnAssigned);
        Receive<CancelTrial>(cancel =>
        {
            if (_executions.TryGetValue(cancel.TrialId, out var execution))
                execution.Forward(cancel);
            else if (CancelDownload(cancel))
                _log.Info("trial {0} cancelled while its checkpoint was arriving: {1}", cancel.TrialId, cancel.Reason);
            else
                _log.Info("cancel for trial {0} ignored: it is not running here", cancel.TrialId);
        });
        Receive<TrialProgressed>(p =>
        {
            _coordinator.Tell(new TrialEpochReport(
                _settings.WorkerId, p.TrialId, p.Progress.Epoch, p.Progress.Loss, p.Progress.TrainAcc, p.Progress.ValAcc, p.Progress.Seconds));
            if (p.Progress.CheckpointPath is { } checkpoint)
                QueueUpload(p.TrialId, p.Progress.Epoch, checkpoint);
        });
        Receive<TrialExecutionEnded>(OnExecutionEnded);
        Receive<TrialOutcomeAcknowledged>(ack => _unacknowledged.Remove(ack.TrialId));
        Receive<RetryTick>(_ => OnRetryTick());
        ReceiveCheckpointTransfers();
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(WorkerNodeSettings settings, IActorRef coordinatorProxy, ITrialRunner runner) =>
        Akka.Actor.Props.Create(() => new WorkerNode(settings, coordinatorProxy, runner));

    private bool FromCoordinator(ISweepWire message)
    {
        if (SenderNodes.IsMember(Context.System, Sender, ClusterNodeConfig.CoordinatorRole))
            return true;
        _log.Warning("{0} from {1} refused: it does not come from the coordinator's node", message.GetType().Name, Sender.Path);
        return false;
    }

    private int FreeSlots => _slotTrial.Count(t => t is null);

    protected override void PreStart()
    {
        Register();
        Timers.StartPeriodicTimer("retry", RetryTick.Instance, _settings.RetryInterval);
    }

    private void Register() =>
        _coordinator.Tell(new RegisterWorker(_settings.WorkerId, _settings.NodeAddress, _settings.Slots.Count, _settings.Device));

    private void OnRegistered(WorkerRegistered registered)
    {
        if (_registeredWith is not null && !_registeredWith.Equals(Sender))
            Context.Unwatch(_registeredWith);
        _registeredWith = Sender;
        Context.Watch(Sender);
        _assignmentsReceived = 0;
        _log.Info("registered with the coordinator of sweep '{0}' ({1} slots)", registered.SweepName, _slotTrial.Length);
        AskForTrials();
        ResendOutcomes();
    }

    private void Unregister(string why)
    {
        if (_registeredWith is null)
            return;
        _log.Warning("registering again: {0}", why);
        Context.Unwatch(_registeredWith);
        _registeredWith = null;
        Register();
    }

    private void OnAssigned(AssignTrial assignment)
    {
        _assignmentsReceived++;
        var trialId = assignment.Trial.TrialId;
        if (!TrialIds.IsValid(trialId))
        {
            _log.Warning("assignment of trial {0} refused: not a valid trial id", TrialIds.Describe(trialId));
            return;
        }
        if (_executions.ContainsKey(trialId) || _downloads.ContainsKey(trialId))
        {
            _log.Info("trial {0} is already running here; duplicate assignment ignored", trialId);
            return;
        }
        var slotIndex = Array.IndexOf(_slotTrial, null);
        if (slotIndex < 0)
        {
            _log.Warning("trial {0} assigned with no free slot; handing it back", trialId);
            Sender.Tell(new TrialRejected(_settings.WorkerId, trialId));
            return;
        }
        _slotTrial[slotIndex] = trialId;
        StartOrFetch(assignment, slotIndex);
    }

    private void OnExecutionEnded(TrialExecutionEnded ended)
    {
        _executions.Remove(ended.TrialId);
        ForgetResumeFile(ended.TrialId);
        _slotTrial[ended.SlotIndex] = null;
        if (IsUploading(ended.TrialId))
            _heldOutcomes[ended.TrialId] = (ended.Outcome, DateTime.UtcNow + FinalCheckpointWaitRetries * _settings.RetryInterval);
        else
            SendOutcome(ended.TrialId, ended.Outcome);
        AskForTrials();
    }

    private void SendOutcome(string trialId, ISweepWire outcome)
    {
        _unacknowledged[trialId] = outcome;
        _coordinator.Tell(outcome);
    }

    /// <summary>Sends a held outcome once its trial's uploads are over (<paramref name="force"/>: now, whatever they are doing).</summary>
    private void ReleaseHeldOutcome(string trialId, bool force)
    {
        if ((force || !IsUploading(trialId)) && _heldOutcomes.Remove(trialId, out var held))
            SendOutcome(trialId, held.Outcome);
    }

    private void OnRetryTick()
    {
        if (_registeredWith is null)
        {
            Register();
            return;
        }
        AskForTrials();
        ResendOutcomes();
        RetryCheckpointTransfers();
        foreach (var (trialId, held) in _heldOutcomes.Where(h => h.Value.Deadline < DateTime.UtcNow).ToList())
        {
            _log.Warning("reporting trial {0} before its last checkpoint reached the coordinator (still uploading after {1} s)",
                trialId, (FinalCheckpointWaitRetries * _settings.RetryInterval).TotalSeconds);
            ReleaseHeldOutcome(trialId, force: true);
        }
    }

    private void AskForTrials()
    {
        if (_registeredWith is not null)
            _coordinator.Tell(new RequestTrials(_settings.WorkerId, FreeSlots, _assignmentsReceived));
    }

    private void ResendOutcomes()
    {
        foreach (var outcome in _unacknowledged.Values)
            _coordinator.Tell(outcome);
    }
}
