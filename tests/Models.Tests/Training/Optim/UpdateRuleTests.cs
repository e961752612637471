using Sweep.Models.Training.Optim;
using TorchSharp;
using static TorchSharp.torch;

namespace Sweep.Models.Tests.Training.Optim;

/// <summary>The deterministic update-rule test vectors of docs/seed-formulas.md §4, in float64, to 1e-7.</summary>
public class UpdateRuleTests
{
    private const double Tolerance = 1e-7;

    private static Tensor Linspace(double start, double end) =>
        linspace(start, end, 20, dtype: ScalarType.Float64).reshape(4, 5);

    private static void AssertCorners(Tensor actual, double first, double second, double last)
    {
        var values = actual.data<double>().ToArray();
        Assert.Equal(20, values.Length);
        Assert.True(Math.Abs(values[0] - first) < Tolerance, $"[0,0] = {values[0]}, expected {first}");
        Assert.True(Math.Abs(values[1] - second) < Tolerance, $"[0,1] = {values[1]}, expected {second}");
        Assert.True(Math.Abs(values[19] - last) < Tolerance, $"[3,4] = {values[19]}, expected {last}");
    }

    [Fact]
    public void Sgd_subtracts_the_scaled_gradient()
    {
        using var w = Linspace(-0.4, 0.6);
        using var dw = Linspace(-0.6, 0.4);
        using var expected = w - 1e-2 * dw;
        using var rule = new Sgd(1e-2);
        rule.Update(w, dw);
        Assert.True(w.allclose(expected, rtol: 0, atol: 1e-12));
    }

    [Fact]
    public void Sgd_momentum_matches_the_digest_vectors()
    {
        using var w = Linspace(-0.4, 0.6);
        using var dw = Linspace(-0.6, 0.4);
        using var v = Linspace(0.6, 0.9);
        using var rule = new SgdMomentum(1e-3, 0.9, v);
        rule.Update(w, dw);
        AssertCorners(w, 0.1406, 0.20738947, 1.4096);
        AssertCorners(rule.Velocity!, 0.5406, 0.55475789, 0.8096);
    }

    [Fact]
    public void Sgd_nesterov_momentum_matches_the_digest_vectors()
    {
        using var w = Linspace(-0.4, 0.6);
        using var dw = Linspace(-0.6, 0.4);
        using var v = Linspace(0.6, 0.9);
        using var rule = new SgdNesterovMomentum(1e-3, 0.9, v);
        rule.Update(w, dw);
        AssertCorners(w, 0.08714, 0.15246105, 1.32824);
        AssertCorners(rule.Velocity!, 0.5406, 0.55475789, 0.8096);
    }

    [Fact]
    public void Rmsprop_matches_the_digest_vectors()
    {
        using var w = Linspace(-0.4, 0.6);
        using var dw = Linspace(-0.6, 0.4);
        using var cache = Linspace(0.6, 0.9);
        using var rule = new RmsProp(1e-2, cache: cache);
        rule.Update(w, dw);
        AssertCorners(w, -0.39223849, -0.34037513, 0.59576619);
        AssertCorners(rule.Cache!, 0.5976, 0.6126277, 0.8926);
    }

    [Fact]
    public void Adam_matches_the_digest_vectors_and_increments_t_first()
    {
        using var w = Linspace(-0.4, 0.6);
        using var dw = Linspace(-0.6, 0.4);
        using var m = Linspace(0.6, 0.9);
        using var v = Linspace(0.7, 0.5);
        using var rule = new Adam(1e-2, m: m, v: v, t: 5);
        rule.Update(w, dw);
        AssertCorners(w, -0.40094747, -0.34836187, 0.59801459);
        AssertCorners(rule.M!, 0.48, 0.49947368, 0.85);
        AssertCorners(rule.V!, 0.69966, 0.68908382, 0.49966);
        Assert.Equal(6, rule.T);
    }

    [Fact]
    public void Preset_state_is_copied_so_the_callers_tensor_is_untouched()
    {
        using var w = Linspace(-0.4, 0.6);
        using var dw = Linspace(-0.6, 0.4);
        using var v = Linspace(0.6, 0.9);
        using var before = v.clone();
        using var rule = new SgdMomentum(1e-3, 0.9, v);
        rule.Update(w, dw);
        Assert.True(v.allclose(before, rtol: 0, atol: 0));
    }

    [Fact]
    public void State_starts_at_zero_and_outlives_the_dispose_scope_of_the_first_update()
    {
        using var w = Linspace(-0.4, 0.6);
        using var dw = Linspace(-0.6, 0.4);
        using var rule = new Adam(1e-2);
        using (NewDisposeScope())
            rule.Update(w, dw);
        // First Adam step from zero state moves every weight by lr * sign(dw) (up to eps).
        Assert.False(rule.M!.IsInvalid);
        using var expectedM = 0.1 * dw;
        Assert.True(rule.M!.allclose(expectedM, rtol: 0, atol: 1e-12));
        Assert.Equal(1, rule.T);
    }

    [Fact]
    public void Parameter_updater_keeps_state_per_parameter_and_decays_every_learning_rate()
    {
        using var a = zeros(3, dtype: ScalarType.Float64).requires_grad_();
        using var b = zeros(2, dtype: ScalarType.Float64).requires_grad_();
        using var updater = new ParameterUpdater([a, b], () => UpdateRule.Create(UpdateRuleKind.SgdMomentum, 0.1, 0.9));
        using (NewDisposeScope())
        {
            (a.sum() + 2 * b.sum()).backward();
            updater.Step();
        }
        // v = -lr * dw per parameter; w = v.
        Assert.Equal(new[] { -0.1, -0.1, -0.1 }, a.data<double>().ToArray().Select(x => Math.Round(x, 12)));
        Assert.Equal(new[] { -0.2, -0.2 }, b.data<double>().ToArray().Select(x => Math.Round(x, 12)));
        Assert.Equal(0.0, a.grad!.abs().sum().item<double>());
        updater.DecayLearningRate(0.5);
        Assert.All(updater.Rules, r => Assert.Equal(0.05, r.LearningRate, 12));
    }

    [Theory]
    [InlineData("sgd", UpdateRuleKind.Sgd)]
    [InlineData("sgd_momentum", UpdateRuleKind.SgdMomentum)]
    [InlineData("sgd_nesterov_momentum", UpdateRuleKind.SgdNesterovMomentum)]
    [InlineData("rmsprop", UpdateRuleKind.RmsProp)]
    [InlineData("adam", UpdateRuleKind.Adam)]
    public void Rule_names_round_trip(string name, UpdateRuleKind kind)
    {
        Assert.Equal(kind, UpdateRule.Parse(name));
        Assert.Equal(name, UpdateRule.Name(kind));
    }

    [Fact]
    public void Unknown_rule_name_is_rejected_with_the_valid_names()
    {
        var error = Assert.Throws<ArgumentException>(() => UpdateRule.Parse("adagrad"));
        Assert.Contains("adagrad", error.Message);
        Assert.Contains("sgd_nesterov_momentum", error.Message);
    }
}
