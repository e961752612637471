using Akka.Actor;
using Akka.Event;
using Sweep.Contract.Protocol;
using Sweep.Contract.Security;
using Sweep.Coordinator.Persistence;
using Sweep.Search.Engine;
using Sweep.Search.Specs;
using Sweep.Search.Trials;

namespace Sweep.Coordinator.Actors;

// The coordinator's half of resumable trials: receiving checkpoint uploads into the store, and sending a stored
// checkpoint to the worker a re-queued or carried-over trial is dispatched to. Every file access runs on its own
// thread and comes back through PipeTo; the mailbox only validates, counts and journals.
public sealed partial class SweepCoordinator
{
    private readonly CheckpointStore? _checkpoints;
    private readonly Dictionary<string, Intake> _intakes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Delivery> _deliveries = new(StringComparer.Ordinal);
    private readonly HashSet<string> _released = new(StringComparer.Ordinal);

    /// <summary>An upload being written to the store: one chunk in flight at a time.</summary>
    private sealed class Intake(string worker, int epoch, long total, string sha256)
    {
        public string Worker { get; } = worker;
        public int Epoch { get; } = epoch;
        public long Total { get; } = total;
        public string Sha256 { get; } = sha256;
        public long Received { get; set; }
        public bool Busy { get; set; }
    }

    /// <summary>A verified stored checkpoint on its way to the worker that resumes from it, held in memory until it is fetched.</summary>
    private sealed record Delivery(string Worker, int Epoch, byte[] Content, string Sha256);

    private sealed record ChunkWritten(string TrialId, int Epoch, long Received, IActorRef ReplyTo);

    private sealed record UploadCommitted(string TrialId, int Epoch, StoredCheckpointFile File, IActorRef ReplyTo);

    private sealed record UploadFailed(string TrialId, int Epoch, string Reason, IActorRef ReplyTo);

    private sealed record Discard(string FromTrialId, int Epoch, string Reason);

    private sealed record ResumeSearch(string? FromTrialId, int Epoch, byte[]? Content, string? Sha256, IReadOnlyList<Discard> Discarded);

    private sealed record ResumeLoaded(string TrialId, string Worker, IActorRef WorkerActor, int Attempt, ResumeSearch Search);

    private sealed record CheckpointHousekeeping
    {
        public static readonly CheckpointHousekeeping Instance = new();
    }

    private void ReceiveCheckpointTransfers()
    {
        Command<CheckpointChunk>(OnCheckpointChunk);
        Command<ChunkWritten>(OnChunkWritten);
        Command<UploadCommitted>(OnUploadCommitted);
        Command<UploadFailed>(failed =>
        {
            _log.Warning("checkpoint of trial {0} after epoch {1} not stored: {2}", failed.TrialId, failed.Epoch, failed.Reason);
            if (_intakes.TryGetValue(failed.TrialId, out var intake) && intake.Epoch == failed.Epoch)
                _intakes.Remove(failed.TrialId);
            failed.ReplyTo.Tell(new CheckpointChunkAck(failed.TrialId, failed.Epoch, 0, Accepted: false));
        });
        Command<ResumeLoaded>(OnResumeLoaded);
        Command<CheckpointChunkRequest>(OnCheckpointChunkRequest);
        Command<CheckpointRefused>(OnCheckpointRefused);
        Command<CheckpointHousekeeping>(_ => OnCheckpointHousekeeping());
    }

    private void StartCheckpointHousekeeping()
    {
        if (_checkpoints is not null)
            Timers.StartPeriodicTimer("checkpoint-housekeeping", CheckpointHousekeeping.Instance, _settings.TimeoutCheckInterval);
    }

    /// <summary>Epochs between checkpoints the workers write for this sweep; 0 when this coordinator stores none.</summary>
    private int CheckpointEvery => _checkpoints is null ? 0 : _state.Spec?.CheckpointPolicy.Every ?? 0;

