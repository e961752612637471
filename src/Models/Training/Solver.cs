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
        var device = parameters.Count > 0 ? parameters[0].device : torch.CPU;
        var dtype = _model.Spec.DType;
        using var generator = new torch.Generator(SamplingSeed(_options.Seed));
        using var updater = new ParameterUpdater(parameters,
            () => UpdateRule.Create(_options.UpdateRule, _options.EffectiveLearningRate, _options.Momentum));
        List<Tensor>? bestParameters = null;
        string? checkpointPath = null;
        var bestValAcc = 0.0;
        var bestEpoch = 0;
        var epoch = 0;
        var lossesSinceCheck = new List<double>();
        var status = TrainingStatus.Completed;
        var iterationsPerEpoch = IterationsPerEpoch;
        var numIterations = NumIterations;

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

                var loss = Step(generator, updater, device, dtype);
                _lossHistory.Add(loss);
                lossesSinceCheck.Add(loss);
                if (t % _options.PrintEvery == 0)
                    Log($"(Iteration {t + 1} / {numIterations}) loss: {Format(loss)}");
                if (!double.IsFinite(loss) || loss > _options.DivergenceLoss)
                {
                    Log($"diverged at iteration {t + 1}: loss {Format(loss)} (limit {_options.DivergenceLoss})");
                    status = TrainingStatus.Diverged;
                    break;
                }

                var epochEnd = (t + 1) % iterationsPerEpoch == 0;
                if (epochEnd)
                {
                    epoch++;
                    updater.DecayLearningRate(_options.LrDecay);
                    LearningRate *= _options.LrDecay;
                }
                if (t != 0 && t != numIterations - 1 && !epochEnd)
                    continue;

                var trainAcc = CheckAccuracy(_data.TrainImages, _data.TrainLabels, _options.NumTrainSamples, generator);
                var valAcc = CheckAccuracy(_data.ValImages, _data.ValLabels, _options.NumValSamples, generator);
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
                onEpoch?.Invoke(new EpochReport(epoch, lossesSinceCheck.Average(), trainAcc, valAcc, sinceCheck.Elapsed.TotalSeconds));
                lossesSinceCheck.Clear();
                sinceCheck.Restart();
            }

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
    /// images drawn with replacement, or all of them when null or when there are not more than that.
    /// The model is put back in train mode afterwards.
    /// </summary>
    public double CheckAccuracy(Tensor images, Tensor labels, int? numSamples, torch.Generator generator)
    {
        var count = images.shape[0];
        var parameters = _model.parameters().ToList();
        var device = parameters.Count > 0 ? parameters[0].device : torch.CPU;
        using var outer = NewDisposeScope();
        Tensor? indices = null;
        if (numSamples is { } k && count > k)
        {
            indices = randint(0, count, [k], dtype: ScalarType.Int64, generator: generator);
            count = k;
        }

        long correct = 0;
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
                correct += scores.argmax(1).eq(y.to(device)).sum().item<long>();
            }
        }
        finally
        {
            _model.train();
        }
        return (double)correct / count;
    }

    private double Step(torch.Generator generator, ParameterUpdater updater, torch.Device device, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var indices = randint(0, _data.NumTrain, [_options.BatchSize], dtype: ScalarType.Int64, generator: generator);
        var x = _data.TrainImages.index_select(0, indices).to(dtype, device);
        var y = _data.TrainLabels.index_select(0, indices).to(device);
        var scores = _model.forward(x);
        var loss = nn.functional.cross_entropy(scores, y).add(_model.RegularizationLoss());
        var value = loss.to(ScalarType.Float64).item<double>();
        if (!double.IsFinite(value) || value > _options.DivergenceLoss)
            return value;
        loss.backward();
        updater.Step();
        return value;
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
    private static ulong SamplingSeed(long seed) => SeedStreams.Derive(seed, SeedStreams.Sampling);

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
