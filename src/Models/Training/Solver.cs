using System.Diagnostics;
using System.Globalization;
using Sweep.Models.Data;
using Sweep.Models.Networks;
using Sweep.Models.Runtime;
using Sweep.Models.Training.Checkpoints;
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
/// a trial seed that drives all sampling through its own generator, never torch's global RNG, and trial checkpoints:
/// after every <see cref="SolverOptions.CheckpointEvery"/>-th epoch and the last one it writes everything needed to
/// continue (<see cref="TrialCheckpointFile"/>), and a Solver given <see cref="SolverOptions.ResumeFrom"/> continues
/// from such a file with the same losses, histories and best weights as the run that never stopped (same device and
/// torch thread count).
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
        if (_lossHistory.Count > 0 || _valAccHistory.Count > 0)
            throw new InvalidOperationException("a Solver trains once; create a new one for another run");
        if (_options.Threads is { } threads)
            torch.set_num_threads(threads);

        var total = Stopwatch.StartNew();
        var sinceCheck = Stopwatch.StartNew();
        var parameters = _model.parameters().ToList();
        var parameterNames = _model.named_parameters().Select(p => p.name).ToList();
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
        // The state dict (parameters and buffers) at the best val check: the parameters come back at the end, the
        // whole snapshot goes into checkpoints as the best weights.
        List<(string Name, Tensor Value)>? best = null;
        string? checkpointPath = null;
        var bestValAcc = 0.0;
        var bestEpoch = 0;
        var epoch = 0;
        var firstIteration = 0;
        var status = TrainingStatus.Completed;
        var training = CheckpointTraining.Of(_options, _data);
        if (_options.ResumeFrom is { } resumeFrom)
        {
            var header = Resume(resumeFrom, training, device, parameterNames, updater, generator, ref best);
            epoch = header.Epoch;
            firstIteration = header.Iteration;
            bestValAcc = header.BestValAcc;
            bestEpoch = header.BestEpoch;
            LearningRate = header.LearningRate;
            var torchThreads = torch.get_num_threads();
            Log($"resumed from {resumeFrom} after epoch {epoch} (iteration {firstIteration})" + (header.Threads == torchThreads ? "" :
                $"; it was written with {header.Threads} torch threads, this run has {torchThreads}, so conv layers may round differently from an uninterrupted run"));
            if (best is not null && _options.CheckpointDirectory is { } bestDirectory)
                checkpointPath = SaveBestWeights(bestDirectory, best);
        }
        var checkStart = _lossHistory.Count;

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
            for (var t = firstIteration; t < numIterations; t++)
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
                    best = CopyState(best);
                    if (_options.CheckpointDirectory is { } directory)
                        checkpointPath = SaveBestWeights(directory, best);
                }
                var meanLoss = _lossHistory.GetRange(checkStart, _lossHistory.Count - checkStart).Average();
                checkStart = _lossHistory.Count;
                var isEpochEnd = (t + 1) % iterationsPerEpoch == 0;
                var trialCheckpoint = isEpochEnd && _options.CheckpointEvery > 0 &&
                                      (epoch % _options.CheckpointEvery == 0 || t == numIterations - 1)
                    ? WriteCheckpoint(training, device, epoch, t + 1, parameterNames, updater, generator, best, bestValAcc, bestEpoch)
                    : null;
                onEpoch?.Invoke(new EpochReport(epoch, meanLoss, trainAcc, valAcc, sinceCheck.Elapsed.TotalSeconds, trialCheckpoint));
                sinceCheck.Restart();
            }

            // A cancelled run still reports the losses of the steps it took.
            if (status != TrainingStatus.Diverged && FlushLosses())
                status = TrainingStatus.Diverged;
            if (best is not null)
                RestoreParameters(parameters, parameterNames, best);
        }
        finally
        {
            if (best is not null)
                foreach (var (_, copy) in best)
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

    /// <summary>A copy of the model's state dict (parameters and buffers), made into <paramref name="into"/> when given.</summary>
    private List<(string Name, Tensor Value)> CopyState(List<(string Name, Tensor Value)>? into)
    {
        using var _ = no_grad();
        var state = _model.state_dict();
        if (into is null)
            return state.Select(e => (e.Key, e.Value.clone().DetachFromDisposeScope())).ToList();
        foreach (var (name, copy) in into)
            copy.copy_(state[name]);
        return into;
    }

    private static void RestoreParameters(List<TorchSharp.Modules.Parameter> parameters, List<string> names, List<(string Name, Tensor Value)> best)
    {
        using var _ = no_grad();
        var byName = best.ToDictionary(e => e.Name, e => e.Value);
        for (var i = 0; i < parameters.Count; i++)
            parameters[i].copy_(byName[names[i]]);
    }

    /// <summary>The best weights as best.pt (TorchSharp's state-dict file, what Module.save writes), atomically.</summary>
    private static string SaveBestWeights(string directory, List<(string Name, Tensor Value)> best)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, BestWeightsFileName);
        var partial = path + ".partial";
        using (var writer = new BinaryWriter(File.Create(partial)))
            TrialCheckpointFile.WriteStateDict(writer, best);
        File.Move(partial, path, overwrite: true);
        return path;
    }

    /// <summary>The file the best weights go to in <see cref="SolverOptions.CheckpointDirectory"/>.</summary>
    public const string BestWeightsFileName = "best.pt";

    /// <summary>Writes epoch-E.ckpt into the checkpoint folder: everything this run needs to continue after <paramref name="epoch"/>.</summary>
    private string WriteCheckpoint(CheckpointTraining training, torch.Device device, int epoch, int iteration, List<string> parameterNames,
        ParameterUpdater updater, torch.Generator generator, List<(string Name, Tensor Value)>? best, double bestValAcc, int bestEpoch)
    {
        var directory = _options.CheckpointDirectory!;
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, TrialCheckpointFile.FileName(epoch));
        using var scope = NewDisposeScope();
        var header = new TrialCheckpointHeader(_model.Spec, training, device.type.ToString().ToLowerInvariant(), torch.get_num_threads(),
            epoch, iteration, LearningRate, _lossHistory.ToList(), _trainAccHistory.ToList(), _valAccHistory.ToList(), bestValAcc, bestEpoch);
        var rules = new List<(string, Tensor)>();
        var updateRules = updater.Rules;
        for (var i = 0; i < parameterNames.Count; i++)
            foreach (var (name, value) in updateRules[i].State())
                rules.Add((parameterNames[i] + "/" + name, value));
        var generators = new List<(string, Tensor)> { ("sampling", generator.get_state()) };
        if (_model.DropoutGenerator is { } dropout)
            generators.Add(("dropout", dropout.get_state()));
        TrialCheckpointFile.Write(path, header, new Dictionary<CheckpointSection, IReadOnlyList<(string Name, Tensor Value)>>
        {
            [CheckpointSection.Model] = _model.state_dict().Select(e => (e.Key, e.Value)).ToList(),
            [CheckpointSection.Best] = best ?? [],
            [CheckpointSection.UpdateRule] = rules,
            [CheckpointSection.Generators] = generators,
        });
        return path;
    }

    /// <summary>
    /// Puts this run where the checkpoint at <paramref name="path"/> left its run: model state, update-rule state and
    /// learning rate, generators, histories and the best snapshot (into <paramref name="best"/>). Returns its header.
    /// </summary>
    /// <exception cref="CheckpointException">the file fails verification or was written by another run.</exception>
    private TrialCheckpointHeader Resume(string path, CheckpointTraining training, torch.Device device, List<string> parameterNames,
        ParameterUpdater updater, torch.Generator generator, ref List<(string Name, Tensor Value)>? best)
    {
        var file = TrialCheckpointFile.Open(path);
        var header = file.Header;
        if (!Equals(header.Model, _model.Spec))
            throw file.Mismatch($"model {header.Model} (this run: {_model.Spec})");
        if (header.Training.DifferenceFrom(training) is { } difference)
            throw file.Mismatch(difference);
        var deviceType = device.type.ToString().ToLowerInvariant();
        if (header.DeviceType != deviceType)
            throw file.Mismatch($"device {header.DeviceType} (this run: {deviceType}); its random generators do not carry over");
        if (header.Epoch > _options.Epochs || header.Iteration != header.Epoch * IterationsPerEpoch)
            throw file.Mismatch($"epoch {header.Epoch}, iteration {header.Iteration} (this run: {_options.Epochs} epochs of {IterationsPerEpoch} iterations)");

        using var scope = NewDisposeScope();
        using var _ = no_grad();
        file.LoadInto(_model, CheckpointSection.Model);
        var state = _model.state_dict();

        var rules = file.ReadSection(CheckpointSection.UpdateRule);
        var updateRules = updater.Rules;
        for (var i = 0; i < parameterNames.Count; i++)
        {
            var prefix = parameterNames[i] + "/";
            var own = rules.Where(e => e.Key.StartsWith(prefix, StringComparison.Ordinal))
                .ToDictionary(e => e.Key[prefix.Length..], e => e.Value.to(device));
            try
            {
                updateRules[i].RestoreState(own);
            }
            catch (ArgumentException e)
            {
                throw file.Mismatch(e.Message);
            }
        }
        updater.SetLearningRate(header.LearningRate);

        var generators = file.ReadSection(CheckpointSection.Generators);
        if (!generators.TryGetValue("sampling", out var sampling) || generators.ContainsKey("dropout") != _model.DropoutGenerator is not null)
            throw file.Mismatch("its generators are not this model's");
        generator.set_state(sampling);
        if (_model.DropoutGenerator is { } dropout)
            dropout.set_state(generators["dropout"]);

        var bestState = file.ReadSection(CheckpointSection.Best);
        if (bestState.Count > 0)
        {
            if (!bestState.Keys.ToHashSet().SetEquals(state.Keys))
                throw file.Mismatch("its best weights have other names");
            best = state.Select(e => (e.Key, bestState[e.Key].to(e.Value.device).clone().DetachFromDisposeScope())).ToList();
        }

        _lossHistory.AddRange(header.LossHistory);
        _trainAccHistory.AddRange(header.TrainAccHistory);
        _valAccHistory.AddRange(header.ValAccHistory);
        return header;
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
