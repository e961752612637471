using System.Diagnostics;
using System.Globalization;
using Sweep.Models.Models;
using Sweep.Models.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Sweep.Bench;

/// <summary>
/// Benchmarks that compare Sweep's hand-written layers with TorchSharp's built-in ones inside one process.
/// Both sides run the same model, batch and update, interleaved round by round (alternating which goes
/// first), so background load on a shared machine hits both alike; figures are medians.
/// </summary>
public static class Program
{
    private const string Usage =
        "usage: Sweep.Bench bn-step|throughput [--rounds N] [--steps N] [--warmup N] [--threads N] [--device cpu|cuda]";

    public static int Main(string[] args)
    {
        try
        {
            var options = BenchOptions.Parse(args);
            torch.set_num_threads(options.Threads);
            var device = TorchDevices.Resolve(options.Device);
            Console.WriteLine($"{TorchDevices.Describe(device)}; GLIBC_TUNABLES={Environment.GetEnvironmentVariable("GLIBC_TUNABLES") ?? "(unset)"}");
            Console.WriteLine($"rounds {options.Rounds}, steps per round {options.Steps}, warm-up steps {options.Warmup}");
            switch (options.Command)
            {
                case "bn-step":
                    BnStep(options, device);
                    return 0;
                case "throughput":
                    Throughput(options, device);
                    return 0;
                default:
                    Console.Error.WriteLine($"unknown command '{options.Command}'; {Usage}");
                    return 2;
            }
        }
        catch (ArgumentException error)
        {
            Console.Error.WriteLine($"{error.Message}; {Usage}");
            return 2;
        }
    }

    /// <summary>Per-step time of the challenge CNN (digest §3.4, batch 64) with Sweep's spatial BN vs nn.BatchNorm2d.</summary>
    private static void BnStep(BenchOptions options, Device device)
    {
        var spec = ConvNetSpec.Challenge;
        var result = Compare(spec, batch: 64, options, device);
        Console.WriteLine();
        Console.WriteLine("bn-step: challenge CNN training step (forward, loss, backward, SGD update), batch 64");
        Console.WriteLine($"  Sweep SpatialBatchNorm   median {result.SweepMedianMs,8:F2} ms/step");
        Console.WriteLine($"  built-in BatchNorm2d     median {result.BuiltInMedianMs,8:F2} ms/step");
        Console.WriteLine($"  ratio Sweep/built-in     {result.Ratio:F3} (median of per-round ratios {result.PairedRatio:F3}; target <= 1.10)");
    }

    /// <summary>Training images/second of the three seed models with Sweep's layers vs the built-in ones.</summary>
    private static void Throughput(BenchOptions options, Device device)
    {
        var cases = new (string Name, ModelSpec Spec, int Batch)[]
        {
            ("fc [600x4] batchnorm dropout 0.2 (ECE final FC)",
                new FullyConnectedNetSpec([600, 600, 600, 600]) { Normalization = Normalization.BatchNorm, Dropout = 0.2, WeightScale = 0.04 }, 500),
            ("three_layer_convnet hidden 500 (no norm layers: control)",
                new ThreeLayerConvNetSpec { HiddenDim = 500, Reg = 1e-3 }, 50),
            ("challenge CNN (spatial batchnorm)", ConvNetSpec.Challenge, 64),
        };
        var rows = new List<(string, int, Comparison)>();
        foreach (var (name, spec, batch) in cases)
        {
            Console.WriteLine($"measuring {name} ...");
            rows.Add((name, batch, Compare(spec, batch, options, device)));
        }
        Console.WriteLine();
        Console.WriteLine($"{"model",-58} {"batch",5} {"Sweep img/s",12} {"built-in img/s",15} {"ratio",7}");
        foreach (var (name, batch, r) in rows)
            Console.WriteLine($"{name,-58} {batch,5} {batch * 1000 / r.SweepMedianMs,12:F0} {batch * 1000 / r.BuiltInMedianMs,15:F0} {r.BuiltInMedianMs / r.SweepMedianMs,7:F3}");
        Console.WriteLine("ratio = Sweep throughput / built-in throughput (1.0 = equal; > 1 Sweep faster)");
    }

