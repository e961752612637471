using System.Globalization;
using Sweep.Contract.Security;

namespace Sweep.Coordinator.Persistence;

/// <summary>A checkpoint file in the store: <paramref name="TrialId"/>'s state after <paramref name="Epoch"/>.</summary>
public sealed record StoredCheckpointFile(string TrialId, int Epoch, string Path, long Bytes);

/// <summary>
/// The coordinator's checkpoint store: one folder per trial under <see cref="Directory"/>, holding that trial's latest
/// checkpoint as <c>epoch-NNNNN.ckpt</c>. An upload is written to <c>incoming-NNNNN.part</c> beside it, verified against its
/// SHA-256 trailer and the announced hash, then renamed into place (an atomic replace on one filesystem) before the
/// older epoch is deleted, so a crash at any moment leaves a verified latest checkpoint or the previous one. A stored
/// file that no longer verifies is renamed to <c>.corrupt</c> and never offered again. Trial ids become folder names only
/// through <see cref="TrialCheckpoints.FolderOf"/>. Every method does file IO: actors call it off their mailbox.
/// </summary>
public sealed class CheckpointStore
{
    /// <summary>The store folder's name beside a journal: <c>runs/a.db</c> stores in <c>runs/a.checkpoint-store</c>.</summary>
    public const string FolderSuffix = ".checkpoint-store";

    private const string Prefix = "epoch-";
    private const string Extension = ".ckpt";
    private const string IncomingPrefix = "incoming-";
    private const string IncomingExtension = ".part";
    private const string CorruptExtension = ".corrupt";

    public CheckpointStore(string directory)
    {
        if (string.IsNullOrWhiteSpace(directory))
            throw new ArgumentException("the checkpoint store needs a folder", nameof(directory));
        Directory = System.IO.Path.GetFullPath(directory);
    }

    public string Directory { get; }

    /// <summary>
    /// Where a journal's checkpoints go: <paramref name="configured"/> when given (sweep.coordinator.checkpoint-store),
    /// else beside a SQLite journal (<c>runs/a.db</c>: <c>runs/a.checkpoint-store</c>), else <c>runs/&lt;database&gt;.checkpoint-store</c>
    /// under the current directory for PostgreSQL.
    /// </summary>
    public static string DirectoryFor(JournalLocation journal, string? configured)
    {
        if (!string.IsNullOrWhiteSpace(configured))
            return System.IO.Path.GetFullPath(configured);
        var folder = journal.SqliteFile is { } file ? System.IO.Path.GetDirectoryName(file)! : System.IO.Path.GetFullPath("runs");
        return System.IO.Path.Combine(folder, journal.SideFileStem + FolderSuffix);
    }

    /// <summary>The trial's newest stored checkpoint, unverified; null when it has none.</summary>
    public StoredCheckpointFile? Latest(string trialId)
    {
        var folder = TrialCheckpoints.FolderOf(Directory, trialId);
        if (!System.IO.Directory.Exists(folder))
            return null;
        return StoredIn(folder, trialId).MaxBy(f => f.Epoch);
    }

    /// <summary>The trial's stored checkpoint after <paramref name="epoch"/>, unverified; null when the store does not hold that epoch.</summary>
    public StoredCheckpointFile? At(string trialId, int epoch)
    {
        var folder = TrialCheckpoints.FolderOf(Directory, trialId);
        return System.IO.Directory.Exists(folder) ? StoredIn(folder, trialId).FirstOrDefault(f => f.Epoch == epoch) : null;
    }

    /// <summary>
    /// For <c>sweep export</c> and <c>sweep test</c>: the path of the checkpoint the journal recorded for the trial (its
    /// <c>TrialState.Checkpoint</c>: epoch and SHA-256) when the store holds exactly that file and it verifies; null
    /// otherwise. A file the journal did not record (left by another sweep whose journal was deleted, say) is never
    /// returned. Changes nothing on disk.
    /// </summary>
    public string? VerifiedPath(string trialId, int epoch, string sha256) =>
        At(trialId, epoch) is { } file && CheckpointChecksum.VerifyFile(file.Path) == sha256 ? file.Path : null;

    /// <summary>
    /// The path of the trial's newest stored checkpoint when it verifies, whether or not a journal recorded it; null when
    /// the trial has none or it fails its checksum. Changes nothing on disk. Prefer <see cref="VerifiedPath"/>.
    /// </summary>
    public string? LatestOf(string trialId) =>
        Latest(trialId) is { } latest && CheckpointChecksum.VerifyFile(latest.Path) is not null ? latest.Path : null;

