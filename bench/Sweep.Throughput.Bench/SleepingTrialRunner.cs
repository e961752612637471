using System.Collections.Immutable;
using System.Diagnostics;
using Sweep.Search.Trials;
using Sweep.Worker.Trials;

namespace Sweep.Throughput.Bench;

/// <summary>
/// A trial runner that trains nothing: every epoch sleeps <paramref name="epoch"/> and reports made-up figures, so the
/// coordinator's own cost is all that is measured. No trial starts before <paramref name="startAt"/>, the moment every
/// worker of the run has joined, so the measured time starts with all slots busy.
/// </summary>
internal sealed class SleepingTrialRunner(TimeSpan epoch, DateTimeOffset startAt) : ITrialRunner
{
    public TrialResult Run(TrialSpec trial, TrialSlot slot, TrialRunOptions options, Action<TrialEpochProgress> onEpoch, CancellationToken cancellation)
    {
        var wait = startAt - DateTimeOffset.UtcNow;
        if (wait > TimeSpan.Zero && cancellation.WaitHandle.WaitOne(wait))
            return Cancelled();
        var clock = Stopwatch.StartNew();
        var train = ImmutableArray.CreateBuilder<double>();
        var val = ImmutableArray.CreateBuilder<double>();
        train.Add(0.1);
        val.Add(0.1);
        for (var e = 1; e <= trial.Budget.Epochs; e++)
        {
            if (epoch > TimeSpan.Zero ? cancellation.WaitHandle.WaitOne(epoch) : cancellation.IsCancellationRequested)
                return Cancelled();
            // Deterministic per trial and epoch, spread out so that rankings are not all ties.
            var acc = 0.1 + (trial.Seed % 997) / 2000.0 + e / 100.0;
            train.Add(acc + 0.05);
            val.Add(acc);
            onEpoch(new TrialEpochProgress(e, 2.0 / e, acc + 0.05, acc, clock.Elapsed.TotalSeconds));
        }
        return new TrialResult(TrialStatus.Completed, val.Max(), val.Count - 1, train.ToImmutable(), val.ToImmutable(), 1.0, clock.Elapsed.TotalSeconds);
    }

    private static TrialResult Cancelled() => new(TrialStatus.Cancelled, 0, 0, [], [], 0, 0);
}