    /// <summary>
    /// Sends a dispatched trial to its worker: at once when checkpoints are off, otherwise after looking (off the
    /// mailbox) for a stored checkpoint to continue from.
    /// </summary>
    private void Assign(WorkerRegistry.Entry worker, TrialDispatched dispatched)
    {
        var candidates = SweepEngine.ResumeCandidates(_state, dispatched.TrialId);
        if (_checkpoints is not { } store || CheckpointEvery == 0 || candidates.Count == 0)
        {
            worker.Actor.Tell(new AssignTrial(SweepEngine.RunSpec(_state, dispatched.TrialId), CheckpointEvery));
            return;
        }
        var journaled = candidates.ToDictionary(c => c, c => _state.FindTrial(c)?.Checkpoint, StringComparer.Ordinal);
        var (workerId, actor, trialId, attempt) = (worker.WorkerId, worker.Actor, dispatched.TrialId, dispatched.Attempt);
        Task.Run(() => FindResumePoint(store, candidates, journaled))
            .PipeTo(Self, success: search => new ResumeLoaded(trialId, workerId, actor, attempt, search),
                failure: error => new ResumeLoaded(trialId, workerId, actor, attempt,
                    new ResumeSearch(null, 0, null, null, [new Discard(trialId, 0, "the checkpoint store cannot be read: " + error.GetBaseException().Message)])));
    }

    /// <summary>
    /// The first candidate whose checkpoint, as the journal recorded it (epoch and SHA-256), the store holds and verifies,
    /// read whole. Files the journal never recorded (another sweep's, left in a reused folder) are ignored; a recorded
    /// checkpoint that is missing, fails its checksum or is another file is reported as discarded.
    /// </summary>
    private static ResumeSearch FindResumePoint(CheckpointStore store, IReadOnlyList<string> candidates, IReadOnlyDictionary<string, StoredCheckpoint?> journaled)
    {
        var discarded = new List<Discard>();
        foreach (var candidate in candidates)
        {
            if (journaled[candidate] is not { } recorded)
                continue;
            if (store.At(candidate, recorded.Epoch) is not { } file)
            {
                discarded.Add(new Discard(candidate, recorded.Epoch, $"the stored checkpoint of {candidate} after epoch {recorded.Epoch} is missing"));
                continue;
            }
            try
            {
                var content = store.ReadVerified(file);
                var sha = CheckpointChecksum.Verify(content)!;
                if (sha == recorded.Sha256)
                    return new ResumeSearch(candidate, recorded.Epoch, content, sha, discarded);
                discarded.Add(new Discard(candidate, recorded.Epoch, $"the stored checkpoint of {candidate} after epoch {recorded.Epoch} is not the one the journal recorded"));
            }
            catch (InvalidDataException corrupt)
            {
                discarded.Add(new Discard(candidate, recorded.Epoch, corrupt.Message));
            }
        }
        return new ResumeSearch(null, 0, null, null, discarded);
    }

    private void OnResumeLoaded(ResumeLoaded loaded)
    {
        var trial = _state.FindTrial(loaded.TrialId);
        if (trial is not { Status: TrialStatus.Running } || trial.Worker != loaded.Worker || trial.Attempts != loaded.Attempt)
        {
            // E.g. a late result of the trial's previous run on the same worker completed it meanwhile. The assignment
            // counted as sent never leaves: uncount it, or the worker's demand would stay one short for good.
            _log.Info("checkpoint lookup for trial {0} dropped: that run is no longer current", loaded.TrialId);
            if (_workers.Find(loaded.Worker) is { } worker && worker.Actor.Equals(loaded.WorkerActor) && worker.Sent > 0)
                worker.Sent--;
            return;
        }
        var events = new List<ISweepEvent>();
        foreach (var discard in loaded.Search.Discarded)
        {
            _log.Warning("trial {0}: {1}; it starts from epoch 0", loaded.TrialId, discard.Reason);
            events.AddRange(_engine.DiscardCheckpoint(_state, loaded.TrialId, discard.FromTrialId, discard.Epoch, discard.Reason));
        }
        var search = loaded.Search;
        var resumed = search is { FromTrialId: { } from, Content: { } content, Sha256: { } sha }
            ? _engine.Resume(_state, loaded.TrialId, loaded.Worker, from, search.Epoch)
            : [];
        events.AddRange(resumed);
        var every = CheckpointEvery;
        // With successive halving or ASHA the run stops at a rung, which depends on where it resumes.
        var runSpec = SweepEngine.RunSpec(_state, loaded.TrialId, resumed.Count > 0 ? search.Epoch : 0);
        PersistThen(events, () =>
        {
            if (resumed.Count == 0)
            {
                loaded.WorkerActor.Tell(new AssignTrial(runSpec, every));
                return;
            }
            _log.Info("trial {0} resumes on {1} from {2} after epoch {3}", loaded.TrialId, loaded.Worker, search.FromTrialId, search.Epoch);
            _deliveries[loaded.TrialId] = new Delivery(loaded.Worker, search.Epoch, search.Content!, search.Sha256!);
            loaded.WorkerActor.Tell(new AssignTrial(runSpec, every,
                new CheckpointOffer(search.FromTrialId!, search.Epoch, search.Content!.LongLength, search.Sha256!)));
        });
    }

