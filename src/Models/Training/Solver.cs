using System.Diagnostics;
using System.Globalization;
using Sweep.Models.Data;
using Sweep.Models.Networks;
using Sweep.Models.Runtime;
using Sweep.Models.Training.Optim;
using TorchSharp;
using static TorchSharp.torch;

namespace Sweep.Models.Training;

/// <summary>
/// Trains a classifier with the seed Solver's semantics (docs/seed-formulas.md §5): iterations_per_epoch =
/// max(N / batch_size, 1); minibatches drawn uniformly with replacement; an accuracy check after the
/// first update, at every epoch end and at the last iteration (train accuracy on 1,000 sampled
/// training images, val accuracy on the whole val set); the learning rate decayed per epoch; the
/// parameters with the strictly best val accuracy restored at the end (buffers such as batch-norm
/// running statistics are not). On top: a per-check callback, cancellation, divergence detection and
/// a trial seed that drives all sampling through its own generator, never torch's global RNG.
/// </summary>
/// <remarks>
/// The step loop never waits for the device: the data set sits on the training device (copied there once
/// per process), minibatch indices are drawn there, and each step's loss is written into a device buffer
/// (<see cref="DeviceLossLog"/>). The host reads that buffer at each accuracy check (which reads results
/// anyway), asks the device every <see cref="SolverOptions.DivergenceCheckEvery"/> steps whether a loss
/// diverged (one boolean), and, only when a log is attached, every print_every steps for the iteration
/// lines. A diverged run therefore stops within that many steps of the bad loss, and its loss history
/// ends at the first bad loss, as the seed Solver's does.
/// </remarks>
public sealed class Solver
{
    private readonly ClassifierModel _model;
    private readonly CifarDataset _data;
    private readonly SolverOptions _options;
    private readonly List<double> _lossHistory = [];
    private readonly List<double> _trainAccHistory = [];
    private readonly List<double> _valAccHistory = [];

    public Solver(ClassifierModel model, CifarDataset data, SolverOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _model = model;
        _data = data;
        _options = options;
        LearningRate = options.EffectiveLearningRate;
    }

    public IReadOnlyList<double> LossHistory => _lossHistory;
    public IReadOnlyList<double> TrainAccHistory => _trainAccHistory;
    public IReadOnlyList<double> ValAccHistory => _valAccHistory;

    /// <summary>The current learning rate (the initial one decayed once per finished epoch).</summary>
    public double LearningRate { get; private set; }

    public int IterationsPerEpoch => Math.Max(_data.NumTrain / _options.BatchSize, 1);
    public int NumIterations => _options.Epochs * IterationsPerEpoch;

