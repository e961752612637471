using Sweep.Bench.Stress;

namespace Sweep.Models.Tests.Stress;

/// <summary>
/// The CI version of the <c>stress</c> benchmark (issue 7): two slots apply every hand-written layer and
/// model, forward and backward, and train, while another thread churns the garbage collector. Before the
/// fix this crashed the process within seconds (a segfault in TorchSharp's custom-function wrapper, or a
/// corrupted Scalar); a crash kills the test host, which fails the run.
/// </summary>
public class LayerStressTests
{
    [Fact]
    public void Layers_and_models_under_gc_churn_in_two_slots_match_the_single_threaded_reference()
    {
        var result = LayerStress.Run(slots: 2, duration: TimeSpan.FromSeconds(15), maxApplies: long.MaxValue);

        Assert.Empty(result.Failures);
        // Each slot went through all of its cases (11 checked cases and a training step) at least twice.
        Assert.True(result.Applies >= 2 * 2 * 12, $"only {result.Applies} applies in {result.Elapsed.TotalSeconds:F0} s");
    }
}
