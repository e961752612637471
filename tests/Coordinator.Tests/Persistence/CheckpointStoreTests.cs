using System.Security.Cryptography;
using Sweep.Contract.Security;
using Sweep.Coordinator.Persistence;
using Sweep.Coordinator.Tests.Support;

namespace Sweep.Coordinator.Tests.Persistence;

/// <summary>The coordinator's checkpoint store: where it lives, verified atomic replacement, corrupt files, unsafe ids.</summary>
public sealed class CheckpointStoreTests : IDisposable
{
    private readonly TempJournal _journal = new();

    private CheckpointStore Store => new(CheckpointStore.DirectoryFor(_journal.Location, null));

    /// <summary>A checkpoint-shaped file: random bytes and their SHA-256 as the trailer.</summary>
    private static byte[] Checkpoint(int bytes)
    {
        var body = RandomNumberGenerator.GetBytes(bytes);
        return [.. body, .. SHA256.HashData(body)];
    }

    private static StoredCheckpointFile Upload(CheckpointStore store, string trialId, int epoch, byte[] content, int chunk = 64 * 1024)
    {
        for (var offset = 0; offset < content.Length; offset += chunk)
            store.WriteChunk(trialId, epoch, offset, content.AsSpan(offset, Math.Min(chunk, content.Length - offset)));
        return store.Commit(trialId, epoch, content.Length, CheckpointChecksum.Verify(content)!);
    }

    [Fact]
    public void The_store_is_a_folder_beside_a_sqlite_journal_named_after_it_unless_configured()
    {
        Assert.Equal(Path.Combine(_journal.Folder, "sweep.checkpoint-store"), CheckpointStore.DirectoryFor(_journal.Location, null));
        Assert.Equal(Path.Combine(_journal.Folder, "sweep.checkpoint-store"), CheckpointStore.DirectoryFor(_journal.Location, "  "));
        var elsewhere = Path.Combine(_journal.Folder, "elsewhere");
        Assert.Equal(elsewhere, CheckpointStore.DirectoryFor(_journal.Location, elsewhere));
        var postgres = JournalLocation.Parse("Host=db;Database=sweepdb;Username=u;Password=p");
        Assert.Equal(Path.GetFullPath(Path.Combine("runs", "sweepdb.checkpoint-store")), CheckpointStore.DirectoryFor(postgres, null));
    }

