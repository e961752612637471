using System.Collections.Concurrent;
using System.Collections.Immutable;
using Sweep.Search.Parameters;
using Sweep.Search.Trials;
using Sweep.Worker.Trials;

namespace Sweep.TestSupport;

/// <summary>What a scripted trial does.</summary>
public enum TrialScript { Train, BlockUntilCancelled, Throw, BadConfiguration }

/// <summary>
/// A trial runner without TorchSharp: "trains" for the budget's epochs with a short pause per epoch,
/// reporting each one, or blocks until cancelled, or throws (a plain failure, or a configuration error as the
/// parameter table reports it). Records what ran and how many ran at once.
/// </summary>
public sealed class ScriptedTrialRunner(TrialScript script, TimeSpan epochPause) : ITrialRunner
{
    private int _running;
    private int _maxConcurrent;

    public ConcurrentQueue<string> Started { get; } = new();

    /// <summary>The trials whose run ended because it was cancelled, in the order they ended.</summary>
    public ConcurrentQueue<string> Cancelled { get; } = new();
    public ConcurrentQueue<int> Threads { get; } = new();
    public int MaxConcurrent => Volatile.Read(ref _maxConcurrent);

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
            for (var epoch = 1; epoch <= trial.Budget.Epochs; epoch++)
            {
                if (cancellation.WaitHandle.WaitOne(epochPause))
                {
                    Cancelled.Enqueue(trial.TrialId);
                    return Result(TrialStatus.Cancelled, train, val);
                }
                var acc = 0.1 + 0.01 * epoch + (trial.Seed % 100) / 1000.0;
                train.Add(acc + 0.05);
                val.Add(acc);
                onEpoch(new TrialEpochProgress(epoch, 2.0 / epoch, acc + 0.05, acc, epochPause.TotalSeconds));
            }
            return Result(TrialStatus.Completed, train, val);
        }
        finally
        {
            Interlocked.Decrement(ref _running);
        }
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
