using Akka.Actor;
using Akka.Event;
using Akka.Pattern;
using Sweep.Contract.Protocol;
using Sweep.Coordinator.Persistence;
using Sweep.Search.Specs;

namespace Sweep.Coordinator.Actors;

/// <summary>
/// Keeps the sweep coordinator alive through journal outages: runs <see cref="SweepCoordinator"/> under Akka's
/// <see cref="BackoffSupervisor"/> (a failed journal write or recovery stops it; it is started again after a growing
/// delay and recovers from what the journal holds), remembers since when the journal has been failing, and meanwhile
/// answers status queries with <see cref="CoordinatorUnavailable"/>. Every other message goes to the coordinator with
/// its original sender, so the coordinator's sender checks see who really sent it.
/// </summary>
public sealed class CoordinatorSupervisor : ReceiveActor
{
    /// <summary>The name of the <see cref="BackoffSupervisor"/> child; the coordinator itself runs under it.</summary>
    public const string BackoffName = "backoff";
    public const string CoordinatorName = "run";

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private DateTimeOffset? _failingSince;
    private string _lastError = "";

    public CoordinatorSupervisor(SweepSpec? startSpec, CoordinatorSettings settings, CoordinatorRestartSettings restart, CheckpointStore? checkpoints = null)
    {
        var coordinator = SweepCoordinator.Props(startSpec, settings, checkpoints, restart, Self);
        var backoff = Context.ActorOf(BackoffSupervisor.Props(
            // No retry limit: the CLI decides when an outage has lasted too long (restart.give-up-after).
            Backoff.OnStop(coordinator, CoordinatorName, restart.MinBackoff, restart.MaxBackoff, randomFactor: 0.2, maxNrOfRetries: -1)), BackoffName);

        Receive<JournalWriteFailed>(failed =>
        {
            if (_failingSince is null)
                _log.Warning("journal unavailable, retrying: {0}", failed.Reason);
            _failingSince ??= DateTimeOffset.UtcNow;
            _lastError = failed.Reason;
        });
        Receive<JournalWriteSucceeded>(_ =>
        {
            if (_failingSince is { } since)
                _log.Info("journal available again after {0:0} s", (DateTimeOffset.UtcNow - since).TotalSeconds);
            _failingSince = null;
        });
        Receive<GetSweepStatus>(_ => _failingSince is not null, _ => Sender.Tell(new CoordinatorUnavailable(_failingSince!.Value, _lastError)));
        ReceiveAny(message => backoff.Forward(message));
    }

    public static Props Props(SweepSpec? startSpec, CoordinatorSettings settings, CoordinatorRestartSettings restart, CheckpointStore? checkpoints = null) =>
        Akka.Actor.Props.Create(() => new CoordinatorSupervisor(startSpec, settings, restart, checkpoints));
}
