using System.Diagnostics;
using System.Globalization;
using Sweep.Models.Data;
using Sweep.Models.Networks;
using Sweep.Models.Runtime;
using Sweep.Models.Training;
using Sweep.Models.Training.Optim;
using TorchSharp;
using static TorchSharp.torch;

namespace Sweep.Epoch.Bench;

/// <summary>
/// Whole-trainer benchmarks on real CIFAR-10.
/// <list type="bullet">
/// <item><c>epoch</c>: Sweep's trainer exactly as <c>sweep train</c> runs it (Solver: minibatches sampled with
/// replacement, accuracy checks, hand-written layers, seed Adam) against the simplest TorchSharp loop that
/// trains the same architecture with built-in layers and torch.optim.Adam on the same images and minibatch
/// size. The two sides alternate within each round (which goes first alternates too), so background load
/// on a shared machine falls on both; the table gives medians, their ratio and the load average.</item>
/// <item><c>layout</c>: a sweep's training throughput (trial-images per second over the whole sweep) for
/// slots x threads layouts: S trial threads in one process, each with T torch threads, pulling trials
/// from one queue as a worker's slots do.</item>
/// <item><c>checkpoint</c>: the cost of resumable trials. Sweep's trainer with a trial checkpoint written after
/// every epoch against the same run without, alternating within each round; the ratio of whole-run wall times and
/// the checkpoint's size.</item>
/// </list>
/// </summary>
public static class Program
{
    private const string Usage =
        "usage: Sweep.Epoch.Bench epoch|layout|checkpoint [--data DIR] [--rounds N] [--epochs N] [--models fc,three_layer,cnn] " +
        "[--num-train N] [--threads N] [--device cpu|cuda] [--layouts 1x2,2x1] [--trials N]";

    public static int Main(string[] args)
    {
        try
        {
            var options = BenchOptions.Parse(args);
            var device = TorchDevices.Resolve(options.Device);
            torch.set_num_threads(options.Threads);
            var data = CifarLoader.Load(options.DataDirectory, CifarSplitOptions.Default with { DownloadIfEmpty = false });
            if (options.NumTrain is { } k)
                data = data.WithNumTrain(k);
            Console.WriteLine($"{TorchDevices.Describe(device)}; {Environment.ProcessorCount} cores; {data.NumTrain} training images");
            Console.WriteLine($"load average at start {LoadAverage.Read()}");
            switch (options.Command)
            {
                case "epoch":
                    EpochBenchmark.Run(options, data, device);
                    break;
                case "layout":
                    LayoutBenchmark.Run(options, data, device);
                    break;
                case "checkpoint":
                    CheckpointBenchmark.Run(options, data, device);
                    break;
                default:
                    Console.Error.WriteLine($"unknown command '{options.Command}'; {Usage}");
                    return 2;
            }
            Console.WriteLine($"load average at end {LoadAverage.Read()}");
            return 0;
        }
        catch (ArgumentException error)
        {
            Console.Error.WriteLine($"{error.Message}; {Usage}");
            return 2;
        }
        catch (CifarDataException error)
        {
            Console.Error.WriteLine(error.Message);
            return 2;
        }
    }
}

/// <summary>The three seed models at their notebooks' minibatch sizes, as Sweep specs.</summary>
internal sealed record BenchModel(string Key, string Title, ModelSpec Spec, int Batch)
{
    public static IReadOnlyList<BenchModel> All { get; } =
    [
        new("fc", "FC [600]x4 BN + dropout 0.2",
            new FullyConnectedNetSpec([600, 600, 600, 600]) { Normalization = Normalization.BatchNorm, Dropout = 0.2, WeightScale = 0.04 }, 500),
        new("three_layer", "ThreeLayerConvNet (reg 1e-3)", new ThreeLayerConvNetSpec { Reg = 1e-3 }, 50),
        new("cnn", "challenge CNN (spatial BN)", ConvNetSpec.Challenge, 64),
    ];

    public static BenchModel Find(string key) =>
        All.FirstOrDefault(m => m.Key == key) ?? throw new ArgumentException($"unknown model '{key}'; use {string.Join(", ", All.Select(m => m.Key))}");
}