    /// <summary>
    /// The worker could not use the checkpoint its run was to resume from and trains from epoch 0: journaled with the
    /// worker's reason, so the run no longer counts as resumed and its reports are taken from epoch 1 again.
    /// </summary>
    private void OnCheckpointRefused(CheckpointRefused refused)
    {
        if (!FromAssignedWorker(refused.WorkerId, refused.TrialId, "checkpoint refusal"))
            return;
        var events = _engine.AbandonResume(_state, refused.TrialId, refused.WorkerId, refused.FromTrialId, refused.Epoch, refused.Reason);
        if (events.Count == 0)
            return;
        _log.Warning("trial {0}: {1} could not use the checkpoint of {2} after epoch {3} ({4}); it trains from epoch 0",
            refused.TrialId, refused.WorkerId, refused.FromTrialId, refused.Epoch, refused.Reason);
        _deliveries.Remove(refused.TrialId);
        PersistThen(events, () => { });
    }

    private void OnCheckpointChunkRequest(CheckpointChunkRequest request)
    {
        if (!FromAssignedWorker(request.WorkerId, request.TrialId, "checkpoint request"))
            return;
        if (!_deliveries.TryGetValue(request.TrialId, out var delivery) || delivery.Worker != request.WorkerId || delivery.Epoch != request.Epoch ||
            _state.FindTrial(request.TrialId) is not { Status: TrialStatus.Running })
        {
            Sender.Tell(new CheckpointUnavailable(request.TrialId, request.Epoch));
            return;
        }
        if (request.Offset >= delivery.Content.LongLength)
        {
            _deliveries.Remove(request.TrialId);
            return;
        }
        if (request.Offset < 0)
            return;
        var length = (int)Math.Min(CheckpointChunk.ChunkBytes, delivery.Content.LongLength - request.Offset);
        Sender.Tell(new CheckpointChunk(request.WorkerId, request.TrialId, delivery.Epoch, request.Offset, delivery.Content.LongLength,
            delivery.Sha256, delivery.Content.AsSpan((int)request.Offset, length).ToArray()));
    }

    private void OnCheckpointChunk(CheckpointChunk chunk)
    {
        var trialId = chunk.TrialId;
        if (!FromRegisteredWorker(chunk.WorkerId, trialId, "checkpoint chunk"))
            return;
        var refusal = _checkpoints is null ? "this coordinator stores no checkpoints"
            : SweepEngine.CheckpointRefusal(_state, trialId, chunk.WorkerId, chunk.Epoch) ?? ChunkLimits(chunk);
        if (refusal is null && _intakes.TryGetValue(trialId, out var current) && current.Epoch >= chunk.Epoch &&
            (current.Epoch > chunk.Epoch || current.Worker != chunk.WorkerId || current.Total != chunk.TotalLength || current.Sha256 != chunk.Sha256))
            refusal = current.Epoch > chunk.Epoch ? $"epoch {current.Epoch} is arriving" : "it does not match the upload in progress";
        if (refusal is not null)
        {
            _log.Warning("checkpoint chunk of trial {0} epoch {1} from {2} refused: {3}", trialId, chunk.Epoch, chunk.WorkerId, refusal);
            Sender.Tell(new CheckpointChunkAck(trialId, chunk.Epoch, 0, Accepted: false));
            return;
        }
        if (!_intakes.TryGetValue(trialId, out var intake) || intake.Epoch < chunk.Epoch)
        {
            if (chunk.Offset != 0)
            {
                Sender.Tell(new CheckpointChunkAck(trialId, chunk.Epoch, 0));
                return;
            }
            if (intake is not null)
                AbandonUpload(trialId, intake);
            intake = _intakes[trialId] = new Intake(chunk.WorkerId, chunk.Epoch, chunk.TotalLength, chunk.Sha256);
        }
        if (intake.Busy)
            return;
        if (chunk.Offset != intake.Received)
        {
            Sender.Tell(new CheckpointChunkAck(trialId, chunk.Epoch, intake.Received));
            return;
        }
        intake.Busy = true;
        var (store, replyTo, received) = (_checkpoints!, Sender, chunk.Offset + chunk.Data.Length);
        Task.Run(() => store.WriteChunk(trialId, chunk.Epoch, chunk.Offset, chunk.Data))
            .PipeTo(Self, success: () => new ChunkWritten(trialId, chunk.Epoch, received, replyTo),
                failure: error => new UploadFailed(trialId, chunk.Epoch, error.GetBaseException().Message, replyTo));
    }