    private sealed record Comparison(double SweepMedianMs, double BuiltInMedianMs, double PairedRatio)
    {
        public double Ratio => SweepMedianMs / BuiltInMedianMs;
    }

    private static Comparison Compare(ModelSpec spec, int batch, BenchOptions options, Device device)
    {
        using var sweep = new TrainingStep(spec with { Layers = LayerImplementation.Sweep }, batch, device);
        using var builtIn = new TrainingStep(spec with { Layers = LayerImplementation.BuiltIn }, batch, device);
        sweep.Run(options.Warmup);
        builtIn.Run(options.Warmup);

        var sweepTimes = new List<double>();
        var builtInTimes = new List<double>();
        var pairedRatios = new List<double>();
        for (var round = 0; round < options.Rounds; round++)
        {
            // Alternate the order so neither side always runs right after the other's allocations.
            var first = round % 2 == 0 ? sweep : builtIn;
            var second = round % 2 == 0 ? builtIn : sweep;
            var a = first.Run(options.Steps);
            var b = second.Run(options.Steps);
            var (s, t) = round % 2 == 0 ? (a, b) : (b, a);
            sweepTimes.AddRange(s);
            builtInTimes.AddRange(t);
            pairedRatios.Add(Median(s) / Median(t));
        }
        return new Comparison(Median(sweepTimes), Median(builtInTimes), Median(pairedRatios));
    }

    private static double Median(IReadOnlyCollection<double> values)
    {
        var sorted = values.Order().ToArray();
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    /// <summary>One model plus a fixed batch; a step is zero_grad, loss, backward and a plain SGD update.</summary>
    private sealed class TrainingStep : IDisposable
    {
        private const double LearningRate = 1e-3;
        private readonly ClassifierModel model;
        private readonly Tensor images;
        private readonly Tensor labels;
        private readonly Parameter[] parameters;

        public TrainingStep(ModelSpec spec, int batch, Device device)
        {
            model = ModelFactory.Create(spec, device, seed: 1);
            model.train();
            parameters = model.parameters().ToArray();
            var generator = new Generator(7);
            images = randn([batch, spec.InputChannels, spec.InputHeight, spec.InputWidth], generator: generator).to(device);
            labels = randint(0, spec.NumClasses, [batch], generator: generator).to(device);
        }

        /// <summary>Runs <paramref name="steps"/> steps and returns each one's wall time in milliseconds.</summary>
        public List<double> Run(int steps)
        {
            var times = new List<double>(steps);
            for (var i = 0; i < steps; i++)
            {
                var watch = Stopwatch.StartNew();
                using (NewDisposeScope())
                {
                    model.zero_grad();
                    var loss = model.Loss(images, labels);
                    loss.backward();
                    using (no_grad())
                        foreach (var p in parameters)
                            p.add_(p.grad!, alpha: -LearningRate);
                    if (!double.IsFinite(loss.item<float>()))
                        throw new InvalidOperationException("benchmark loss became non-finite");
                }
                times.Add(watch.Elapsed.TotalMilliseconds);
            }
            return times;
        }

        public void Dispose()
        {
            model.Dispose();
            images.Dispose();
            labels.Dispose();
        }
    }

    private sealed record BenchOptions(string Command, int Rounds, int Steps, int Warmup, int Threads, string? Device)
    {
        public static BenchOptions Parse(string[] args)
        {
            if (args.Length == 0)
                throw new ArgumentException("no command given");
            var options = new BenchOptions(args[0], Rounds: 10, Steps: 5, Warmup: 5, Threads: Environment.ProcessorCount, Device: "cpu");
            for (var i = 1; i < args.Length; i++)
            {
                var value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"option {args[i]} needs a value");
                options = args[i] switch
                {
                    "--rounds" => options with { Rounds = Positive(args[i], value) },
                    "--steps" => options with { Steps = Positive(args[i], value) },
                    "--warmup" => options with { Warmup = int.Parse(value, CultureInfo.InvariantCulture) },
                    "--threads" => options with { Threads = Positive(args[i], value) },
                    "--device" => options with { Device = value },
                    _ => throw new ArgumentException($"unknown option {args[i]}"),
                };
                i++;
            }
            return options;
        }

        private static int Positive(string name, string value) =>
            int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0
                ? n
                : throw new ArgumentException($"{name} {value} is invalid; use a positive integer");
    }
}
