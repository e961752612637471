using System.Diagnostics;
using System.Globalization;
using Sweep.Models.Layers;
using Sweep.Models.Models;
using Sweep.Bench.Stress;
using Sweep.Models.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Sweep.Bench;

/// <summary>
/// Benchmarks that compare Sweep's hand-written layers with TorchSharp's built-in ones inside one process.
/// Both sides run the same model, batch and update, interleaved round by round (by default one step per
/// side per round, alternating which goes first), so background load on a shared machine hits both alike;
/// figures are medians of per-step wall time and of per-step process CPU time, and the median of the
/// per-round ratios (the steadiest figure when other processes compete for the cores).
/// </summary>
public static class Program
{
    private const string Usage =
        "usage: Sweep.Bench bn-step|throughput|bn-layer|stress [--rounds N] [--steps N] [--warmup N] [--threads N] [--device cpu|cuda]" +
        " [--seconds S] [--applies N] [--slots N] [--square implicit|kept]";

    public static int Main(string[] args)
    {
        try
        {
            var options = BenchOptions.Parse(args);
            torch.set_num_threads(options.Threads);
            var device = TorchDevices.Resolve(options.Device);
            Console.WriteLine($"{TorchDevices.Describe(device)}; GLIBC_TUNABLES={Environment.GetEnvironmentVariable("GLIBC_TUNABLES") ?? "(unset)"}");
            Console.WriteLine($"rounds {options.Rounds}, steps per round {options.Steps}, warm-up steps {options.Warmup}; load average at start {LoadAverage()}");
            switch (options.Command)
            {
                case "bn-step":
                    BnStep(options, device);
                    break;
                case "throughput":
                    Throughput(options, device);
                    break;
                case "bn-layer":
                    BnLayer(options, device);
                    break;
                case "stress":
                    return StressCommand.Run(options.Stress);
                default:
                    Console.Error.WriteLine($"unknown command '{options.Command}'; {Usage}");
                    return 2;
            }
            Console.WriteLine($"load average at end {LoadAverage()}");
            return 0;
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
        var result = Compare(ConvNetSpec.Challenge, batch: 64, options, device);
        Console.WriteLine();
        Console.WriteLine("bn-step: challenge CNN training step (forward, loss, backward, SGD update), batch 64");
        Console.WriteLine($"  {"",-26} {"wall ms/step",13} {"cpu ms/step",12}");
        Console.WriteLine($"  {"Sweep SpatialBatchNorm",-26} {result.Sweep.WallMs,13:F1} {result.Sweep.CpuMs,12:F1}");
        Console.WriteLine($"  {"built-in BatchNorm2d",-26} {result.BuiltIn.WallMs,13:F1} {result.BuiltIn.CpuMs,12:F1}");
        Console.WriteLine($"  {"ratio Sweep/built-in",-26} {result.WallRatio,13:F3} {result.CpuRatio,12:F3}   (target <= 1.10)");
        Console.WriteLine($"  median of per-round wall ratios {result.PairedWallRatio:F3}, cpu ratios {result.PairedCpuRatio:F3}");
        Console.WriteLine($"  fastest steps (least disturbed by other processes): Sweep {result.SweepFastestMs:F1} ms, built-in {result.BuiltInFastestMs:F1} ms, ratio {result.SweepFastestMs / result.BuiltInFastestMs:F3}");
    }

    /// <summary>Training images/second of the three seed models with Sweep's layers vs the built-in ones.</summary>
    private static void Throughput(BenchOptions options, Device device)
    {
        var cases = new (string Name, ModelSpec Spec, int Batch)[]
        {
            ("fc [600]x4 batchnorm dropout 0.2",
                new FullyConnectedNetSpec([600, 600, 600, 600]) { Normalization = Normalization.BatchNorm, Dropout = 0.2, WeightScale = 0.04 }, 500),
            ("three_layer_convnet hidden 500 (control)",
                new ThreeLayerConvNetSpec { HiddenDim = 500, Reg = 1e-3 }, 50),
            ("challenge CNN (spatial batchnorm)", ConvNetSpec.Challenge, 64),
        };
        var rows = new List<(string Name, int Batch, Comparison Result)>();
        foreach (var (name, spec, batch) in cases)
        {
            Console.WriteLine($"measuring {name} ...");
            rows.Add((name, batch, Compare(spec, batch, options, device)));
        }
        Console.WriteLine();
        Console.WriteLine("training images/second (from median step times); ratio = Sweep / built-in throughput");
        Console.WriteLine($"{"model",-42} {"batch",5} {"Sweep wall",11} {"built-in wall",14} {"ratio",6} {"Sweep cpu",10} {"built-in cpu",13} {"ratio",6}");
        foreach (var (name, batch, r) in rows)
            Console.WriteLine(
                $"{name,-42} {batch,5} {batch * 1000 / r.Sweep.WallMs,11:F0} {batch * 1000 / r.BuiltIn.WallMs,14:F0} {1 / r.WallRatio,6:F3} " +
                $"{batch * 1000 / r.Sweep.CpuMs,10:F0} {batch * 1000 / r.BuiltIn.CpuMs,13:F0} {1 / r.CpuRatio,6:F3}");
        Console.WriteLine("(cpu img/s counts both torch threads' CPU time, so it is about half the wall figure on 2 threads)");
        Console.WriteLine("fastest-step throughput ratios (least disturbed by other processes):");
        foreach (var (name, _, r) in rows)
            Console.WriteLine($"  {name,-42} {r.BuiltInFastestMs / r.SweepFastestMs,6:F3}");
    }

    /// <summary>
    /// Forward+backward of one spatial BN layer on the challenge CNN's largest activation (64, 32, 32, 32),
    /// Sweep vs built-in, interleaved: locates where a bn-step gap comes from.
    /// </summary>
    private static void BnLayer(BenchOptions options, Device device)
    {
        var generator = new Generator(3);
        var x = randn([64, 32, 32, 32], generator: generator).to(device).requires_grad_(true);
        var dout = randn([64, 32, 32, 32], generator: generator).to(device);
        var sweep = new SpatialBatchNorm(32, device: device);
        var builtIn = nn.BatchNorm2d(32, device: device);
        var h = randn([500, 600], generator: generator).to(device).requires_grad_(true);
        var dh = randn([500, 600], generator: generator).to(device);
        var sweep1d = new Sweep.Models.Layers.BatchNorm(600, device: device);
        var builtIn1d = nn.BatchNorm1d(600, device: device);
        var sweepDropout = new InvertedDropout(0.2, new Generator(5, device));
        var builtInDropout = nn.Dropout(0.2);
        var cases = new (string Name, Action Body)[]
        {
            ("Sweep SpatialBatchNorm fwd+bwd", () => { x.grad = null; sweep.forward(x).backward([dout]); }),
            ("built-in BatchNorm2d fwd+bwd", () => { x.grad = null; builtIn.forward(x).backward([dout]); }),
            ("Sweep SpatialBatchNorm fwd", () => { using var _ = no_grad(); sweep.forward(x); }),
            ("built-in BatchNorm2d fwd", () => { using var _ = no_grad(); builtIn.forward(x); }),
            ("Sweep BatchNorm (500, 600) fwd+bwd", () => { h.grad = null; sweep1d.forward(h).backward([dh]); }),
            ("built-in BatchNorm1d (500, 600) fwd+bwd", () => { h.grad = null; builtIn1d.forward(h).backward([dh]); }),
            ("Sweep BatchNorm (500, 600) fwd", () => { using var _ = no_grad(); sweep1d.forward(h); }),
            ("built-in BatchNorm1d (500, 600) fwd", () => { using var _ = no_grad(); builtIn1d.forward(h); }),
            ("Sweep InvertedDropout (500, 600) fwd+bwd", () => { h.grad = null; sweepDropout.forward(h).backward([dh]); }),
            ("built-in Dropout (500, 600) fwd+bwd", () => { h.grad = null; builtInDropout.forward(h).backward([dh]); }),
        };
        var samples = cases.Select(_ => new List<Sample>()).ToArray();
        for (var w = 0; w < options.Warmup; w++)
            foreach (var c in cases) using (NewDisposeScope()) c.Body();
        for (var round = 0; round < options.Rounds; round++)
            for (var i = 0; i < cases.Length; i++)
                for (var s = 0; s < options.Steps; s++)
                    samples[i].Add(Sample.Measure(() => { using (NewDisposeScope()) cases[i].Body(); }));
        Console.WriteLine();
        Console.WriteLine($"  {"",-42} {"wall median",12} {"wall min",9}");
        for (var i = 0; i < cases.Length; i++)
            Console.WriteLine($"  {cases[i].Name,-42} {Median(samples[i].Select(t => t.WallMs)),12:F2} {samples[i].Min(t => t.WallMs),9:F2}");
    }

    private sealed record Comparison(Sample Sweep, Sample BuiltIn, double PairedWallRatio, double PairedCpuRatio,
        double SweepFastestMs, double BuiltInFastestMs)
    {
        public double WallRatio => Sweep.WallMs / BuiltIn.WallMs;
        public double CpuRatio => Sweep.CpuMs / BuiltIn.CpuMs;
    }

    private static Comparison Compare(ModelSpec spec, int batch, BenchOptions options, Device device)
    {
        using var sweep = new TrainingStep(spec with { Layers = LayerImplementation.Sweep }, batch, device);
        using var builtIn = new TrainingStep(spec with { Layers = LayerImplementation.BuiltIn }, batch, device);
        sweep.Run(options.Warmup);
        builtIn.Run(options.Warmup);

        var sweepSamples = new List<Sample>();
        var builtInSamples = new List<Sample>();
        var wallRatios = new List<double>();
        var cpuRatios = new List<double>();
        for (var round = 0; round < options.Rounds; round++)
        {
            // Alternate the order so that neither side always runs right after the other.
            var sweepFirst = round % 2 == 0;
            var first = (sweepFirst ? sweep : builtIn).Run(options.Steps);
            var second = (sweepFirst ? builtIn : sweep).Run(options.Steps);
            var (s, b) = sweepFirst ? (first, second) : (second, first);
            sweepSamples.AddRange(s);
            builtInSamples.AddRange(b);
            wallRatios.Add(Median(s.Select(t => t.WallMs)) / Median(b.Select(t => t.WallMs)));
            cpuRatios.Add(Median(s.Select(t => t.CpuMs)) / Median(b.Select(t => t.CpuMs)));
        }
        return new Comparison(MedianSample(sweepSamples), MedianSample(builtInSamples), Median(wallRatios), Median(cpuRatios),
            sweepSamples.Min(t => t.WallMs), builtInSamples.Min(t => t.WallMs));
    }

    private static Sample MedianSample(List<Sample> samples) =>
        new(Median(samples.Select(t => t.WallMs)), Median(samples.Select(t => t.CpuMs)));

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0) return double.NaN;
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    private static string LoadAverage()
    {
        try
        {
            return string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    /// <summary>
    /// Wall and process-CPU milliseconds of one step. CPU time leaves out the time this process sat
    /// preempted by other processes, so it is the steadier figure on a loaded machine.
    /// </summary>
    private readonly record struct Sample(double WallMs, double CpuMs)
    {
        public static Sample Measure(Action body)
        {
            using var process = Process.GetCurrentProcess();
            var cpuBefore = process.TotalProcessorTime;
            var watch = Stopwatch.StartNew();
            body();
            var wall = watch.Elapsed.TotalMilliseconds;
            process.Refresh();
            return new Sample(wall, (process.TotalProcessorTime - cpuBefore).TotalMilliseconds);
        }
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
            using var generator = new Generator(7);
            images = randn([batch, spec.InputChannels, spec.InputHeight, spec.InputWidth], generator: generator).to(device);
            labels = randint(0, spec.NumClasses, [batch], generator: generator).to(device);
        }

        public List<Sample> Run(int steps)
        {
            var samples = new List<Sample>(steps);
            for (var i = 0; i < steps; i++)
                samples.Add(Sample.Measure(Step));
            return samples;
        }

        private void Step()
        {
            using var scope = NewDisposeScope();
            model.zero_grad();
            var loss = model.Loss(images, labels);
            loss.backward();
            using (no_grad())
                foreach (var p in parameters)
                    p.Accumulate_(p.grad!, -LearningRate);
            if (!double.IsFinite(loss.item<float>()))
                throw new InvalidOperationException("benchmark loss became non-finite");
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
        public StressOptions Stress { get; init; } = new();

        public static BenchOptions Parse(string[] args)
        {
            if (args.Length == 0)
                throw new ArgumentException("no command given");
            var options = new BenchOptions(args[0], Rounds: 40, Steps: 1, Warmup: 3, Threads: Environment.ProcessorCount, Device: "cpu");
            for (var i = 1; i < args.Length; i += 2)
            {
                var value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"option {args[i]} needs a value");
                options = args[i] switch
                {
                    "--rounds" => options with { Rounds = Positive(args[i], value) },
                    "--steps" => options with { Steps = Positive(args[i], value) },
                    "--warmup" => options with { Warmup = NonNegative(args[i], value) },
                    "--threads" => options with { Threads = Positive(args[i], value) },
                    "--device" => options with { Device = value },
                    "--seconds" => options with { Stress = options.Stress with { Seconds = Positive(args[i], value) } },
                    "--applies" => options with { Stress = options.Stress with { Applies = PositiveLong(args[i], value) } },
                    "--slots" => options with { Stress = options.Stress with { Slots = Positive(args[i], value) } },
                    "--square" => options with { Stress = options.Stress with { Square = StressOptions.ParseSquare(value) } },
                    _ => throw new ArgumentException($"unknown option {args[i]}"),
                };
            }
            return options;
        }

        private static int Positive(string name, string value) =>
            int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0
                ? n
                : throw new ArgumentException($"{name} {value} is invalid; use a positive integer");

        private static long PositiveLong(string name, string value) =>
            long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0
                ? n
                : throw new ArgumentException($"{name} {value} is invalid; use a positive integer");

        private static int NonNegative(string name, string value) =>
            int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 0
                ? n
                : throw new ArgumentException($"{name} {value} is invalid; use an integer >= 0");
    }
}
