using Sweep.Models.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace Sweep.Models.Models;

/// <summary>
/// An image classifier that maps an (N, C, H, W) batch to (N, classes) scores. The training loss is
/// softmax cross-entropy on the scores plus <see cref="RegularizationLoss"/>; train()/eval() switch
/// normalization and dropout between their train and test behaviour.
/// </summary>
public abstract class ClassifierModel : nn.Module<Tensor, Tensor>
{
    protected ClassifierModel(string name) : base(name) { }

    public abstract ModelSpec Spec { get; }

    /// <summary>The generator of the model's dropout masks (seeded from the trial seed by <see cref="ModelFactory"/>), if any.</summary>
    internal Generator? DropoutGenerator { get; private protected init; }

    /// <summary>0.5 * reg * sum of squared weights (never biases, gamma or beta); a scalar tensor.</summary>
    public abstract Tensor RegularizationLoss();

    /// <summary>The weight matrices and kernels that <see cref="RegularizationLoss"/> covers, in layer order.</summary>
    public abstract IReadOnlyList<Tensor> RegularizedWeights { get; }

    /// <summary>Mean softmax cross-entropy of the scores for <paramref name="input"/> plus the L2 term (digest §2, §3.1).</summary>
    public Tensor Loss(Tensor input, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var scores = forward(input);
        var loss = nn.functional.cross_entropy(scores, labels).Accumulate_(RegularizationLoss());
        return scope.MoveToOuter(loss);
    }

    /// <summary>0.5 * reg * sum over <paramref name="weights"/> of W^2, or an exact zero scalar when reg is 0.</summary>
    protected static Tensor L2Penalty(IEnumerable<Tensor> weights, double reg, ScalarType dtype, Device device)
    {
        if (reg == 0)
            return zeros(Array.Empty<long>(), dtype: dtype, device: device);
        using var scope = NewDisposeScope();
        Tensor? total = null;
        foreach (var w in weights)
        {
            var squared = w.Power(2).sum();
            total = total is null ? squared : total.Accumulate_(squared);
        }
        total ??= zeros(Array.Empty<long>(), dtype: dtype, device: device);
        return scope.MoveToOuter(total.Scale_(0.5 * reg));
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            DropoutGenerator?.Dispose();
        base.Dispose(disposing);
    }

    /// <summary>Casts the input batch to the model's dtype, as the seeds' models do (digest §1.1).</summary>
    protected static Tensor ToModelType(Tensor input, ScalarType dtype) =>
        input.dtype == dtype ? input : input.to_type(dtype);
}
