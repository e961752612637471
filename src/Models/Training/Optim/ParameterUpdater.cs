using static TorchSharp.torch;

namespace Sweep.Models.Training.Optim;

/// <summary>
/// Applies one <see cref="UpdateRule"/> per parameter (the Solver's per-parameter copy of optim_config)
/// from the gradients that backward() left on the parameters, then clears those gradients.
/// </summary>
public sealed class ParameterUpdater : IDisposable
{
    private readonly List<(Tensor Parameter, UpdateRule Rule)> _entries;

    public ParameterUpdater(IEnumerable<Tensor> parameters, Func<UpdateRule> createRule)
    {
        _entries = parameters.Select(p => (p, createRule())).ToList();
    }

    public IReadOnlyList<UpdateRule> Rules => _entries.Select(e => e.Rule).ToList();

    /// <summary>Updates every parameter that has a gradient, then zeroes the gradients.</summary>
    public void Step()
    {
        foreach (var (parameter, rule) in _entries)
        {
            using var grad = parameter.grad;
            if (grad is null)
                continue;
            rule.Update(parameter, grad);
            grad.zero_();
        }
    }

    /// <summary>learning_rate *= factor for every parameter's rule (the Solver's lr_decay at an epoch end).</summary>
    public void DecayLearningRate(double factor)
    {
        foreach (var (_, rule) in _entries)
            rule.LearningRate *= factor;
    }

    /// <summary>Sets every rule's learning rate (a resumed Solver continues with the decayed rate it saved).</summary>
    public void SetLearningRate(double learningRate)
    {
        foreach (var (_, rule) in _entries)
            rule.LearningRate = learningRate;
    }

    public void Dispose()
    {
        foreach (var (_, rule) in _entries)
            rule.Dispose();
    }
}
