using System.Diagnostics;
using Sweep.Models.Layers;
using Sweep.Models.Models;
using Sweep.Models.Training.Optim;
using TorchSharp;
using static TorchSharp.torch;

namespace Sweep.Bench.Stress;

/// <summary>
/// Stress of the hand-written layers the way a worker node runs them: each slot (one thread, as one trial
/// slot) applies forward and backward of every hand-written layer and of every model, on small sizes, and
/// takes one update step of a training of its own, while a third thread churns the garbage collector
/// (allocations plus frequent forced, compacting collections). The churn makes the GC move and finalize
/// objects at arbitrary moments, which is what turns a managed object that native code still uses into a
/// native crash. Every forward/backward result is compared with the single-threaded reference computed
/// before the churn starts, so a corrupted (rather than crashed) computation is caught too.
/// </summary>
/// <remarks>
/// This file is shared by the <c>stress</c> benchmark command and by the short CI version in the
/// Models tests. One "apply" is one forward and backward pass of one case (or one training step).
/// </remarks>
public sealed class LayerStress
{
    /// <summary>Runs <paramref name="slots"/> slots until <paramref name="duration"/> has passed or <paramref name="maxApplies"/> applies are done.</summary>
    public static StressResult Run(int slots, TimeSpan duration, long maxApplies, Action<string>? progress = null, TimeSpan? progressEvery = null)
    {
        var workloads = Enumerable.Range(0, slots).Select(i => new SlotWorkload(i)).ToArray();
        try
        {
            // References first, single-threaded and without churn.
            foreach (var workload in workloads)
                workload.ComputeReferences();

            long applies = 0;
            var failures = new List<string>();
            using var stop = new CancellationTokenSource();
            var watch = Stopwatch.StartNew();
            var churn = new Thread(() => GarbageChurn(stop.Token)) { IsBackground = true, Name = "gc churn" };
            churn.Start();
            var threads = workloads.Select((workload, index) => new Thread(() =>
            {
                try
                {
                    while (!stop.IsCancellationRequested)
                    {
                        workload.ApplyNext();
                        if (Interlocked.Increment(ref applies) >= maxApplies || watch.Elapsed >= duration)
                            stop.Cancel();
                    }
                }
                catch (Exception error)
                {
                    lock (failures)
                        failures.Add($"slot {index}: {error.GetType().Name}: {error.Message}");
                    stop.Cancel();
                }
            }) { IsBackground = true, Name = $"slot {index}" }).ToArray();
            foreach (var thread in threads)
                thread.Start();

            var every = progressEvery ?? TimeSpan.FromSeconds(10);
            var next = every;
            while (threads.Any(t => t.IsAlive))
            {
                Thread.Sleep(200);
                if (progress is not null && watch.Elapsed >= next)
                {
                    var done = Interlocked.Read(ref applies);
                    progress($"{done} applies in {watch.Elapsed.TotalSeconds:F0} s ({done / watch.Elapsed.TotalSeconds:F0} applies/s)");
                    next += every;
                }
            }
            stop.Cancel();
            churn.Join();
            return new StressResult(Interlocked.Read(ref applies), watch.Elapsed, failures);
        }
        finally
        {
            foreach (var workload in workloads)
                workload.Dispose();
        }
    }

    /// <summary>Allocation churn with a forced, compacting full collection every ~50 allocations.</summary>
    private static void GarbageChurn(CancellationToken stop)
    {
        var random = new Random(1);
        var keep = new byte[64][];
        while (!stop.IsCancellationRequested)
        {
            keep[random.Next(keep.Length)] = new byte[random.Next(1, 200_000)];
            if (random.Next(50) == 0)
                GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        }
    }
}

/// <summary>Outcome of a stress run: applies done, wall time, and the failures (empty on success).</summary>
public sealed record StressResult(long Applies, TimeSpan Elapsed, IReadOnlyList<string> Failures)
{
    public double AppliesPerSecond => Applies / Elapsed.TotalSeconds;
}

/// <summary>
/// One slot's cases (its own modules, inputs and training, as a trial has) and the reference results
/// of the deterministic ones. Runs on one thread at a time.
/// </summary>
internal sealed class SlotWorkload : IDisposable
{
    private readonly List<StressCase> _cases = [];
    private readonly TrainingCase _training;
    private int _next;

