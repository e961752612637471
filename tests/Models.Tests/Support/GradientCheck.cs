using Sweep.Models.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace Sweep.Models.Tests.Support;

/// <summary>The seeds' gradient-checking tools (digest §6), for small float64 CPU tensors.</summary>
internal static class GradientCheck
{
    /// <summary>rel_error(x, y) = max_i |x_i - y_i| / max(1e-8, |x_i| + |y_i|) (digest §6).</summary>
    public static double RelError(Tensor x, Tensor y)
    {
        using var scope = NewDisposeScope();
        var a = x.detach().to_type(ScalarType.Float64).cpu();
        var b = y.detach().to_type(ScalarType.Float64).cpu();
        using var floor = 1e-8.ToScalar(); // kept alive across the call (see KeptScalars)
        var ratio = (a - b).abs() / a.abs().Plus(b.abs()).clamp_min(floor);
        return ratio.max().item<double>();
    }

    /// <summary>
    /// eval_numerical_gradient: centered differences of the scalar <paramref name="f"/>, perturbing each
    /// element of <paramref name="x"/> in place by +-h and restoring it (digest §6).
    /// </summary>
    public static Tensor Numeric(Func<double> f, Tensor x, double h = 1e-5)
    {
        if (x.dtype != ScalarType.Float64 || !x.is_contiguous())
            throw new ArgumentException("numeric gradients need a contiguous float64 tensor");
        var grad = zeros_like(x, requires_grad: false);
        using var flat = x.detach().view(-1);
        using var flatGrad = grad.view(-1);
        var values = flat.data<double>();
        var gradValues = flatGrad.data<double>();
        for (long i = 0; i < x.numel(); i++)
        {
            var old = values[i];
            values[i] = old + h;
            var plus = Evaluate(f);
            values[i] = old - h;
            var minus = Evaluate(f);
            values[i] = old;
            gradValues[i] = (plus - minus) / (2 * h);
        }
        return grad;
    }

    /// <summary>
    /// eval_numerical_gradient_array: grad[i] = sum((f(x + h e_i) - f(x - h e_i)) * df) / (2h), differencing the
    /// outputs elementwise before the weighted sum, as the seeds do (digest §6).
    /// </summary>
    public static Tensor NumericArray(Func<Tensor> f, Tensor x, Tensor df, double h = 1e-5)
    {
        if (x.dtype != ScalarType.Float64 || !x.is_contiguous())
            throw new ArgumentException("numeric gradients need a contiguous float64 tensor");
        var grad = zeros_like(x, requires_grad: false);
        using var flat = x.detach().view(-1);
        using var flatGrad = grad.view(-1);
        var values = flat.data<double>();
        var gradValues = flatGrad.data<double>();
        using var _ = no_grad();
        for (long i = 0; i < x.numel(); i++)
        {
            using var scope = NewDisposeScope();
            var old = values[i];
            values[i] = old + h;
            var plus = f().clone();
            values[i] = old - h;
            var minus = f().clone();
            values[i] = old;
            gradValues[i] = plus.sub_(minus).mul_(df).sum().item<double>() / (2 * h);
        }
        return grad;
    }

    /// <summary>Analytic gradients of &lt;f(), df&gt; with respect to <paramref name="inputs"/> via backward().</summary>
    public static Tensor[] Analytic(Func<Tensor> f, Tensor df, params Tensor[] inputs)
    {
        foreach (var input in inputs) input.grad?.zero_();
        using (var scope = NewDisposeScope())
            f().mul(df).sum().backward();
        return inputs.Select(input => input.grad!.clone()).ToArray();
    }

    /// <summary>Analytic gradients of a scalar loss with respect to <paramref name="inputs"/>.</summary>
    public static Tensor[] AnalyticScalar(Func<Tensor> loss, params Tensor[] inputs)
    {
        foreach (var input in inputs) input.grad?.zero_();
        using (var scope = NewDisposeScope())
            loss().backward();
        return inputs.Select(input => input.grad!.clone()).ToArray();
    }

    private static double Evaluate(Func<double> f)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        return f();
    }

    /// <summary>A float64 CPU tensor of N(mean, std^2) values from a fixed-seed generator, as a leaf that requires grad.</summary>
    public static Tensor Randn(Generator generator, double std, double mean, params long[] shape) =>
        randn(shape, dtype: ScalarType.Float64, generator: generator).Scale_(std).Shift_(mean).detach().requires_grad_(true);

    /// <summary>numpy.linspace(start, stop, count) reshaped row-major to <paramref name="shape"/>.</summary>
    public static Tensor Linspace(double start, double stop, params long[] shape)
    {
        var count = shape.Aggregate(1L, (a, b) => a * b);
        return linspace(start, stop, count, dtype: ScalarType.Float64).reshape(shape);
    }
}

internal static class Close
{
    /// <summary>Asserts rel_error(actual, expected) &lt; tolerance, reporting the error when it is not.</summary>
    public static void Within(double tolerance, Tensor actual, Tensor expected, string what = "")
    {
        var error = GradientCheck.RelError(actual, expected);
        Assert.True(error < tolerance, $"{what} rel_error {error:E2} >= {tolerance:E0}");
    }
}
