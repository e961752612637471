using TorchSharp;
using static TorchSharp.torch;

namespace Sweep.Models.Training;

/// <summary>
/// The training losses of the steps since the host last read them, kept on the training device so that a
/// step never waits for its own loss. Appending is a device-side copy; <see cref="Read"/> is the one host
/// sync that brings them back; <see cref="DivergedSinceLastCheck"/> asks the device one yes/no question.
/// </summary>
internal sealed class DeviceLossLog : IDisposable
{
    private readonly Tensor _buffer;
    private readonly Scalar _limit;
    private int _count;
    private int _checked;

    /// <param name="capacity">Losses held before the host must read them (<see cref="IsFull"/>).</param>
    /// <param name="divergenceLoss">A loss above this, or NaN/Inf, counts as diverged.</param>
    public DeviceLossLog(Device device, int capacity, double divergenceLoss)
    {
        // float64 holds every float32 loss exactly, so the history reads as the per-step item() did.
        _buffer = empty([Math.Max(capacity, 1)], ScalarType.Float64, device).DetachFromDisposeScope();
        _limit = divergenceLoss.ToScalar();
    }

    public bool IsFull => _count == _buffer.shape[0];

    /// <summary>Records the value of a step's (scalar) loss without reading it on the host.</summary>
    public void Append(Tensor loss)
    {
        if (IsFull)
            throw new InvalidOperationException("loss log is full; Read() it first");
        using var _ = no_grad();
        using var slot = _buffer.select(0, _count);
        slot.copy_(loss);
        _count++;
    }

    /// <summary>
    /// Whether a loss appended since the last call (or <see cref="Read"/>) is NaN, infinite or above the
    /// limit. Evaluated on the device; only the answer crosses to the host.
    /// </summary>
    public bool DivergedSinceLastCheck()
    {
        if (_checked == _count)
            return false;
        using var scope = NewDisposeScope();
        var recent = _buffer.narrow(0, _checked, _count - _checked);
        var bad = recent.isfinite().logical_not_().logical_or_(recent.gt(_limit));
        _checked = _count;
        return bad.any().item<bool>();
    }

    /// <summary>The losses appended since the last read, in order; empties the log.</summary>
    public double[] Read()
    {
        if (_count == 0)
            return [];
        using var scope = NewDisposeScope();
        var values = _buffer.narrow(0, 0, _count).cpu().data<double>().ToArray();
        _count = 0;
        _checked = 0;
        return values;
    }

    public void Dispose()
    {
        _buffer.Dispose();
        _limit.Dispose();
    }
}
