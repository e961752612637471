using Akka.Actor;
using Akka.Event;
using Sweep.Contract.Protocol;
using Sweep.Contract.Security;
using Sweep.Search.Trials;
using Sweep.Worker.Trials;

namespace Sweep.Worker.Actors;

// The worker's half of resumable trials: uploading each checkpoint a trial writes to the coordinator in acknowledged
// chunks (one in flight per trial, only the newest waiting), and fetching the stored checkpoint a resumed assignment
// offers before its run starts. File reads and writes run on their own threads and come back through PipeTo.
public sealed partial class WorkerNode
{
    private readonly Dictionary<string, Upload> _uploads = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (int Epoch, string Path)> _waitingUploads = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Download> _downloads = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string Path, CheckpointOffer Offer)> _resumeFiles = new(StringComparer.Ordinal);

    /// <summary>A checkpoint file on its way to the coordinator; <see cref="Acked"/> bytes of it are stored there.</summary>
    private sealed class Upload(int epoch, string path)
    {
        public int Epoch { get; } = epoch;
        public string Path { get; } = path;
        public long Acked { get; set; }
        public long Total { get; set; } = long.MaxValue;
        public bool Reading { get; set; }
        public DateTime LastActivity { get; set; } = DateTime.UtcNow;
    }

    /// <summary>A stored checkpoint arriving for an assignment that holds slot <see cref="SlotIndex"/>.</summary>
    private sealed class Download(AssignTrial assignment, CheckpointOffer offer, int slotIndex, string path)
    {
        public AssignTrial Assignment { get; } = assignment;
        public CheckpointOffer Offer { get; } = offer;
        public int SlotIndex { get; } = slotIndex;
        public string Path { get; } = path;
        public long Received { get; set; }
        public bool Busy { get; set; }
        public DateTime LastActivity { get; set; } = DateTime.UtcNow;
    }

    private sealed record UploadChunkRead(string TrialId, int Epoch, long Offset, long Total, string Sha256, byte[] Data);

    private sealed record UploadUnreadable(string TrialId, int Epoch, string Reason);

    private sealed record DownloadChunkWritten(string TrialId, int Epoch, long Received);

    private sealed record DownloadFinished(string TrialId, int Epoch, bool Verified, string? Problem);

    private void ReceiveCheckpointTransfers()
    {
        Receive<UploadChunkRead>(OnUploadChunkRead);
        Receive<UploadUnreadable>(unreadable =>
        {
            _log.Warning("checkpoint of trial {0} after epoch {1} not uploaded: {2}", unreadable.TrialId, unreadable.Epoch, unreadable.Reason);
            FinishUpload(unreadable.TrialId, unreadable.Epoch);
        });
        Receive<CheckpointChunkAck>(OnUploadAcknowledged);
        Receive<CheckpointChunk>(OnDownloadChunk);
        Receive<DownloadChunkWritten>(OnDownloadChunkWritten);
        Receive<DownloadFinished>(OnDownloadFinished);
        Receive<TrialResumeRefused>(OnResumeRefusedByTrainer);
        Receive<CheckpointUnavailable>(unavailable =>
        {
            if (!_downloads.TryGetValue(unavailable.TrialId, out var download) || download.Offer.Epoch != unavailable.Epoch)
                return;
            _log.Warning("the checkpoint offered for trial {0} is no longer available; handing the trial back", unavailable.TrialId);
            AbortDownload(unavailable.TrialId, download);
            var handBack = new TrialRejected(_settings.WorkerId, unavailable.TrialId);
            _coordinator.Tell(handBack);
            AskForTrials();
        });
    }

    // ---- uploads -------------------------------------------------------------------------------------------------

    /// <summary>A trial wrote a checkpoint: upload it now, or after the one in flight (a newer one replaces any waiting).</summary>
    private void QueueUpload(string trialId, int epoch, string path)
    {
        if (_uploads.ContainsKey(trialId))
        {
            if (_waitingUploads.TryGetValue(trialId, out var older))
                DeleteInBackground(older.Path);
            _waitingUploads[trialId] = (epoch, path);
            return;
        }
        _uploads[trialId] = new Upload(epoch, path);
        ReadUploadChunk(trialId, _uploads[trialId]);
    }

    private void ReadUploadChunk(string trialId, Upload upload)
    {
        upload.Reading = true;
        upload.LastActivity = DateTime.UtcNow;
        var (epoch, path, offset) = (upload.Epoch, upload.Path, upload.Acked);
        Task.Run(() =>
            {
                using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
                var total = RandomAccess.GetLength(handle);
                if (total <= CheckpointChecksum.TrailerLength)
                    throw new InvalidDataException($"{Path.GetFileName(path)} holds {total} bytes, too few for a checkpoint");
                var trailer = new byte[CheckpointChecksum.TrailerLength];
                RandomAccess.Read(handle, trailer, total - trailer.Length);
                var data = new byte[(int)Math.Min(CheckpointChunk.ChunkBytes, total - offset)];
                var read = 0;
                while (read < data.Length)
                {
                    var n = RandomAccess.Read(handle, data.AsSpan(read), offset + read);
                    if (n == 0)
                        throw new InvalidDataException($"{Path.GetFileName(path)} ended early");
                    read += n;
                }
                return new UploadChunkRead(trialId, epoch, offset, total, Convert.ToHexStringLower(trailer), data);
            })
            .PipeTo(Self, failure: error => new UploadUnreadable(trialId, epoch, error.GetBaseException().Message));
    }

    private void OnUploadChunkRead(UploadChunkRead read)
    {
        if (!_uploads.TryGetValue(read.TrialId, out var upload) || upload.Epoch != read.Epoch)
            return;
        upload.Reading = false;
        upload.Total = read.Total;
        upload.LastActivity = DateTime.UtcNow;
        _coordinator.Tell(new CheckpointChunk(_settings.WorkerId, read.TrialId, read.Epoch, read.Offset, read.Total, read.Sha256, read.Data));
    }

    private void OnUploadAcknowledged(CheckpointChunkAck ack)
    {
        if (!_uploads.TryGetValue(ack.TrialId, out var upload) || upload.Epoch != ack.Epoch || upload.Reading)
            return;
        if (!ack.Accepted)
        {
            _log.Info("the coordinator declined the checkpoint of trial {0} after epoch {1}", ack.TrialId, ack.Epoch);
            FinishUpload(ack.TrialId, ack.Epoch);
            return;
        }
        upload.Acked = ack.Received;
        if (ack.Received >= upload.Total)
        {
            _log.Info("checkpoint of trial {0} after epoch {1} stored by the coordinator ({2} bytes)", ack.TrialId, ack.Epoch, ack.Received);
            FinishUpload(ack.TrialId, ack.Epoch);
            return;
        }
        ReadUploadChunk(ack.TrialId, upload);
    }

    /// <summary>The upload is done (stored, declined or unreadable): its file goes, and the newest waiting one starts.</summary>
    private void FinishUpload(string trialId, int epoch)
    {
        if (!_uploads.TryGetValue(trialId, out var upload) || upload.Epoch != epoch)
            return;
        _uploads.Remove(trialId);
        DeleteInBackground(upload.Path);
        if (_waitingUploads.Remove(trialId, out var next))
            QueueUpload(trialId, next.Epoch, next.Path);
        else
            ReleaseHeldOutcome(trialId, force: false);
    }

    private bool IsUploading(string trialId) => _uploads.ContainsKey(trialId) || _waitingUploads.ContainsKey(trialId);

    // ---- downloads -----------------------------------------------------------------------------------------------

    /// <summary>Starts the assigned trial in its reserved slot, first fetching the checkpoint it resumes from, if any.</summary>
    private void StartOrFetch(AssignTrial assignment, int slotIndex)
    {
        var trialId = assignment.Trial.TrialId;
        if (assignment.Resume is not { } offer)
        {
            StartExecution(assignment, slotIndex, null);
            return;
        }
        if (offer.Epoch < 1 || offer.TotalLength <= CheckpointChecksum.TrailerLength || offer.TotalLength > CheckpointChunk.MaxTotalLength ||
            !CheckpointChecksum.IsSha256Hex(offer.Sha256))
        {
            _log.Warning("trial {0}: the offered checkpoint is malformed; starting from epoch 0", trialId);
            RefuseCheckpoint(trialId, offer, "the offer is malformed");
            StartExecution(assignment, slotIndex, null);
            return;
        }
        var folder = TrialCheckpoints.FolderOf(_settings.Slots[slotIndex].CheckpointDirectory, trialId);
        var path = Path.Combine(folder, $"resume-{offer.FromTrialId}-epoch-{offer.Epoch}.ckpt");
        _downloads[trialId] = new Download(assignment, offer, slotIndex, path);
        _log.Info("trial {0} resumes from {1} after epoch {2}: fetching {3} bytes", trialId, offer.FromTrialId, offer.Epoch, offer.TotalLength);
        RequestChunk(trialId, _downloads[trialId]);
    }

    private void RequestChunk(string trialId, Download download)
    {
        download.LastActivity = DateTime.UtcNow;
        _coordinator.Tell(new CheckpointChunkRequest(_settings.WorkerId, trialId, download.Offer.Epoch, download.Received));
    }

    private void OnDownloadChunk(CheckpointChunk chunk)
    {
        if (!_downloads.TryGetValue(chunk.TrialId, out var download) || download.Busy)
            return;
        var offer = download.Offer;
        if (chunk.Epoch != offer.Epoch || chunk.TotalLength != offer.TotalLength || chunk.Sha256 != offer.Sha256 || chunk.Offset != download.Received ||
            chunk.Data is null || chunk.Data.Length == 0 || chunk.Data.Length > CheckpointChunk.MaxData || chunk.Offset + chunk.Data.Length > offer.TotalLength)
        {
            _log.Warning("checkpoint chunk for trial {0} at offset {1} does not fit the offer; ignored", chunk.TrialId, chunk.Offset);
            return;
        }
        download.Busy = true;
        download.LastActivity = DateTime.UtcNow;
        var (trialId, epoch, path, offset, data) = (chunk.TrialId, chunk.Epoch, download.Path, chunk.Offset, chunk.Data);
        Task.Run(() =>
            {
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                using var handle = File.OpenHandle(path, offset == 0 ? FileMode.Create : FileMode.Open, FileAccess.Write);
                RandomAccess.Write(handle, data, offset);
                return new DownloadChunkWritten(trialId, epoch, offset + data.Length);
            })
            .PipeTo(Self, failure: error => new DownloadFinished(trialId, epoch, false, "cannot write it: " + error.GetBaseException().Message));
    }

    private void OnDownloadChunkWritten(DownloadChunkWritten written)
    {
        if (!_downloads.TryGetValue(written.TrialId, out var download) || download.Offer.Epoch != written.Epoch)
            return;
        download.Busy = false;
        download.Received = written.Received;
        if (download.Received < download.Offer.TotalLength)
        {
            RequestChunk(written.TrialId, download);
            return;
        }
        // Asking past the end tells the coordinator the transfer is complete.
        RequestChunk(written.TrialId, download);
        download.Busy = true;
        var (trialId, epoch, path, sha) = (written.TrialId, written.Epoch, download.Path, download.Offer.Sha256);
        Task.Run(() => CheckpointChecksum.VerifyFile(path) == sha
                ? new DownloadFinished(trialId, epoch, true, null)
                : new DownloadFinished(trialId, epoch, false, "it fails its SHA-256 checksum"))
            .PipeTo(Self);
    }

    private void OnDownloadFinished(DownloadFinished finished)
    {
        if (!_downloads.TryGetValue(finished.TrialId, out var download) || download.Offer.Epoch != finished.Epoch)
            return;
        _downloads.Remove(finished.TrialId);
        if (!finished.Verified)
        {
            _log.Warning("trial {0}: the checkpoint from {1} after epoch {2} is unusable ({3}); starting from epoch 0",
                finished.TrialId, download.Offer.FromTrialId, download.Offer.Epoch, finished.Problem);
            DeleteInBackground(download.Path);
            RefuseCheckpoint(finished.TrialId, download.Offer, finished.Problem ?? "it could not be fetched");
            StartExecution(download.Assignment, download.SlotIndex, null);
            return;
        }
        _resumeFiles[finished.TrialId] = (download.Path, download.Offer);
        StartExecution(download.Assignment, download.SlotIndex, download.Path);
    }

    /// <summary>
    /// Tells the coordinator the run of <paramref name="trialId"/> is training from epoch 0 after all, so that the journal
    /// stops counting it as resumed and takes its epoch reports from 1 again; sent before the run's first report.
    /// </summary>
    private void RefuseCheckpoint(string trialId, CheckpointOffer offer, string reason) =>
        _coordinator.Tell(new CheckpointRefused(_settings.WorkerId, trialId, offer.FromTrialId, offer.Epoch, reason));

    /// <summary>The trainer refused the checkpoint the run was to resume from and trains from epoch 0 instead.</summary>
    private void OnResumeRefusedByTrainer(TrialResumeRefused refused)
    {
        if (!_resumeFiles.TryGetValue(refused.TrialId, out var resume))
            return;
        RefuseCheckpoint(refused.TrialId, resume.Offer, refused.Reason);
        ForgetResumeFile(refused.TrialId);
    }

    private void StartExecution(AssignTrial assignment, int slotIndex, string? resumeFrom)
    {
        var options = new TrialRunOptions(resumeFrom, Math.Max(0, assignment.CheckpointEvery));
        _executions[assignment.Trial.TrialId] = Context.ActorOf(
            TrialExecution.Props(assignment.Trial, _settings.Slots[slotIndex], _runner, _settings.WorkerId, options), $"trial-{++_executionsStarted}");
    }

    /// <summary>A cancel for a trial still fetching its checkpoint: the slot is freed and the run reported cancelled.</summary>
    private bool CancelDownload(CancelTrial cancel)
    {
        if (!_downloads.TryGetValue(cancel.TrialId, out var download))
            return false;
        AbortDownload(cancel.TrialId, download);
        var cancelled = new TrialFinished(_settings.WorkerId, cancel.TrialId,
            new TrialResult(TrialStatus.Cancelled, 0, 0, [], [], 0, 0, Worker: _settings.WorkerId, Error: cancel.Reason));
        _unacknowledged[cancel.TrialId] = cancelled;
        _coordinator.Tell(cancelled);
        AskForTrials();
        return true;
    }

    private void AbortDownload(string trialId, Download download)
    {
        _downloads.Remove(trialId);
        _slotTrial[download.SlotIndex] = null;
        DeleteInBackground(download.Path);
    }

    private void ForgetResumeFile(string trialId)
    {
        if (_resumeFiles.Remove(trialId, out var resume))
            DeleteInBackground(resume.Path);
    }

    /// <summary>Re-sends what got no answer for two retry intervals (the coordinator restarted or moved meanwhile).</summary>
    private void RetryCheckpointTransfers()
    {
        var stale = DateTime.UtcNow - 2 * _settings.RetryInterval;
        foreach (var (trialId, upload) in _uploads.Where(u => !u.Value.Reading && u.Value.LastActivity < stale).ToList())
            ReadUploadChunk(trialId, upload);
        foreach (var (trialId, download) in _downloads.Where(d => !d.Value.Busy && d.Value.LastActivity < stale).ToList())
            RequestChunk(trialId, download);
    }

    private static void DeleteInBackground(string path) =>
        Task.Run(() =>
        {
            try
            {
                File.Delete(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A leftover file in the worker's own scratch folder is harmless; the next run overwrites or ignores it.
            }
        });
}
