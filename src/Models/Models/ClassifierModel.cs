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

    /// <summary>0.5 * reg * sum of squared weights (never biases, gamma or beta); a scalar tensor.</summary>
    public abstract Tensor RegularizationLoss();
}