/// <summary>
/// The bare peer: the same architecture from TorchSharp's built-in modules in an nn.Sequential, trained by
/// the loop everyone writes first (shuffled epoch, zero_grad, loss, backward, torch.optim.Adam step with the
/// L2 strength as weight decay, loss.item() for the running loss), then train/val accuracy at the epoch end.
/// </summary>
internal static class BareLoop
{
    public static nn.Module<Tensor, Tensor> Build(ModelSpec spec, Device device)
    {
        var layers = new List<(string, nn.Module<Tensor, Tensor>)>();
        void Add(nn.Module<Tensor, Tensor> m) => layers.Add(($"{layers.Count}", m));
        switch (spec)
        {
            case FullyConnectedNetSpec fc:
                Add(nn.Flatten());
                long inFeatures = fc.InputDim;
                foreach (var width in fc.HiddenDims)
                {
                    Add(nn.Linear(inFeatures, width));
                    Add(nn.BatchNorm1d(width));
                    Add(nn.ReLU());
                    Add(nn.Dropout(fc.Dropout));
                    inFeatures = width;
                }
                Add(nn.Linear(inFeatures, fc.NumClasses));
                break;
            case ThreeLayerConvNetSpec three:
                Add(nn.Conv2d(three.InputChannels, three.NumFilters, three.FilterSize, padding: three.Padding));
                Add(nn.ReLU());
                Add(nn.MaxPool2d(2, 2));
                Add(nn.Flatten());
                Add(nn.Linear((long)three.NumFilters * three.InputHeight / 2 * three.InputWidth / 2, three.HiddenDim));
                Add(nn.ReLU());
                Add(nn.Linear(three.HiddenDim, three.NumClasses));
                break;
            case ConvNetSpec cnn:
                long channels = cnn.InputChannels;
                for (var i = 0; i < cnn.ConvChannels.Count; i++)
                {
                    Add(nn.Conv2d(channels, cnn.ConvChannels[i], 3, padding: 1));
                    Add(nn.BatchNorm2d(cnn.ConvChannels[i]));
                    Add(nn.ReLU());
                    if (cnn.PoolAfter.Contains(i + 1))
                        Add(nn.MaxPool2d(2, 2));
                    channels = cnn.ConvChannels[i];
                }
                Add(nn.Flatten());
                var (h, w) = cnn.OutputSize;
                Add(nn.Linear(channels * h * w, cnn.NumClasses));
                break;
            default:
                throw new ArgumentException($"no bare peer for {spec.GetType().Name}");
        }
        var model = nn.Sequential(layers);
        model.to(device);
        return model;
    }

    /// <summary>Trains <paramref name="epochs"/> epochs of N / batch minibatches (the last partial one dropped, as the Solver counts).</summary>
    public static void Train(nn.Module<Tensor, Tensor> model, ModelSpec spec, CifarDataset data, int batch, int epochs, Device device, long seed)
    {
        torch.random.manual_seed(seed);
        using var generator = new Generator(unchecked((ulong)seed));
        using var optimizer = torch.optim.Adam(model.parameters(), lr: 1e-3, weight_decay: spec.Reg);
        var images = data.TrainImages.to(device);
        var labels = data.TrainLabels.to(device);
        var iterations = Math.Max(data.NumTrain / batch, 1);
        for (var epoch = 0; epoch < epochs; epoch++)
        {
            model.train();
            using var order = randperm(data.NumTrain, generator: generator).to(device);
            var runningLoss = 0.0;
            for (var i = 0; i < iterations; i++)
            {
                using var scope = NewDisposeScope();
                var index = order.narrow(0, (long)i * batch, Math.Min(batch, data.NumTrain));
                var x = images.index_select(0, index);
                var y = labels.index_select(0, index);
                optimizer.zero_grad();
                var loss = nn.functional.cross_entropy(model.call(x), y);
                loss.backward();
                optimizer.step();
                runningLoss += loss.item<float>();
            }
            if (!double.IsFinite(runningLoss))
                throw new InvalidOperationException("the bare loop's loss became non-finite");
            Accuracy(model, images.narrow(0, 0, Math.Min(1000, data.NumTrain)), labels.narrow(0, 0, Math.Min(1000, data.NumTrain)), device);
            Accuracy(model, data.ValImages, data.ValLabels, device);
        }
    }

