using Sweep.Models.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Sweep.Models.Tests.Training;

public class DeviceLossLogTests
{
    [Fact]
    public void Losses_read_back_exactly_and_in_order_and_the_log_empties()
    {
        using var log = new DeviceLossLog(CPU, capacity: 4, divergenceLoss: 10);
        var values = new[] { 2.302585f, 1.5f, 0.1234567f };
        foreach (var v in values)
        {
            using var loss = tensor(v);
            log.Append(loss);
        }
        Assert.Equal(values.Select(v => (double)v), log.Read());
        Assert.Empty(log.Read());
    }

    [Fact]
    public void Divergence_is_seen_in_the_losses_since_the_last_question_only()
    {
        using var log = new DeviceLossLog(CPU, capacity: 8, divergenceLoss: 10);
        void Append(float v)
        {
            using var loss = tensor(v);
            log.Append(loss);
        }

        Append(1);
        Append(9.5f);
        Assert.False(log.DivergedSinceLastCheck());
        Append(11);
        Assert.True(log.DivergedSinceLastCheck());
        Append(2);
        Assert.False(log.DivergedSinceLastCheck());
        Append(float.NaN);
        Assert.True(log.DivergedSinceLastCheck());
        Append(float.PositiveInfinity);
        Assert.True(log.DivergedSinceLastCheck());
        Assert.Equal(6, log.Read().Length);
    }

    [Fact]
    public void Appending_records_no_autograd_history_and_a_full_log_refuses_more()
    {
        using var log = new DeviceLossLog(CPU, capacity: 1, divergenceLoss: 10);
        using var w = tensor(3f).requires_grad_(true);
        using var loss = w.mul(w);
        log.Append(loss);
        Assert.True(log.IsFull);
        Assert.Throws<InvalidOperationException>(() => log.Append(loss));
        Assert.Equal([9.0], log.Read());
        Assert.False(log.IsFull);
    }
}