    public TrainingOutcome Train(Action<EpochReport>? onEpoch = null, CancellationToken cancellationToken = default)
    {
        if (_lossHistory.Count > 0)
            throw new InvalidOperationException("a Solver trains once; create a new one for another run");
        if (_options.Threads is { } threads)
            torch.set_num_threads(threads);

        var total = Stopwatch.StartNew();
        var sinceCheck = Stopwatch.StartNew();
        var parameters = _model.parameters().ToList();
        var device = DeviceOf(parameters);
        var dtype = _model.Spec.DType;
        Log($"training on {TorchDevices.Describe(device)}, dtype {dtype}");
        // Minibatches are drawn on the training device, from a copy of the data made there once per process,
        // with a generator on that device: no image and no index crosses the bus inside the step loop.
        var data = _data.On(device);
        using var generator = new torch.Generator(SamplingSeed(_options.Seed), device);
        using var updater = new ParameterUpdater(parameters,
            () => UpdateRule.Create(_options.UpdateRule, _options.EffectiveLearningRate, _options.Momentum));
        var iterationsPerEpoch = IterationsPerEpoch;
        var numIterations = NumIterations;
        using var losses = new DeviceLossLog(device, capacity: iterationsPerEpoch, _options.DivergenceLoss);
        List<Tensor>? bestParameters = null;
        string? checkpointPath = null;
        var bestValAcc = 0.0;
        var bestEpoch = 0;
        var epoch = 0;
        var checkStart = 0;
        var status = TrainingStatus.Completed;

        // Reads the losses still on the device into the history (one host sync), prints the iteration lines
        // among them, and reports whether one of them diverged; the history then ends at the first such loss.
        bool FlushLosses()
        {
            var first = _lossHistory.Count;
            _lossHistory.AddRange(losses.Read());
            for (var t = first; t < _lossHistory.Count; t++)
            {
                var loss = _lossHistory[t];
                if (t % _options.PrintEvery == 0)
                    Log($"(Iteration {t + 1} / {numIterations}) loss: {Format(loss)}");
                if (double.IsFinite(loss) && loss <= _options.DivergenceLoss)
                    continue;
                _lossHistory.RemoveRange(t + 1, _lossHistory.Count - t - 1);
                Log($"diverged at iteration {t + 1}: loss {Format(loss)} (limit {_options.DivergenceLoss})");
                return true;
            }
            return false;
        }

        try
        {
            _model.train();
            for (var t = 0; t < numIterations; t++)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    status = TrainingStatus.Cancelled;
                    break;
                }

                Step(data, generator, updater, losses, dtype);
                var isCheck = t == 0 || t == numIterations - 1 || (t + 1) % iterationsPerEpoch == 0;
                // Host syncs only every few steps (one boolean), at accuracy checks, and for the log lines of a
                // run that prints them; losses stay on the device in between.
                var diverged = isCheck || (_options.Log is not null && t % _options.PrintEvery == 0) || losses.IsFull
                    ? FlushLosses()
                    : (t + 1) % _options.DivergenceCheckEvery == 0 && losses.DivergedSinceLastCheck() && FlushLosses();
                if (diverged)
                {
                    status = TrainingStatus.Diverged;
                    break;
                }

                if ((t + 1) % iterationsPerEpoch == 0)
                {
                    epoch++;
                    updater.DecayLearningRate(_options.LrDecay);
                    LearningRate *= _options.LrDecay;
                }
                if (!isCheck)
                    continue;

                var trainAcc = CheckAccuracy(data.TrainImages, data.TrainLabels, _options.NumTrainSamples, generator);
                var valAcc = CheckAccuracy(data.ValImages, data.ValLabels, _options.NumValSamples, generator);
                _trainAccHistory.Add(trainAcc);
                _valAccHistory.Add(valAcc);
                Log($"(Epoch {epoch} / {_options.Epochs}) train acc: {Format(trainAcc)}; val_acc: {Format(valAcc)}");
                if (valAcc > bestValAcc)
                {
                    bestValAcc = valAcc;
                    bestEpoch = epoch;
                    bestParameters = CopyParameters(parameters, bestParameters);
                    if (_options.CheckpointDirectory is { } directory)
                        checkpointPath = SaveCheckpoint(directory);
                }
                var meanLoss = _lossHistory.GetRange(checkStart, _lossHistory.Count - checkStart).Average();
                checkStart = _lossHistory.Count;
                onEpoch?.Invoke(new EpochReport(epoch, meanLoss, trainAcc, valAcc, sinceCheck.Elapsed.TotalSeconds));
                sinceCheck.Restart();
            }

