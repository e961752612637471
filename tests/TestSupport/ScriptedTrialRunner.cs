using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Security.Cryptography;
using Sweep.Contract.Security;
using Sweep.Search.Parameters;
using Sweep.Search.Trials;
using Sweep.Worker.Trials;

namespace Sweep.TestSupport;

/// <summary>What a scripted trial does.</summary>
public enum TrialScript { Train, BlockUntilCancelled, Throw, BadConfiguration }

/// <summary>
/// A trial runner without TorchSharp: "trains" for the budget's epochs with a short pause per epoch,
/// reporting each one, or blocks until cancelled, or throws (a plain failure, or a configuration error as the
/// parameter table reports it). Records what ran and how many ran at once. Like the real runners it honours
/// <see cref="TrialRunOptions"/>: it writes a checkpoint file every N epochs and after the last (its epoch and histories,
/// <paramref name="checkpointPayloadBytes"/> random bytes standing in for the weights, and the SHA-256 trailer every
/// checkpoint ends with), and a run given one to resume from continues after the epoch it holds.
/// </summary>
public sealed class ScriptedTrialRunner(TrialScript script, TimeSpan epochPause, int checkpointPayloadBytes = 4096) : ITrialRunner
{
    private const int Magic = 0x504B4353; // "SCKP"

    private int _running;
    private int _maxConcurrent;

    public ConcurrentQueue<string> Started { get; } = new();

    /// <summary>The trials whose run ended because it was cancelled, in the order they ended.</summary>
    public ConcurrentQueue<string> Cancelled { get; } = new();
    public ConcurrentQueue<int> Threads { get; } = new();
    public int MaxConcurrent => Volatile.Read(ref _maxConcurrent);

    /// <summary>Every epoch this runner trained, as (trial, epoch), in order.</summary>
    public ConcurrentQueue<(string TrialId, int Epoch)> TrainedEpochs { get; } = new();

    /// <summary>Every run that resumed, as (trial, epoch its checkpoint held).</summary>
    public ConcurrentQueue<(string TrialId, int Epoch)> Resumes { get; } = new();

    public TrialResult Run(TrialSpec trial, TrialSlot slot, TrialRunOptions options, Action<TrialEpochProgress> onEpoch, CancellationToken cancellation)
    {
        Started.Enqueue(trial.TrialId);
        Threads.Enqueue(Environment.CurrentManagedThreadId);
        var now = Interlocked.Increment(ref _running);
        InterlockedMax(ref _maxConcurrent, now);
        try
        {
            // Like the Solver's histories: the epoch-0 check first, then one entry per epoch.
            var val = new List<double> { 0.1 };
            var train = new List<double> { 0.1 };
            var first = 1;
            if (options.ResumeFrom is { } resumeFrom)
            {
                var resumed = ReadCheckpoint(resumeFrom);
                (train, val, first) = (resumed.Train, resumed.Val, resumed.Epoch + 1);
                Resumes.Enqueue((trial.TrialId, resumed.Epoch));
            }
            switch (script)
            {
                case TrialScript.Throw:
                    throw new InvalidOperationException("scripted failure");
                case TrialScript.BadConfiguration:
                    throw new TrialParameterException("groups", "groups 3 does not divide conv channel count 32");
                case TrialScript.BlockUntilCancelled:
                    cancellation.WaitHandle.WaitOne(TimeSpan.FromSeconds(30));
                    return Result(TrialStatus.Cancelled, train, val);
            }
            for (var epoch = first; epoch <= trial.Budget.Epochs; epoch++)
            {
                if (cancellation.WaitHandle.WaitOne(epochPause))
                {
                    Cancelled.Enqueue(trial.TrialId);
                    return Result(TrialStatus.Cancelled, train, val);
                }
                var acc = 0.1 + 0.01 * epoch + (trial.Seed % 100) / 1000.0;
                train.Add(acc + 0.05);
                val.Add(acc);
                TrainedEpochs.Enqueue((trial.TrialId, epoch));
                var due = options.CheckpointEvery > 0 && (epoch % options.CheckpointEvery == 0 || epoch == trial.Budget.Epochs);
                var checkpoint = due ? WriteCheckpoint(slot, trial.TrialId, epoch, train, val) : null;
                onEpoch(new TrialEpochProgress(epoch, 2.0 / epoch, acc + 0.05, acc, epochPause.TotalSeconds, checkpoint));
            }
            return Result(TrialStatus.Completed, train, val);
        }
        finally
        {
            Interlocked.Decrement(ref _running);
        }
    }

    private string WriteCheckpoint(TrialSlot slot, string trialId, int epoch, List<double> train, List<double> val)
    {
        var folder = TrialCheckpoints.FolderOf(slot.CheckpointDirectory, trialId);
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, $"scripted-epoch-{epoch}-{Guid.NewGuid():N}.ckpt");
        using var body = new MemoryStream();
        using (var writer = new BinaryWriter(body, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Magic);
            writer.Write(epoch);
            writer.Write(train.Count);
            foreach (var v in train.Concat(val))
                writer.Write(v);
            writer.Write(RandomNumberGenerator.GetBytes(checkpointPayloadBytes));
        }
        var content = body.ToArray();
        File.WriteAllBytes(path, [.. content, .. SHA256.HashData(content)]);
        return path;
    }

    /// <summary>Reads a checkpoint this runner wrote; a file that fails its checksum is an error, as in the real runners.</summary>
    public static (int Epoch, List<double> Train, List<double> Val) ReadCheckpoint(string path)
    {
        if (CheckpointChecksum.VerifyFile(path) is null)
            throw new InvalidDataException($"checkpoint {Path.GetFileName(path)} fails its SHA-256 checksum");
        using var reader = new BinaryReader(File.OpenRead(path));
        if (reader.ReadInt32() != Magic)
            throw new InvalidDataException($"{Path.GetFileName(path)} is not a scripted checkpoint");
        var epoch = reader.ReadInt32();
        var count = reader.ReadInt32();
        var train = Enumerable.Range(0, count).Select(_ => reader.ReadDouble()).ToList();
        var val = Enumerable.Range(0, count).Select(_ => reader.ReadDouble()).ToList();
        return (epoch, train, val);
    }

    private static TrialResult Result(TrialStatus status, List<double> train, List<double> val) =>
        new(status, val.Max(), val.IndexOf(val.Max()),
            [.. train], [.. val], 1.0, 0.1);

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