    private static double Accuracy(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels, Device device)
    {
        model.eval();
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        long correct = 0;
        for (long start = 0; start < images.shape[0]; start += 500)
        {
            var length = Math.Min(500, images.shape[0] - start);
            var scores = model.call(images.narrow(0, start, length).to(device));
            correct += scores.argmax(1).eq(labels.narrow(0, start, length).to(device)).sum().item<long>();
        }
        model.train();
        return (double)correct / images.shape[0];
    }
}

/// <summary>The <c>epoch</c> command.</summary>
internal static class EpochBenchmark
{
    public static void Run(BenchOptions options, CifarDataset data, Device device)
    {
        var models = options.Models.Select(BenchModel.Find).ToList();
        Console.WriteLine($"epoch benchmark: {options.Rounds} rounds x {options.Epochs} epoch(s) per run; models {string.Join(", ", models.Select(m => m.Key))}");
        var sweepRuns = models.ToDictionary(m => m.Key, _ => new List<TimedRun>());
        var bareRuns = models.ToDictionary(m => m.Key, _ => new List<TimedRun>());
        var loads = new List<double>();
        for (var round = 0; round < options.Rounds; round++)
        {
            foreach (var model in models)
            {
                var sweepFirst = round % 2 == 0;
                for (var side = 0; side < 2; side++)
                {
                    var isSweep = (side == 0) == sweepFirst;
                    loads.Add(LoadAverage.OneMinute());
                    var run = isSweep ? RunSweep(model, data, options, device, round) : RunBare(model, data, options, device, round);
                    loads.Add(LoadAverage.OneMinute());
                    (isSweep ? sweepRuns : bareRuns)[model.Key].Add(run);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  round {round + 1} {model.Key,-12} {(isSweep ? "sweep" : "bare"),-6} {run.WallSeconds,8:F2} s wall {run.CpuSeconds,8:F2} s cpu   load {LoadAverage.Read()}"));
                }
            }
        }

        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"epoch benchmark, {data.NumTrain} images, {options.Epochs} epoch(s) per run, {options.Rounds} rounds, torch threads {torch.get_num_threads()}; " +
            $"1-min load average during the runs: min {loads.Min():F2}, median {Median(loads):F2}, max {loads.Max():F2}"));
        Console.WriteLine("| model | batch | images | Sweep s/epoch | bare s/epoch | ratio | paired ratio | Sweep cpu s/epoch | bare cpu s/epoch | cpu ratio | Sweep img/s |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var model in models)
        {
            var sweep = sweepRuns[model.Key];
            var bare = bareRuns[model.Key];
            var sweepMedian = Median(sweep.Select(r => r.WallSeconds)) / options.Epochs;
            var bareMedian = Median(bare.Select(r => r.WallSeconds)) / options.Epochs;
            var paired = Median(sweep.Zip(bare, (s, b) => b.WallSeconds / s.WallSeconds));
            var sweepCpu = Median(sweep.Select(r => r.CpuSeconds)) / options.Epochs;
            var bareCpu = Median(bare.Select(r => r.CpuSeconds)) / options.Epochs;
            var imagesPerEpoch = Math.Max(data.NumTrain / model.Batch, 1) * model.Batch;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {model.Title} | {model.Batch} | {data.NumTrain} | {sweepMedian:F2} | {bareMedian:F2} | {bareMedian / sweepMedian:F3} | {paired:F3} | " +
                $"{sweepCpu:F2} | {bareCpu:F2} | {bareCpu / sweepCpu:F3} | {imagesPerEpoch / sweepMedian:F0} |"));
        }
        Console.WriteLine("ratio = bare median / Sweep median wall time per epoch; paired ratio = median over rounds of bare / Sweep in the same round;");
        Console.WriteLine("cpu = process CPU time (all threads), which leaves out time spent preempted by other processes.");
        Console.WriteLine(">= 0.95 is the goal; > 1 means Sweep is faster.");
    }

    /// <summary>
    /// Sweep's epochs as the Solver reports them: each report's time runs from the previous accuracy check to
    /// the end of this epoch's check, i.e. one epoch of steps plus its epoch-end check, which is what the bare
    /// loop's epoch holds too. The seed Solver's extra check after the very first update (about 2,000 forward
    /// images, once per run) is left out, and so is nothing else.
    /// </summary>
    private static TimedRun RunSweep(BenchModel model, CifarDataset data, BenchOptions options, Device device, int round)
    {
        using var scope = NewDisposeScope();
        using var network = ModelFactory.Create(model.Spec, device, seed: round + 1);
        var solverOptions = new SolverOptions
        {
            UpdateRule = UpdateRuleKind.Adam, LearningRate = 1e-3, BatchSize = model.Batch, Epochs = options.Epochs, Seed = round + 1,
        };
        using var process = Process.GetCurrentProcess();
        var wall = 0.0;
        var cpu = TimeSpan.Zero;
        var cpuAtCheck = process.TotalProcessorTime;
        var outcome = Trainer.Train(network, data, solverOptions, report =>
        {
            process.Refresh();
            var now = process.TotalProcessorTime;
            if (report.Epoch > 0)
            {
                wall += report.Seconds;
                cpu += now - cpuAtCheck;
            }
            cpuAtCheck = now;
        });
        if (outcome.Status != TrainingStatus.Completed)
            throw new InvalidOperationException($"Sweep's run of {model.Key} ended {outcome.Status}");
        return new TimedRun(wall, cpu.TotalSeconds);
    }

    private static TimedRun RunBare(BenchModel model, CifarDataset data, BenchOptions options, Device device, int round)
    {
        using var scope = NewDisposeScope();
        torch.random.manual_seed(round + 1);
        using var network = BareLoop.Build(model.Spec, device);
        return TimedRun.Measure(() => BareLoop.Train(network, model.Spec, data, model.Batch, options.Epochs, device, round + 1));
    }

    internal static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0) return double.NaN;
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}

