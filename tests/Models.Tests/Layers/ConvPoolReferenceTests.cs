using Sweep.Models.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;
using static Sweep.Models.Tests.Support.GradientCheck;

namespace Sweep.Models.Tests.Layers;

/// <summary>
/// The models use torch's native conv2d/max_pool2d; these tests pin them to the seeds' semantics via the
/// docs/seed-formulas.md §7.1 test vectors and naive loop implementations of docs/seed-formulas.md §2 (cross-correlation, symmetric
/// zero padding, first-maximum routing).
/// </summary>
public class ConvPoolReferenceTests
{
    [Fact]
    public void Digest7_1_conv_forward_test_vector()
    {
        using var scope = NewDisposeScope();
        var x = Linspace(-0.1, 0.5, 2, 3, 4, 4);
        var w = Linspace(-0.2, 0.3, 3, 3, 4, 4);
        var b = Linspace(-0.1, 0.2, 3);
        var expected = tensor(new double[]
        {
            -0.08759809, -0.10987781, -0.18387192, -0.2109216,
            0.21027089, 0.21661097, 0.22847626, 0.23004637,
            0.50813986, 0.54309974, 0.64082444, 0.67101435,
            -0.98053589, -1.03143541, -1.19128892, -1.24695841,
            0.69108355, 0.66880383, 0.59480972, 0.56776003,
            2.36270298, 2.36904306, 2.38090835, 2.38247847,
        }).reshape(2, 3, 2, 2);

        var torchs = nn.functional.conv2d(x, w, b, strides: [2, 2], padding: [1, 1]);
        Close.Within(1e-7, torchs, expected, "torchs");
        Close.Within(1e-7, NaiveConv.Forward(x, w, b, 2, 1), expected, "NaiveConv.Forward(x, w, b, 2, 1)");
    }

    [Fact]
    public void Digest7_1_max_pool_forward_test_vector()
    {
        using var scope = NewDisposeScope();
        var x = Linspace(-0.3, 0.4, 2, 3, 4, 4);
        var expected = tensor(new double[]
        {
            -0.26315789, -0.24842105, -0.20421053, -0.18947368,
            -0.14526316, -0.13052632, -0.08631579, -0.07157895,
            -0.02736842, -0.01263158, 0.03157895, 0.04631579,
            0.09052632, 0.10526316, 0.14947368, 0.16421053,
            0.20842105, 0.22315789, 0.26736842, 0.28210526,
            0.32631579, 0.34105263, 0.38526316, 0.4,
        }).reshape(2, 3, 2, 2);

        var torchs = nn.functional.max_pool2d(x, [2, 2], [2, 2]);
        Close.Within(1e-7, torchs, expected, "torchs");
        Close.Within(1e-7, NaivePool.Forward(x, 2, 2), expected, "NaivePool.Forward(x, 2, 2)");
    }

    [Fact]
    public void Digest6_conv_backward_torch_matches_naive_and_numeric_gradients()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(231);
        var x = Randn(g, 1, 0, 4, 3, 5, 5);
        var w = Randn(g, 1, 0, 2, 3, 3, 3);
        var b = Randn(g, 1, 0, 2);
        var dout = randn([4, 2, 5, 5], dtype: ScalarType.Float64, generator: g);
        Tensor F() => nn.functional.conv2d(x, w, b, strides: [1, 1], padding: [1, 1]);