            // A cancelled run still reports the losses of the steps it took.
            if (status != TrainingStatus.Diverged && FlushLosses())
                status = TrainingStatus.Diverged;
            if (bestParameters is not null)
                RestoreParameters(parameters, bestParameters);
        }
        finally
        {
            if (bestParameters is not null)
                foreach (var copy in bestParameters)
                    copy.Dispose();
        }

        return new TrainingOutcome(status, bestValAcc, bestEpoch, _trainAccHistory.ToList(), _valAccHistory.ToList(),
            _lossHistory.Count > 0 ? _lossHistory[^1] : double.NaN, total.Elapsed.TotalSeconds, checkpointPath);
    }

    /// <summary>
    /// Fraction of correct predictions in test mode (eval(), no_grad) on <paramref name="numSamples"/>
    /// images drawn with replacement by <paramref name="generator"/> (on its own device), or all of them when
    /// null or when there are not more than that. Batches go to the model's device as needed; the count
    /// stays there until the end (one host read). The model is put back in train mode afterwards.
    /// </summary>
    public double CheckAccuracy(Tensor images, Tensor labels, int? numSamples, torch.Generator generator)
    {
        var count = images.shape[0];
        var device = DeviceOf(_model.parameters());
        using var outer = NewDisposeScope();
        Tensor? indices = null;
        if (numSamples is { } k && count > k)
        {
            indices = randint(0, count, [k], dtype: ScalarType.Int64, device: generator.device, generator: generator)
                .to(images.device);
            count = k;
        }

        var correct = zeros([], ScalarType.Int64, device);
        // An explicit integer alpha kept alive for add_: TorchSharp would pass an implicit Scalar that the GC may free mid-call.
        using var countOne = 1L.ToScalar();
        _model.eval();
        try
        {
            using var _ = no_grad();
            for (long start = 0; start < count; start += _options.EvalBatchSize)
            {
                using var scope = NewDisposeScope();
                var length = Math.Min(_options.EvalBatchSize, count - start);
                Tensor x, y;
                if (indices is null)
                {
                    x = images.narrow(0, start, length);
                    y = labels.narrow(0, start, length);
                }
                else
                {
                    var chunk = indices.narrow(0, start, length);
                    x = images.index_select(0, chunk);
                    y = labels.index_select(0, chunk);
                }
                var scores = _model.forward(x.to(_model.Spec.DType, device));
                correct.add_(scores.argmax(1).eq_(y.to(device)).sum(), countOne);
            }
        }
        finally
        {
            _model.train();
        }
        return (double)correct.item<long>() / count;
    }

    /// <summary>One update on a minibatch drawn with replacement; the loss is appended on the device, never read here.</summary>
    private void Step(CifarDataset data, torch.Generator generator, ParameterUpdater updater, DeviceLossLog losses, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var indices = randint(0, data.NumTrain, [_options.BatchSize], dtype: ScalarType.Int64, device: generator.device, generator: generator);
        var x = data.TrainImages.index_select(0, indices);
        if (x.dtype != dtype)
            x = x.to_type(dtype);
        var y = data.TrainLabels.index_select(0, indices);
        var loss = _model.Loss(x, y);
        losses.Append(loss);
        loss.backward();
        updater.Step();
    }

    private static torch.Device DeviceOf(IEnumerable<TorchSharp.Modules.Parameter> parameters)
    {
        // Not disposed: these are the module's own parameters.
        var first = parameters.FirstOrDefault();
        return first?.device ?? torch.CPU;
    }

    private static List<Tensor> CopyParameters(List<TorchSharp.Modules.Parameter> parameters, List<Tensor>? into)
    {
        using var _ = no_grad();
        if (into is null)
            return parameters.Select(p => p.clone().DetachFromDisposeScope()).ToList();
        for (var i = 0; i < parameters.Count; i++)
            into[i].copy_(parameters[i]);
        return into;
    }

    private static void RestoreParameters(List<TorchSharp.Modules.Parameter> parameters, List<Tensor> best)
    {
        using var _ = no_grad();
        for (var i = 0; i < parameters.Count; i++)
            parameters[i].copy_(best[i]);
    }

    private string SaveCheckpoint(string directory)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "best.pt");
        var partial = path + ".partial";
        _model.save(partial);
        File.Move(partial, path, overwrite: true);
        return path;
    }

    /// <summary>
    /// The trial seed's own stream for minibatch sampling, so that sampling does not replay the random numbers
    /// that the same seed gave the model's initialization.
    /// </summary>
    internal static ulong SamplingSeed(long seed) => SeedStreams.Derive(seed, SeedStreams.Sampling);

    private void Log(string line) => _options.Log?.Invoke(line);

    private static string Format(double value) => value.ToString("F6", CultureInfo.InvariantCulture);
}

/// <summary>Entry point for one training run: <c>Trainer.Train(model, data, options, onEpoch, ct)</c>.</summary>
public static class Trainer
{
    /// <summary>Trains <paramref name="model"/> in place (best-val parameters restored) and reports how it went.</summary>
    public static TrainingOutcome Train(ClassifierModel model, CifarDataset data, SolverOptions options,
        Action<EpochReport>? onEpoch = null, CancellationToken cancellationToken = default) =>
        new Solver(model, data, options).Train(onEpoch, cancellationToken);
}
