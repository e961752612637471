using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Sweep.Contract.Cli;
using Sweep.Contract.Configuration;
using Sweep.Contract.Protocol;
using Sweep.Search.Engine;

namespace Sweep.Coordinator.Persistence;

/// <summary>
/// Reads a sweep's state out of its journal without joining a cluster: a local actor system replays the
/// coordinator's latest snapshot and later events, the same way the coordinator recovers. Reading is safe while a
/// sweep runs (SQLite in WAL mode lets readers in beside the writer). <see cref="AppendAsync"/> is the one writer
/// besides the coordinator, for commands that record facts about a finished sweep (`sweep test`).
/// </summary>
public static class JournalReader
{
    /// <summary>The sweep state stored in <paramref name="journal"/>; <see cref="SweepState.Empty"/> when it holds none.</summary>
    public static Task<SweepState> ReadStateAsync(JournalLocation journal, TimeSpan timeout) => ReplayAsync(journal, timeout, append: null);

    /// <summary>
    /// Replays <paramref name="journal"/>, appends <paramref name="events"/> and returns the state after them. The
    /// caller holds the journal's <see cref="JournalLock"/> from before it read the state it decided on until this
    /// returns: two writers would race for the same event numbers.
    /// </summary>
    public static Task<SweepState> AppendAsync(JournalLocation journal, IReadOnlyList<ISweepEvent> events, TimeSpan timeout) =>
        ReplayAsync(journal, timeout, events);

    private static async Task<SweepState> ReplayAsync(JournalLocation journal, TimeSpan timeout, IReadOnlyList<ISweepEvent>? append)
    {
        var source = journal.CheckReadable();
        // Silent: every failure comes back as one SweepUsageException line; Akka's own error log of a failed
        // recovery (a stack trace per attempt) would only repeat it on stdout.
        var config = ConfigurationFactory.ParseString("""
                akka.actor.provider = local
                akka.loglevel = OFF
                akka.stdout-loglevel = OFF
                akka.persistence.journal.sql.warn-on-auto-init-fail = off
                """)
            .WithFallback(source.ToAkkaConfig(createTables: !journal.IsSqlite))
            .WithFallback(SweepConfig.Load());
        var system = ActorSystem.Create("sweep-reader", config);
        try
        {
            var done = new TaskCompletionSource<SweepState>(TaskCreationOptions.RunContinuationsAsynchronously);
            system.ActorOf(Props.Create(() => new Replayer(done, append)), "replayer");
            var finished = await Task.WhenAny(done.Task, Task.Delay(timeout));
            if (finished != done.Task)
                throw new SweepUsageException($"reading journal '{journal.Display}' took longer than {timeout.TotalSeconds:0} s; check that the database is reachable and not locked");
            return await done.Task;
        }
        finally
        {
            await system.Terminate();
        }
    }

    /// <summary>Replays the coordinator's journal into a state, appends the given events (if any), and stops.</summary>
    private sealed class Replayer : ReceivePersistentActor
    {
        private readonly TaskCompletionSource<SweepState> _done;
        private readonly IReadOnlyList<ISweepEvent>? _append;
        private SweepState _state = SweepState.Empty;
        // Events are numbered 1, 2, 3, ... without gaps; a gap means rows were lost and the state would be wrong.
        private long _expectedSequenceNr = 1;
        private (long From, long To)? _missing;

        public Replayer(TaskCompletionSource<SweepState> done, IReadOnlyList<ISweepEvent>? append)
        {
            _done = done;
            _append = append;
            Recover<SnapshotOffer>(offer =>
            {
                if (offer.Snapshot is CoordinatorSnapshot snapshot)
                    _state = snapshot.State;
                _expectedSequenceNr = offer.Metadata.SequenceNr + 1;
            });
            Recover<ISweepEvent>(e =>
            {
                if (LastSequenceNr != _expectedSequenceNr)
                    _missing ??= (_expectedSequenceNr, LastSequenceNr - 1);
                _expectedSequenceNr = LastSequenceNr + 1;
                _state = _state.Apply(e);
            });
            Recover<RecoveryCompleted>(_ =>
            {
                if (_missing is var (from, to))
                    _done.TrySetException(new SweepUsageException(
                        $"the journal is corrupt: event{(from == to ? $" {from} is" : $"s {from}-{to} are")} missing; restore it from a backup, or start over with a new --journal path"));
                else if (_append is { Count: > 0 } events)
                {
                    var persisted = 0;
                    PersistAll(events, e =>
                    {
                        _state = _state.Apply(e);
                        if (++persisted < events.Count) return;
                        _done.TrySetResult(_state);
                        Context.Stop(Self);
                    });
                    return;
                }
                else
                    _done.TrySetResult(_state);
                Context.Stop(Self);
            });
        }

        protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
        {
            _done.TrySetException(new SweepUsageException(
                $"could not write to journal ({cause.GetBaseException().Message.Split('\n')[0]}); check that it is writable and not full, then run the command again"));
            base.OnPersistFailure(cause, @event, sequenceNr);
        }

        public override string PersistenceId => JournalLocation.PersistenceId;

        protected override void OnRecoveryFailure(Exception reason, object? message = null)
        {
            _done.TrySetException(new SweepUsageException(
                $"the journal could not be read ({reason.GetBaseException().Message.Split('\n')[0]}); pass a journal written by `./sweep run`"));
            base.OnRecoveryFailure(reason, message);
        }
    }
}