/// <summary>The <c>checkpoint</c> command.</summary>
internal static class CheckpointBenchmark
{
    public static void Run(BenchOptions options, CifarDataset data, Device device)
    {
        var models = options.Models.Select(BenchModel.Find).ToList();
        var folder = Path.Combine(Path.GetTempPath(), "sweep-checkpoint-bench-" + Environment.ProcessId);
        Console.WriteLine($"checkpoint benchmark: {options.Rounds} rounds x {options.Epochs} epoch(s) per run, a checkpoint after every epoch or none");
        var runs = models.ToDictionary(m => m.Key, _ => (With: new List<double>(), Without: new List<double>()));
        var sizes = new Dictionary<string, long>();
        var loads = new List<double>();
        try
        {
            for (var round = 0; round < options.Rounds; round++)
            {
                foreach (var model in models)
                {
                    var checkpointFirst = round % 2 == 0;
                    for (var side = 0; side < 2; side++)
                    {
                        var every = (side == 0) == checkpointFirst ? 1 : 0;
                        loads.Add(LoadAverage.OneMinute());
                        var (seconds, size) = Train(model, data, options, device, round, every, folder);
                        loads.Add(LoadAverage.OneMinute());
                        (every == 1 ? runs[model.Key].With : runs[model.Key].Without).Add(seconds);
                        if (size > 0) sizes[model.Key] = size;
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"  round {round + 1} {model.Key,-12} {(every == 1 ? "checkpoints" : "none"),-11} {seconds,8:F2} s wall   load {LoadAverage.Read()}"));
                    }
                }
            }
        }
        finally
        {
            if (Directory.Exists(folder))
                Directory.Delete(folder, recursive: true);
        }

        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"checkpoint benchmark, {data.NumTrain} images, {options.Epochs} epoch(s) per run, {options.Rounds} rounds, torch threads {torch.get_num_threads()}; " +
            $"1-min load average during the runs: min {loads.Min():F2}, median {EpochBenchmark.Median(loads):F2}, max {loads.Max():F2}"));
        Console.WriteLine("| model | batch | checkpoint bytes | with s/run | without s/run | ratio | paired ratio |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var model in models)
        {
            var (with, without) = runs[model.Key];
            var withMedian = EpochBenchmark.Median(with);
            var withoutMedian = EpochBenchmark.Median(without);
            var paired = EpochBenchmark.Median(with.Zip(without, (w, n) => w / n));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {model.Title} | {model.Batch} | {sizes.GetValueOrDefault(model.Key):N0} | {withMedian:F2} | {withoutMedian:F2} | {withMedian / withoutMedian:F3} | {paired:F3} |"));
        }
        Console.WriteLine("ratio = wall time of a run writing a checkpoint after every epoch / the same run writing none (goal: at most 1.03 for FC, 1.02 for the CNN).");
    }

    /// <summary>One Sweep training run; the checkpoints it writes are deleted as the worker deletes them once uploaded.</summary>
    private static (double Seconds, long CheckpointBytes) Train(BenchModel model, CifarDataset data, BenchOptions options, Device device, int round, int every, string folder)
    {
        using var scope = NewDisposeScope();
        using var network = ModelFactory.Create(model.Spec, device, seed: round + 1);
        var solverOptions = new SolverOptions
        {
            UpdateRule = UpdateRuleKind.Adam, LearningRate = 1e-3, BatchSize = model.Batch, Epochs = options.Epochs, Seed = round + 1,
            // Both sides keep the best weights in the folder, as every trial on a worker does; only the checkpoints differ.
            CheckpointEvery = every, CheckpointDirectory = folder,
        };
        long size = 0;
        var run = TimedRun.Measure(() =>
        {
            var outcome = Trainer.Train(network, data, solverOptions, report =>
            {
                if (report.CheckpointPath is { } path)
                {
                    size = new FileInfo(path).Length;
                    File.Delete(path);
                }
            });
            if (outcome.Status != TrainingStatus.Completed)
                throw new InvalidOperationException($"Sweep's run of {model.Key} ended {outcome.Status}");
        });
        return (run.WallSeconds, size);
    }
}