    public SlotWorkload(int slot)
    {
        var seed = 100 + slot;
        using var generator = new Generator((ulong)seed);
        _cases.Add(LayerCase.Create("batchnorm (N, D)", new BatchNorm(24), [16, 24], generator));
        _cases.Add(LayerCase.Create("spatial batchnorm", new SpatialBatchNorm(8), [4, 8, 6, 6], generator));
        _cases.Add(LayerCase.Create("layernorm", new Sweep.Models.Layers.LayerNorm(24), [16, 24], generator));
        _cases.Add(LayerCase.Create("spatial groupnorm", new SpatialGroupNorm(4, 8), [4, 8, 6, 6], generator));
        _cases.Add(DropoutCase.Create([16, 24], generator));

        var small = (Channels: 3, Height: 8, Width: 8);
        var fc = new FullyConnectedNetSpec([20, 20])
        {
            InputChannels = small.Channels, InputHeight = small.Height, InputWidth = small.Width, WeightScale = 5e-2, Dropout = 0.2, Reg = 1e-3,
        };
        var conv = new ConvNetSpec([8, 8], [1, 2], [16])
        {
            InputChannels = small.Channels, InputHeight = small.Height, InputWidth = small.Width, Groups = 2, Dropout = 0.2, Reg = 1e-3,
        };
        _cases.Add(ModelCase.Create("fc batchnorm dropout", fc with { Normalization = Normalization.BatchNorm }, seed, generator));
        _cases.Add(ModelCase.Create("fc layernorm dropout", fc with { Normalization = Normalization.LayerNorm }, seed, generator));
        _cases.Add(ModelCase.Create("three-layer convnet", new ThreeLayerConvNetSpec
        {
            InputChannels = small.Channels, InputHeight = small.Height, InputWidth = small.Width, NumFilters = 4, FilterSize = 3, HiddenDim = 16, WeightScale = 1e-2, Reg = 1e-3,
        }, seed, generator));
        _cases.Add(ModelCase.Create("convnet batchnorm", conv with { Normalization = Normalization.BatchNorm }, seed, generator));
        _cases.Add(ModelCase.Create("convnet groupnorm", conv with { Normalization = Normalization.GroupNorm }, seed, generator));

        // Each slot trains with another update rule (adam first: it passes the most scalars to native code).
        var rules = Enum.GetValues<UpdateRuleKind>().Reverse().ToArray();
        _training = new TrainingCase(conv with { Normalization = Normalization.BatchNorm }, rules[slot % rules.Length], seed, generator);
    }

    public void ComputeReferences()
    {
        foreach (var c in _cases)
            c.ComputeReference();
    }

    /// <summary>One apply: the next case in turn, checked against its reference, or a training step.</summary>
    public void ApplyNext()
    {
        var index = _next;
        _next = (_next + 1) % (_cases.Count + 1);
        if (index == _cases.Count)
            _training.Step();
        else
            _cases[index].ApplyAndCheck();
    }

    public void Dispose()
    {
        foreach (var c in _cases)
            c.Dispose();
        _training.Dispose();
    }
}

/// <summary>A deterministic forward+backward whose results (output and gradients) are compared with a reference.</summary>
internal abstract class StressCase(string name) : IDisposable
{
    private Tensor[]? _reference;

    public string Name { get; } = name;

    /// <summary>Forward and backward inside the caller's dispose scope; returns the output and the gradients.</summary>
    protected abstract Tensor[] Apply();

    public void ComputeReference()
    {
        using var scope = NewDisposeScope();
        _reference = Apply().Select(t => t.detach().clone().DetachFromDisposeScope()).ToArray();
        if (_reference.Any(t => !t.isfinite().all().item<bool>()))
            throw new InvalidOperationException($"{Name}: the reference result is not finite");
    }

    public void ApplyAndCheck()
    {
        using var scope = NewDisposeScope();
        var results = Apply();
        var reference = _reference ?? throw new InvalidOperationException("ComputeReference first");
        for (var i = 0; i < reference.Length; i++)
        {
            if (!results[i].isfinite().all().item<bool>())
                throw new InvalidOperationException($"{Name}: result {i} is not finite");
            // The same inputs on the same thread count give the same result up to reduction order.
            if (!results[i].allclose(reference[i], rtol: 1e-4, atol: 1e-6))
                throw new InvalidOperationException($"{Name}: result {i} differs from the single-threaded reference");
        }
    }

    public virtual void Dispose()
    {
        foreach (var t in _reference ?? [])
            t.Dispose();
    }
}

/// <summary>A hand-written layer on a fixed input; the loss is sum(output * weights) for fixed random weights.</summary>
internal sealed class LayerCase : StressCase
{
    private readonly nn.Module<Tensor, Tensor> _layer;
    private readonly Tensor _input;
    private readonly Tensor _lossWeights;

    private LayerCase(string name, nn.Module<Tensor, Tensor> layer, Tensor input, Tensor lossWeights) : base(name)
    {
        _layer = layer;
        _input = input;
        _lossWeights = lossWeights;
    }

    public static LayerCase Create(string name, nn.Module<Tensor, Tensor> layer, long[] shape, Generator generator)
    {
        layer.train();
        // gamma and beta away from 1 and 0 so that their gradients matter in the check.
        using (no_grad())
            foreach (var p in layer.parameters())
                using (NewDisposeScope())
                    p.copy_(randn(p.shape, generator: generator));
        var input = randn(shape, generator: generator).requires_grad_(true).DetachFromDisposeScope();
        return new LayerCase(name, layer, input, randn(shape, generator: generator).DetachFromDisposeScope());
    }