    [Fact]
    public void A_verified_upload_replaces_the_trials_older_checkpoint()
    {
        var store = Store;
        var first = Checkpoint(100_000);
        var second = Checkpoint(150_000);
        Upload(store, "s1-t0001", 1, first);
        var latest = Upload(store, "s1-t0001", 2, second);

        Assert.Equal(new StoredCheckpointFile("s1-t0001", 2, latest.Path, second.Length), store.Latest("s1-t0001"));
        Assert.Equal(latest.Path, store.LatestOf("s1-t0001"));
        Assert.Equal(second, store.ReadVerified(latest));
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(latest.Path)!));
        Assert.Null(store.Latest("s1-t0002"));
        Assert.Null(store.LatestOf("s1-t0002"));
    }

    [Fact]
    public void Uploads_a_previous_coordinator_left_unfinished_are_dropped_and_stored_checkpoints_kept()
    {
        var store = Store;
        Assert.Equal(0, store.DropUnfinishedUploads());
        var kept = Upload(store, "s1-t0001", 1, Checkpoint(50_000));
        var cutOff = Checkpoint(80_000);
        store.WriteChunk("s1-t0001", 2, 0, cutOff.AsSpan(0, 30_000));
        store.WriteChunk("s2-t0003", 1, 0, cutOff.AsSpan(0, 10_000));
        Assert.Equal(2, Directory.GetFiles(store.Directory, "*.part", SearchOption.AllDirectories).Length);

        var restarted = Store;
        Assert.Equal(2, restarted.DropUnfinishedUploads());
        Assert.Empty(Directory.GetFiles(store.Directory, "*.part", SearchOption.AllDirectories));
        Assert.Equal(kept, restarted.Latest("s1-t0001"));
        // The cut-off upload starts again from offset 0 and completes.
        Assert.Equal(2, Upload(restarted, "s1-t0001", 2, cutOff).Epoch);
    }

    [Fact]
    public void An_upload_of_the_wrong_length_or_hash_is_refused_and_leaves_the_stored_checkpoint_alone()
    {
        var store = Store;
        var good = Checkpoint(10_000);
        var stored = Upload(store, "s1-t0001", 1, good);

        var bad = Checkpoint(10_000);
        bad[100] ^= 1;
        store.WriteChunk("s1-t0001", 2, 0, bad);
        var corrupt = Assert.Throws<InvalidDataException>(() => store.Commit("s1-t0001", 2, bad.Length, CheckpointChecksum.Verify(good)!));
        Assert.Contains("SHA-256", corrupt.Message);
        store.WriteChunk("s1-t0001", 3, 0, good.AsSpan(0, 5000));
        var shortUpload = Assert.Throws<InvalidDataException>(() => store.Commit("s1-t0001", 3, good.Length, CheckpointChecksum.Verify(good)!));
        Assert.Contains("not the announced", shortUpload.Message);

        Assert.Equal(stored, store.Latest("s1-t0001"));
        Assert.Equal(good, File.ReadAllBytes(stored.Path));
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(stored.Path)!));
    }

    [Fact]
    public void A_stored_checkpoint_that_no_longer_verifies_is_never_offered_and_reading_it_sets_it_aside()
    {
        var store = Store;
        var stored = Upload(store, "s1-t0001", 2, Checkpoint(5000));
        var bytes = File.ReadAllBytes(stored.Path);
        bytes[^1] ^= 0x80;
        File.WriteAllBytes(stored.Path, bytes);

        // LatestOf (export, test) reports it unusable and changes nothing.
        Assert.Null(store.LatestOf("s1-t0001"));
        Assert.True(File.Exists(stored.Path));
        var error = Assert.Throws<InvalidDataException>(() => store.ReadVerified(stored));
        Assert.Equal("checkpoint epoch-00002.ckpt of trial s1-t0001 fails its SHA-256 checksum", error.Message);
        Assert.False(File.Exists(stored.Path));
        Assert.True(File.Exists(stored.Path + ".corrupt"));
        Assert.Null(store.Latest("s1-t0001"));
    }

    [Fact]
    public void Only_the_checkpoint_the_journal_recorded_is_offered_for_export()
    {
        var store = Store;
        var content = Checkpoint(8000);
        var stored = Upload(store, "s1-t0001", 3, content);
        var sha = CheckpointChecksum.Verify(content)!;

        Assert.Equal(stored.Path, store.VerifiedPath("s1-t0001", 3, sha));
        Assert.Equal(stored, store.At("s1-t0001", 3));
        // Another epoch or another file (say, left by an earlier sweep whose journal was deleted) is not this journal's.
        Assert.Null(store.VerifiedPath("s1-t0001", 2, sha));
        Assert.Null(store.VerifiedPath("s1-t0001", 3, CheckpointChecksum.Verify(Checkpoint(8000))!));
        Assert.Null(store.At("s1-t0001", 2));
    }

    [Theory]
    [InlineData("../s1-t0001")]
    [InlineData("s1-t0001/../../x")]
    [InlineData("/etc")]
    [InlineData("")]
    public void A_trial_id_never_names_a_path_outside_the_store(string trialId)
    {
        var store = Store;
        Assert.ThrowsAny<ArgumentException>(() => store.WriteChunk(trialId, 1, 0, new byte[10]));
        Assert.ThrowsAny<ArgumentException>(() => store.Latest(trialId));
        Assert.ThrowsAny<ArgumentException>(() => store.Delete(trialId));
        Assert.False(Directory.Exists(Path.Combine(_journal.Folder, "x")));
    }

    public void Dispose() => _journal.Dispose();
}