/// <summary>
/// The <c>layout</c> command: for each slots x threads layout, S threads train the same list of trials
/// (FC [600]x4 BN + dropout at batch 500, whose trials are the sweeps' usual ones, alternating with the
/// ThreeLayerConvNet), each taking the next trial when its last one ends, as a worker's slots do. The
/// throughput is trial-images (epochs x iterations x batch, summed over trials) per wall second.
/// Layouts alternate round by round.
/// </summary>
internal static class LayoutBenchmark
{
    public static void Run(BenchOptions options, CifarDataset data, Device device)
    {
        var layouts = options.Layouts;
        var trials = Enumerable.Range(0, options.Trials)
            .Select(i => BenchModel.All[i % 2 == 0 ? 0 : 1])
            .ToList();
        Console.WriteLine($"layout benchmark: {trials.Count} trials per sweep ({string.Join(", ", trials.Select(t => t.Key))}), {options.Epochs} epoch(s) each, {options.Rounds} rounds");
        var results = layouts.ToDictionary(l => l, _ => new List<double>());
        var loads = new List<double>();
        for (var round = 0; round < options.Rounds; round++)
        {
            var order = round % 2 == 0 ? layouts : layouts.Reverse().ToList();
            foreach (var layout in order)
            {
                loads.Add(LoadAverage.OneMinute());
                var (imagesPerSecond, seconds) = TrainAll(layout, trials, data, options.Epochs, device);
                loads.Add(LoadAverage.OneMinute());
                results[layout].Add(imagesPerSecond);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  round {round + 1} {layout.Slots}x{layout.Threads}: {seconds:F1} s, {imagesPerSecond:F0} trial-images/s   load {LoadAverage.Read()}"));
            }
        }
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"layout benchmark, {Environment.ProcessorCount} cores, {trials.Count} trials x {options.Epochs} epoch(s) on {data.NumTrain} images; " +
            $"1-min load average during the runs: min {loads.Min():F2}, median {EpochBenchmark.Median(loads):F2}, max {loads.Max():F2}"));
        Console.WriteLine("| slots x threads | trial-images/s (median) | relative to the first |");
        Console.WriteLine("|---|---:|---:|");
        var first = EpochBenchmark.Median(results[layouts[0]]);
        foreach (var layout in layouts)
        {
            var median = EpochBenchmark.Median(results[layout]);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {layout.Slots} x {layout.Threads} | {median:F0} | {median / first:F3} |"));
        }
    }

    private static (double ImagesPerSecond, double Seconds) TrainAll(Layout layout, IReadOnlyList<BenchModel> trials, CifarDataset data, int epochs, Device device)
    {
        var next = -1;
        long images = 0;
        var watch = Stopwatch.StartNew();
        var slots = Enumerable.Range(0, layout.Slots).Select(_ => new Thread(() =>
        {
            int index;
            while ((index = Interlocked.Increment(ref next)) < trials.Count)
            {
                var model = trials[index];
                using var scope = NewDisposeScope();
                using var network = ModelFactory.Create(model.Spec, device, seed: index + 1);
                var outcome = Trainer.Train(network, data, new SolverOptions
                {
                    UpdateRule = UpdateRuleKind.Adam, LearningRate = 1e-3, BatchSize = model.Batch, Epochs = epochs, Seed = index + 1,
                    Threads = layout.Threads,
                });
                if (outcome.Status != TrainingStatus.Completed)
                    throw new InvalidOperationException($"trial {index} ended {outcome.Status}");
                Interlocked.Add(ref images, (long)epochs * Math.Max(data.NumTrain / model.Batch, 1) * model.Batch);
            }
        }, maxStackSize: 16 << 20)).ToList();
        slots.ForEach(t => t.Start());
        slots.ForEach(t => t.Join());
        var seconds = watch.Elapsed.TotalSeconds;
        return (images / seconds, seconds);
    }
}

