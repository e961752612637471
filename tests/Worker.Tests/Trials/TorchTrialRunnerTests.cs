using Sweep.TestSupport;
using Sweep.Search.Spaces;
using Sweep.Search.Trials;
using Sweep.Worker.Trials;

namespace Sweep.Worker.Tests.Trials;

/// <summary>The worker's real trial runner on a small slice of the real CIFAR-10.</summary>
public sealed class TorchTrialRunnerTests : IDisposable
{
    private readonly string _checkpoints = Path.Combine(Path.GetTempPath(), "sweep-ckpt-" + Guid.NewGuid().ToString("N")[..10]);

    private static TrialSpec Trial(int epochs) => new("s1-t0001", 1,
        TrialConfig.From(("model", ParamValue.Of("fc")), ("hidden_dims", ParamValue.Of([50])), ("update_rule", ParamValue.Of("adam")),
            ("learning_rate", ParamValue.Of(1e-3)), ("batch_size", ParamValue.Of(50)), ("epochs", ParamValue.Of(epochs)), ("num_train", ParamValue.Of(200))),
        new TrialBudget(epochs, 200), 17);

    [Fact]
    public void Trains_the_trial_reports_every_epoch_and_keeps_the_best_weights_in_the_slot_checkpoint_folder()
    {
        var runner = TorchTrialRunner.Create(RepoPaths.CifarDirectory());
        var epochs = new List<TrialEpochProgress>();

        var result = runner.Run(Trial(epochs: 2), new TrialSlot(0, "cpu", 1, _checkpoints), TrialRunOptions.Fresh, epochs.Add, CancellationToken.None);

        Assert.Equal(TrialStatus.Completed, result.Status);
        Assert.Equal(2, epochs.Max(e => e.Epoch));
        Assert.InRange(result.BestValAcc, 0.05, 1.0);
        Assert.Equal(result.ValAccHistory.Max(), result.BestValAcc);
        Assert.NotNull(result.CheckpointPath);
        Assert.StartsWith(Path.Combine(_checkpoints, "s1-t0001"), result.CheckpointPath);
        Assert.True(File.Exists(result.CheckpointPath));
    }

    [Fact]
    public void A_cancelled_trial_ends_with_status_cancelled()
    {
        var runner = TorchTrialRunner.Create(RepoPaths.CifarDirectory());
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();

        var result = runner.Run(Trial(epochs: 5), new TrialSlot(0, "cpu", 1, _checkpoints), TrialRunOptions.Fresh, _ => { }, cancel.Token);

        Assert.Equal(TrialStatus.Cancelled, result.Status);
    }

    [Fact]
    public void Same_trial_same_seed_same_result()
    {
        var runner = TorchTrialRunner.Create(RepoPaths.CifarDirectory());
        var slot = new TrialSlot(0, "cpu", 1, _checkpoints);
        var first = runner.Run(Trial(epochs: 1), slot, TrialRunOptions.Fresh, _ => { }, CancellationToken.None);
        var second = runner.Run(Trial(epochs: 1), slot, TrialRunOptions.Fresh, _ => { }, CancellationToken.None);
        Assert.Equal(first.ValAccHistory.ToArray(), second.ValAccHistory.ToArray());
        Assert.Equal(first.FinalLoss, second.FinalLoss);
    }

    public void Dispose()
    {
        if (Directory.Exists(_checkpoints))
            Directory.Delete(_checkpoints, recursive: true);
    }
}