    /// <summary>The whole file when it verifies; otherwise it is set aside and the reason is thrown as <see cref="InvalidDataException"/>.</summary>
    public byte[] ReadVerified(StoredCheckpointFile file)
    {
        byte[] content;
        try
        {
            content = File.ReadAllBytes(file.Path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new InvalidDataException($"checkpoint {System.IO.Path.GetFileName(file.Path)} of trial {file.TrialId} is missing");
        }
        if (CheckpointChecksum.Verify(content) is null)
        {
            SetAside(file);
            throw new InvalidDataException($"checkpoint {System.IO.Path.GetFileName(file.Path)} of trial {file.TrialId} fails its SHA-256 checksum");
        }
        return content;
    }

    /// <summary>Writes one piece of an upload; offset 0 starts it afresh.</summary>
    public void WriteChunk(string trialId, int epoch, long offset, ReadOnlySpan<byte> data)
    {
        var folder = TrialCheckpoints.FolderOf(Directory, trialId);
        System.IO.Directory.CreateDirectory(folder);
        var incoming = IncomingPath(folder, epoch);
        using var handle = File.OpenHandle(incoming, offset == 0 ? FileMode.Create : FileMode.Open, FileAccess.Write);
        RandomAccess.Write(handle, data, offset);
    }

    /// <summary>
    /// Completes an upload of <paramref name="totalLength"/> bytes announced with <paramref name="sha256"/>: it must have that
    /// length, verify against its trailer and carry that hash. Then it replaces the trial's stored checkpoint. Throws
    /// <see cref="InvalidDataException"/> (and deletes the upload) otherwise.
    /// </summary>
    public StoredCheckpointFile Commit(string trialId, int epoch, long totalLength, string sha256)
    {
        var folder = TrialCheckpoints.FolderOf(Directory, trialId);
        var incoming = IncomingPath(folder, epoch);
        var length = new FileInfo(incoming).Length;
        var verified = length == totalLength ? CheckpointChecksum.VerifyFile(incoming) : null;
        if (verified != sha256)
        {
            File.Delete(incoming);
            throw new InvalidDataException(length != totalLength
                ? $"upload of trial {trialId} epoch {epoch} holds {length} bytes, not the announced {totalLength}"
                : $"upload of trial {trialId} epoch {epoch} fails its SHA-256 checksum");
        }
        using (var stream = new FileStream(incoming, FileMode.Open, FileAccess.ReadWrite))
            stream.Flush(flushToDisk: true);
        var target = System.IO.Path.Combine(folder, Prefix + epoch.ToString("D5", CultureInfo.InvariantCulture) + Extension);
        File.Move(incoming, target, overwrite: true);
        foreach (var older in StoredIn(folder, trialId).Where(f => f.Epoch != epoch))
            File.Delete(older.Path);
        return new StoredCheckpointFile(trialId, epoch, target, totalLength);
    }

    /// <summary>Drops an unfinished upload.</summary>
    public void Abandon(string trialId, int epoch)
    {
        var incoming = IncomingPath(TrialCheckpoints.FolderOf(Directory, trialId), epoch);
        if (File.Exists(incoming))
            File.Delete(incoming);
    }

    /// <summary>
    /// Deletes the <c>incoming-*.part</c> files of uploads that a previous coordinator process left unfinished (it was
    /// killed mid-transfer): uploads live in that process's memory, so none of them can complete, and a worker whose
    /// upload was cut off sends it again from offset 0. Called once when a coordinator node starts, before its
    /// coordinator takes any upload (the journal lock keeps a second coordinator of the same journal away; a configured store
    /// folder is one running sweep's, see sweep.coordinator.checkpoint-store in reference.conf). Returns how
    /// many it deleted; a file it cannot delete is left for the next start.
    /// </summary>
    public int DropUnfinishedUploads()
    {
        if (!System.IO.Directory.Exists(Directory))
            return 0;
        var dropped = 0;
        foreach (var part in System.IO.Directory.EnumerateFiles(Directory, IncomingPrefix + "*" + IncomingExtension, SearchOption.AllDirectories))
        {
            try
            {
                File.Delete(part);
                dropped++;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
        return dropped;
    }

    /// <summary>Deletes everything stored for the trial (retention keep = none once it finished).</summary>
    public void Delete(string trialId)
    {
        var folder = TrialCheckpoints.FolderOf(Directory, trialId);
        if (System.IO.Directory.Exists(folder))
            System.IO.Directory.Delete(folder, recursive: true);
    }

    private static string IncomingPath(string folder, int epoch) =>
        System.IO.Path.Combine(folder, IncomingPrefix + epoch.ToString("D5", CultureInfo.InvariantCulture) + IncomingExtension);

    private static IEnumerable<StoredCheckpointFile> StoredIn(string folder, string trialId)
    {
        foreach (var path in System.IO.Directory.EnumerateFiles(folder, Prefix + "*" + Extension))
        {
            var name = System.IO.Path.GetFileNameWithoutExtension(path);
            if (int.TryParse(name.AsSpan(Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var epoch))
                yield return new StoredCheckpointFile(trialId, epoch, path, new FileInfo(path).Length);
        }
    }

    private static void SetAside(StoredCheckpointFile file)
    {
        if (File.Exists(file.Path))
            File.Move(file.Path, file.Path + CorruptExtension, overwrite: true);
    }
}
