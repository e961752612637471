using System.Diagnostics;
using Sweep.Models.Layers;
using static TorchSharp.torch;

namespace Sweep.Bench.Stress;

/// <summary>How <c>Sweep.Bench stress</c> runs: stop after <see cref="Seconds"/> or <see cref="Applies"/>, whichever comes first.</summary>
public sealed record StressOptions
{
    public int Seconds { get; init; } = 60;
    public long Applies { get; init; } = long.MaxValue;
    public int Slots { get; init; } = 2;

    /// <summary>When set, runs the square() probe instead of the layer stress.</summary>
    public SquareProbe? Square { get; init; }

    public static SquareProbe ParseSquare(string value) => value switch
    {
        "implicit" => SquareProbe.Implicit,
        "kept" => SquareProbe.Kept,
        _ => throw new ArgumentException($"--square {value} is invalid; use implicit or kept"),
    };
}

/// <summary>implicit: TorchSharp's square(), which passes an implicit Scalar 2; kept: <see cref="KeptScalars.Power"/>.</summary>
public enum SquareProbe { Implicit, Kept }

/// <summary>
/// <c>stress</c>: the layer stress of <see cref="LayerStress"/>, or with <c>--square</c> a tight loop of one
/// scalar op under the same garbage churn (the scenario of the crash reproduction), checked against x*x.
/// Exit 0 when it ran to the end without a failure, 1 when a result was wrong or an exception was thrown;
/// a native crash kills the process (exit by signal).
/// </summary>
public static class StressCommand
{
    public static int Run(StressOptions options)
    {
        var duration = TimeSpan.FromSeconds(options.Seconds);
        Console.WriteLine(options.Square is { } probe
            ? $"stress: square() probe ({probe}) under GC churn, up to {options.Seconds} s or {options.Applies} applies"
            : $"stress: {options.Slots} slots of hand-written layers and models under GC churn, up to {options.Seconds} s or {options.Applies} applies");
        var result = options.Square is { } mode
            ? RunSquareProbe(mode, duration, options.Applies)
            : LayerStress.Run(options.Slots, duration, options.Applies, Console.WriteLine);
        Console.WriteLine($"total applies {result.Applies}, {result.Elapsed.TotalSeconds:F1} s, {result.AppliesPerSecond:F0} applies/s");
        foreach (var failure in result.Failures)
            Console.WriteLine($"FAILED {failure}");
        Console.WriteLine(result.Failures.Count == 0 ? "stress passed" : "stress failed");
        return result.Failures.Count == 0 ? 0 : 1;
    }

    private static StressResult RunSquareProbe(SquareProbe mode, TimeSpan duration, long maxApplies)
    {
        var failures = new List<string>();
        using var stop = new CancellationTokenSource();
        var churn = new Thread(() =>
        {
            var random = new Random(1);
            while (!stop.IsCancellationRequested)
            {
                GC.KeepAlive(new byte[random.Next(1, 200_000)]);
                if (random.Next(50) == 0)
                    GC.Collect();
            }
        }) { IsBackground = true };
        churn.Start();
        var watch = Stopwatch.StartNew();
        long applies = 0;
        using var generator = new Generator(5);
        try
        {
            while (applies < maxApplies && watch.Elapsed < duration)
            {
                using var scope = NewDisposeScope();
                var x = randn([8, 4], generator: generator);
                var squared = mode == SquareProbe.Implicit ? x.square() : x.Power(2);
                applies++;
                if (!squared.allclose(x.mul(x), rtol: 0, atol: 0))
                {
                    failures.Add($"apply {applies}: square differs from x*x");
                    break;
                }
                if (applies % 200_000 == 0)
                    Console.WriteLine($"{applies} applies, {watch.Elapsed.TotalSeconds:F0} s");
            }
        }
        catch (Exception error)
        {
            failures.Add($"apply {applies}: {error.GetType().Name}: {error.Message.Split('\n')[0]}");
        }
        stop.Cancel();
        churn.Join();
        return new StressResult(applies, watch.Elapsed, failures);
    }
}