    /// <summary>Nothing trusts the network: sizes, offsets and the announced hash must make sense before a byte is written.</summary>
    private static string? ChunkLimits(CheckpointChunk chunk)
    {
        if (chunk.TotalLength <= CheckpointChecksum.TrailerLength || chunk.TotalLength > CheckpointChunk.MaxTotalLength)
            return $"total length {chunk.TotalLength} is outside {CheckpointChecksum.TrailerLength + 1}..{CheckpointChunk.MaxTotalLength}";
        if (chunk.Data is null || chunk.Data.Length == 0 || chunk.Data.Length > CheckpointChunk.MaxData)
            return $"a chunk holds 1..{CheckpointChunk.MaxData} bytes";
        if (chunk.Offset < 0 || chunk.Offset > chunk.TotalLength - chunk.Data.Length)
            return $"offset {chunk.Offset} does not fit the file";
        return CheckpointChecksum.IsSha256Hex(chunk.Sha256) ? null : "the announced SHA-256 is not 64 lower-case hex digits";
    }

    private void OnChunkWritten(ChunkWritten written)
    {
        if (!_intakes.TryGetValue(written.TrialId, out var intake) || intake.Epoch != written.Epoch)
            return;
        intake.Busy = false;
        intake.Received = written.Received;
        if (intake.Received < intake.Total)
        {
            written.ReplyTo.Tell(new CheckpointChunkAck(written.TrialId, written.Epoch, intake.Received));
            return;
        }
        intake.Busy = true;
        var (store, trialId, epoch, replyTo) = (_checkpoints!, written.TrialId, written.Epoch, written.ReplyTo);
        Task.Run(() => store.Commit(trialId, epoch, intake.Total, intake.Sha256))
            .PipeTo(Self, success: file => new UploadCommitted(trialId, epoch, file, replyTo),
                failure: error => new UploadFailed(trialId, epoch, error.GetBaseException().Message, replyTo));
    }

    private void OnUploadCommitted(UploadCommitted committed)
    {
        if (!_intakes.TryGetValue(committed.TrialId, out var intake) || intake.Epoch != committed.Epoch)
            return;
        _intakes.Remove(committed.TrialId);
        var events = _engine.Checkpointed(_state, committed.TrialId, intake.Worker, committed.Epoch, intake.Sha256, committed.File.Bytes);
        if (events.Count == 0)
            _log.Info("checkpoint of trial {0} after epoch {1} stored but not journaled: {2}", committed.TrialId, committed.Epoch,
                SweepEngine.CheckpointRefusal(_state, committed.TrialId, intake.Worker, committed.Epoch) ?? "no longer wanted");
        PersistThen(events, () => committed.ReplyTo.Tell(new CheckpointChunkAck(committed.TrialId, committed.Epoch, committed.File.Bytes)));
    }

    private void AbandonUpload(string trialId, Intake intake)
    {
        _intakes.Remove(trialId);
        var store = _checkpoints!;
        Task.Run(() => store.Abandon(trialId, intake.Epoch));
    }

    /// <summary>
    /// Drops transfers whose run is no longer current (the worker was lost, the trial re-queued or finished), and with
    /// keep = none deletes the stored checkpoints of finished trials.
    /// </summary>
    private void OnCheckpointHousekeeping()
    {
        foreach (var (trialId, delivery) in _deliveries.ToList())
            if (_state.FindTrial(trialId) is not { Status: TrialStatus.Running } trial || trial.Worker != delivery.Worker)
                _deliveries.Remove(trialId);
        foreach (var (trialId, intake) in _intakes.ToList())
            if (!intake.Busy && _state.FindTrial(trialId)?.Worker != intake.Worker)
                AbandonUpload(trialId, intake);
        if (_state.Spec?.CheckpointPolicy.Keep != CheckpointKeep.None || _checkpoints is not { } store)
            return;
        var finished = _state.Trials.Values.Where(t => t.IsTerminal && t.Checkpoint is not null && !_released.Contains(t.TrialId))
            .Select(t => t.TrialId).ToList();
        if (finished.Count == 0)
            return;
        _released.UnionWith(finished);
        Task.Run(() =>
        {
            foreach (var trialId in finished)
                store.Delete(trialId);
        });
    }
}