internal readonly record struct TimedRun(double WallSeconds, double CpuSeconds)
{
    public static TimedRun Measure(Action body)
    {
        using var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var watch = Stopwatch.StartNew();
        body();
        var wall = watch.Elapsed.TotalSeconds;
        process.Refresh();
        return new TimedRun(wall, (process.TotalProcessorTime - cpu).TotalSeconds);
    }
}

internal static class LoadAverage
{
    public static string Read()
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

    public static double OneMinute() =>
        double.TryParse(Read().Split(' ')[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : double.NaN;
}

internal sealed record Layout(int Slots, int Threads)
{
    public static Layout Parse(string text)
    {
        var parts = text.Split('x');
        if (parts.Length == 2 && int.TryParse(parts[0], out var s) && int.TryParse(parts[1], out var t) && s >= 1 && t >= 1)
            return new Layout(s, t);
        throw new ArgumentException($"layout '{text}' is invalid; write SLOTSxTHREADS, e.g. 2x1");
    }
}

internal sealed record BenchOptions(string Command, string DataDirectory, int Rounds, int Epochs, IReadOnlyList<string> Models,
    int? NumTrain, int Threads, string? Device, IReadOnlyList<Layout> Layouts, int Trials)
{
    public static BenchOptions Parse(string[] args)
    {
        if (args.Length == 0)
            throw new ArgumentException("no command given");
        var options = new BenchOptions(args[0], Environment.GetEnvironmentVariable("SWEEP_DATA") ?? "", Rounds: 3, Epochs: 1,
            Models: BenchModel.All.Select(m => m.Key).ToList(), NumTrain: null, Threads: Environment.ProcessorCount, Device: "cpu",
            Layouts: [new Layout(1, Environment.ProcessorCount), new Layout(Environment.ProcessorCount, 1)], Trials: 4);
        for (var i = 1; i < args.Length; i += 2)
        {
            var value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"option {args[i]} needs a value");
            options = args[i] switch
            {
                "--data" => options with { DataDirectory = value },
                "--rounds" => options with { Rounds = Positive(args[i], value) },
                "--epochs" => options with { Epochs = Positive(args[i], value) },
                "--models" => options with { Models = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(k => BenchModel.Find(k).Key).ToList() },
                "--num-train" => options with { NumTrain = Positive(args[i], value) },
                "--threads" => options with { Threads = Positive(args[i], value) },
                "--device" => options with { Device = value },
                "--layouts" => options with { Layouts = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Layout.Parse).ToList() },
                "--trials" => options with { Trials = Positive(args[i], value) },
                _ => throw new ArgumentException($"unknown option {args[i]}"),
            };
        }
        if (string.IsNullOrWhiteSpace(options.DataDirectory))
            throw new ArgumentException("no CIFAR-10 folder given; pass --data DIR or set SWEEP_DATA");
        return options;
    }

    private static int Positive(string name, string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n
            : throw new ArgumentException($"{name} {value} is invalid; use a positive integer");
}