        var analytic = Analytic(F, dout, x, w, b);
        var (dx, dw, db) = NaiveConv.Backward(dout, x, w, 1, 1);
        Close.Within(1e-10, analytic[0], dx, "dx");
        Close.Within(1e-10, analytic[1], dw, "dgamma");
        Close.Within(1e-10, analytic[2], db, "dbeta");
        // docs/seed-formulas.md §6: conv backward ~1e-8 or less.
        Close.Within(1e-7, analytic[0], NumericArray(F, x, dout), "dx");
        Close.Within(1e-8, analytic[1], NumericArray(F, w, dout), "dgamma");
        Close.Within(1e-8, analytic[2], NumericArray(F, b, dout), "dbeta");
        Close.Within(1e-12, F(), NaiveConv.Forward(x, w, b, 1, 1), "F()");
    }

    [Fact]
    public void Digest6_max_pool_backward_torch_matches_naive_and_numeric_gradients()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(231);
        var x = Randn(g, 1, 0, 3, 2, 8, 8);
        var dout = randn([3, 2, 4, 4], dtype: ScalarType.Float64, generator: g);
        Tensor F() => nn.functional.max_pool2d(x, [2, 2], [2, 2]);

        var analytic = Analytic(F, dout, x)[0];
        Close.Within(1e-12, analytic, NaivePool.Backward(dout, x, 2, 2), "analytic");
        // docs/seed-formulas.md §6: max-pool backward ~1e-12.
        Close.Within(1e-10, analytic, NumericArray(F, x, dout), "analytic");
    }

    /// <summary>Naive cross-correlation with symmetric zero padding (docs/seed-formulas.md §2), on double arrays.</summary>
    private static class NaiveConv
    {
        public static Tensor Forward(Tensor x, Tensor w, Tensor b, int stride, int pad)
        {
            var (n, c, h, wd) = Shape4(x);
            var (f, _, hh, ww) = Shape4(w);
            if ((h + 2 * pad - hh) % stride != 0 || (wd + 2 * pad - ww) % stride != 0)
                throw new ArgumentException("conv output size is not an integer");
            var ho = 1 + (h + 2 * pad - hh) / stride;
            var wo = 1 + (wd + 2 * pad - ww) / stride;
            var xs = x.detach().data<double>().ToArray();
            var ws = w.detach().data<double>().ToArray();
            var bs = b.detach().data<double>().ToArray();
            var output = new double[n * f * ho * wo];
            for (var i = 0; i < n; i++)
                for (var k = 0; k < f; k++)
                    for (var r = 0; r < ho; r++)
                        for (var s = 0; s < wo; s++)
                        {
                            var sum = bs[k];
                            for (var ch = 0; ch < c; ch++)
                                for (var p = 0; p < hh; p++)
                                    for (var q = 0; q < ww; q++)
                                    {
                                        var row = r * stride + p - pad;
                                        var col = s * stride + q - pad;
                                        if (row < 0 || row >= h || col < 0 || col >= wd) continue;
                                        sum += xs[((i * c + ch) * h + row) * wd + col] * ws[((k * c + ch) * hh + p) * ww + q];
                                    }
                            output[((i * f + k) * ho + r) * wo + s] = sum;
                        }
            return tensor(output).reshape(n, f, ho, wo);
        }

        public static (Tensor dx, Tensor dw, Tensor db) Backward(Tensor dout, Tensor x, Tensor w, int stride, int pad)
        {
            var (n, c, h, wd) = Shape4(x);
            var (f, _, hh, ww) = Shape4(w);
            var (_, _, ho, wo) = Shape4(dout);
            var xs = x.detach().data<double>().ToArray();
            var ws = w.detach().data<double>().ToArray();
            var ds = dout.detach().data<double>().ToArray();
            var dx = new double[xs.Length];
            var dw = new double[ws.Length];
            var db = new double[f];
            for (var i = 0; i < n; i++)
                for (var k = 0; k < f; k++)
                    for (var r = 0; r < ho; r++)
                        for (var s = 0; s < wo; s++)
                        {
                            var d = ds[((i * f + k) * ho + r) * wo + s];
                            db[k] += d;
                            for (var ch = 0; ch < c; ch++)
                                for (var p = 0; p < hh; p++)
                                    for (var q = 0; q < ww; q++)
                                    {
                                        var row = r * stride + p - pad;
                                        var col = s * stride + q - pad;
                                        if (row < 0 || row >= h || col < 0 || col >= wd) continue;
                                        var xi = ((i * c + ch) * h + row) * wd + col;
                                        var wi = ((k * c + ch) * hh + p) * ww + q;
                                        dx[xi] += d * ws[wi];
                                        dw[wi] += d * xs[xi];
                                    }
                        }
            return (tensor(dx).reshape(x.shape), tensor(dw).reshape(w.shape), tensor(db));
        }
    }

    /// <summary>Naive max pooling without padding; backward routes to the first maximum with += (docs/seed-formulas.md §2).</summary>
    private static class NaivePool
    {
        public static Tensor Forward(Tensor x, int size, int stride) => Run(x, size, stride, null).output;

        public static Tensor Backward(Tensor dout, Tensor x, int size, int stride) => Run(x, size, stride, dout).dx!;

        private static (Tensor output, Tensor? dx) Run(Tensor x, int size, int stride, Tensor? dout)
        {
            var (n, c, h, w) = Shape4(x);
            var ho = 1 + (h - size) / stride;
            var wo = 1 + (w - size) / stride;
            var xs = x.detach().data<double>().ToArray();
            var ds = dout?.detach().data<double>().ToArray();
            var output = new double[n * c * ho * wo];
            var dx = new double[xs.Length];
            for (var i = 0; i < n * c; i++)
                for (var r = 0; r < ho; r++)
                    for (var s = 0; s < wo; s++)
                    {
                        var best = double.NegativeInfinity;
                        var bestIndex = -1;
                        for (var p = 0; p < size; p++)
                            for (var q = 0; q < size; q++)
                            {
                                var index = (i * h + r * stride + p) * w + s * stride + q;
                                if (xs[index] > best) { best = xs[index]; bestIndex = index; }
                            }
                        var o = (i * ho + r) * wo + s;
                        output[o] = best;
                        if (ds is not null) dx[bestIndex] += ds[o];
                    }
            return (tensor(output).reshape(n, c, ho, wo), ds is null ? null : tensor(dx).reshape(x.shape));
        }
    }

    private static (int, int, int, int) Shape4(Tensor t) => ((int)t.shape[0], (int)t.shape[1], (int)t.shape[2], (int)t.shape[3]);
}
