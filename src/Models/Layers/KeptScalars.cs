using TorchSharp;
using static TorchSharp.torch;

namespace Sweep.Models.Layers;

/// <summary>
/// Tensor ops with a number argument that keep that number's <see cref="Scalar"/> alive until the native
/// call has returned. Use these, never an implicit double-to-Scalar conversion, on every hot path.
/// </summary>
/// <remarks>
/// TorchSharp 0.107 defect: an implicit conversion (<c>t.mul_(0.9)</c>, <c>add_(x, alpha: a)</c>) creates a
/// temporary <see cref="Scalar"/> whose only reference is the argument. TorchSharp reads its native handle
/// and passes it to libtorch without keeping the managed object reachable, so a garbage collection
/// triggered by any other thread can run the Scalar's finalizer, which frees the native c10::Scalar while
/// the op still reads it: a corrupted-Scalar exception from c10 ("Expected false to be true" in Scalar.h),
/// a wrong result or a segfault. TorchSharp does the same inside <c>add</c>/<c>add_</c> without an
/// alpha (alpha 1), <c>square()</c> (exponent 2) and <c>linalg.vector_norm</c> (ord), so those are avoided too.
/// A <c>using</c> Scalar stays reachable until it is disposed after the call.
/// </remarks>
public static class KeptScalars
{
    /// <summary>t *= factor, in place.</summary>
    public static Tensor Scale_(this Tensor t, double factor)
    {
        using var s = factor.ToScalar();
        return t.mul_(s);
    }

    /// <summary>t * factor, a new tensor.</summary>
    public static Tensor Scale(this Tensor t, double factor)
    {
        using var s = factor.ToScalar();
        return t.mul(s);
    }

    /// <summary>t / divisor, a new tensor.</summary>
    public static Tensor Divide(this Tensor t, double divisor)
    {
        using var s = divisor.ToScalar();
        return t.div(s);
    }

    /// <summary>t /= divisor, in place.</summary>
    public static Tensor Divide_(this Tensor t, double divisor)
    {
        using var s = divisor.ToScalar();
        return t.div_(s);
    }

    /// <summary>t += offset, in place.</summary>
    public static Tensor Shift_(this Tensor t, double offset)
    {
        using var s = offset.ToScalar();
        using var one = 1.0.ToScalar(); // add_(Scalar) would pass an implicit alpha 1
        return t.add_(s, one);
    }

    /// <summary>t + offset, a new tensor.</summary>
    public static Tensor Shift(this Tensor t, double offset)
    {
        using var s = offset.ToScalar();
        using var one = 1.0.ToScalar(); // add(Scalar) would pass an implicit alpha 1
        return t.add(s, one);
    }

    /// <summary>t += alpha * other, in place (alpha 1 by default: TorchSharp's add_(Tensor) would pass an implicit 1).</summary>
    public static Tensor Accumulate_(this Tensor t, Tensor other, double alpha = 1)
    {
        using var s = alpha.ToScalar();
        return t.add_(other, s);
    }

    /// <summary>t + alpha * other, a new tensor (alpha 1 by default).</summary>
    public static Tensor Plus(this Tensor t, Tensor other, double alpha = 1)
    {
        using var s = alpha.ToScalar();
        return t.add(other, s);
    }

    /// <summary>t += value * a * b, in place (addcmul_).</summary>
    public static Tensor AddProduct_(this Tensor t, Tensor a, Tensor b, double value)
    {
        using var s = value.ToScalar();
        return t.addcmul_(a, b, s);
    }

    /// <summary>t += value * a / b, in place (addcdiv_).</summary>
    public static Tensor AddQuotient_(this Tensor t, Tensor a, Tensor b, double value)
    {
        using var s = value.ToScalar();
        return t.addcdiv_(a, b, s);
    }

    /// <summary>t ** exponent, a new tensor (TorchSharp's square() is pow with an implicit 2).</summary>
    public static Tensor Power(this Tensor t, double exponent)
    {
        using var s = exponent.ToScalar();
        return t.pow(s);
    }
}