    protected override Tensor[] Apply()
    {
        _input.grad = null;
        _layer.zero_grad();
        var output = _layer.call(_input);
        output.mul(_lossWeights).sum().backward();
        return [output, _input.grad!, .. _layer.parameters().Select(p => p.grad!)];
    }

    public override void Dispose()
    {
        base.Dispose();
        _layer.Dispose();
        _input.Dispose();
        _lossWeights.Dispose();
    }
}

/// <summary>Inverted dropout whose generator is reseeded before every apply, so its mask is the same each time.</summary>
internal sealed class DropoutCase : StressCase
{
    private const ulong MaskSeed = 17;
    private readonly Generator _maskGenerator = new(MaskSeed);
    private readonly InvertedDropout _layer;
    private readonly Tensor _input;
    private readonly Tensor _lossWeights;

    private DropoutCase(Tensor input, Tensor lossWeights) : base("inverted dropout")
    {
        _layer = new InvertedDropout(0.3, _maskGenerator);
        _input = input;
        _lossWeights = lossWeights;
    }

    public static DropoutCase Create(long[] shape, Generator generator) =>
        new(randn(shape, generator: generator).requires_grad_(true).DetachFromDisposeScope(),
            randn(shape, generator: generator).DetachFromDisposeScope());

    protected override Tensor[] Apply()
    {
        _maskGenerator.manual_seed((long)MaskSeed);
        _input.grad = null;
        var output = _layer.call(_input);
        output.mul(_lossWeights).sum().backward();
        return [output, _input.grad!];
    }

    public override void Dispose()
    {
        base.Dispose();
        _layer.Dispose();
        _maskGenerator.Dispose();
        _input.Dispose();
        _lossWeights.Dispose();
    }
}

/// <summary>
/// A freshly built model per apply (same spec and seed, so the same weights and dropout masks): the loss
/// and every parameter gradient of one batch.
/// </summary>
internal sealed class ModelCase : StressCase
{
    private readonly ModelSpec _spec;
    private readonly long _seed;
    private readonly Tensor _images;
    private readonly Tensor _labels;

    private ModelCase(string name, ModelSpec spec, long seed, Tensor images, Tensor labels) : base(name)
    {
        _spec = spec;
        _seed = seed;
        _images = images;
        _labels = labels;
    }

    public static ModelCase Create(string name, ModelSpec spec, long seed, Generator generator) =>
        new(name, spec, seed,
            randn([8, spec.InputChannels, spec.InputHeight, spec.InputWidth], generator: generator).DetachFromDisposeScope(),
            randint(0, spec.NumClasses, [8], generator: generator).DetachFromDisposeScope());

    protected override Tensor[] Apply()
    {
        using var model = ModelFactory.Create(_spec, CPU, _seed);
        var loss = model.Loss(_images, _labels);
        loss.backward();
        // The gradients must outlive the model: detach them into the caller's scope.
        return [loss, .. model.parameters().Select(p => p.grad!.detach().clone())];
    }

    public override void Dispose()
    {
        base.Dispose();
        _images.Dispose();
        _labels.Dispose();
    }
}

/// <summary>A training of its own per slot: one minibatch step (forward, loss, backward, update rule) per apply.</summary>
internal sealed class TrainingCase : IDisposable
{
    private readonly ClassifierModel _model;
    private readonly ParameterUpdater _updater;
    private readonly Tensor _images;
    private readonly Tensor _labels;
    private readonly Generator _batchGenerator;

    public TrainingCase(ModelSpec spec, UpdateRuleKind rule, long seed, Generator generator)
    {
        _model = ModelFactory.Create(spec, CPU, seed);
        var learningRate = rule == UpdateRuleKind.Adam ? 1e-3 : 1e-2;
        _updater = new ParameterUpdater(_model.parameters(), () => UpdateRule.Create(rule, learningRate));
        _images = randn([64, spec.InputChannels, spec.InputHeight, spec.InputWidth], generator: generator).DetachFromDisposeScope();
        _labels = randint(0, spec.NumClasses, [64], generator: generator).DetachFromDisposeScope();
        _batchGenerator = new Generator((ulong)seed);
    }

    public void Step()
    {
        using var scope = NewDisposeScope();
        var indices = randint(0, _images.shape[0], [16], dtype: ScalarType.Int64, generator: _batchGenerator);
        var loss = _model.Loss(_images.index_select(0, indices), _labels.index_select(0, indices));
        if (!loss.isfinite().item<bool>())
            throw new InvalidOperationException("training: the loss is not finite");
        loss.backward();
        _updater.Step();
    }

    public void Dispose()
    {
        _updater.Dispose();
        _model.Dispose();
        _images.Dispose();
        _labels.Dispose();
        _batchGenerator.Dispose();
    }
}
