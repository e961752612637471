using Sweep.TestSupport;
using System.Diagnostics;
using Sweep.Contract.Cli;
using Sweep.Search.Spaces;
using Sweep.Search.Trials;
using Sweep.Worker.Isolation;
using Sweep.Worker.Trials;
using Xunit.Abstractions;

namespace Sweep.Worker.Tests.Isolation;

/// <summary>
/// Real trial processes (this build's Sweep.Worker.dll trial-host) on a small slice of the real CIFAR-10: a trial runs
/// in the child; a child killed by a signal mid-trial fails that trial with the signal as the reason and is replaced by
/// a fresh child; a cancel that does not return within the grace period kills the child.
/// </summary>
public sealed class IsolatedTrialRunnerTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _checkpoints = Path.Combine(Path.GetTempPath(), "sweep-iso-" + Guid.NewGuid().ToString("N")[..10]);

    private static TrialSpec Trial(string id, int epochs, int numTrain) => new(id, 1,
        TrialConfig.From(("model", ParamValue.Of("fc")), ("hidden_dims", ParamValue.Of([50])), ("update_rule", ParamValue.Of("adam")),
            ("learning_rate", ParamValue.Of(1e-3)), ("batch_size", ParamValue.Of(50)), ("epochs", ParamValue.Of(epochs)), ("num_train", ParamValue.Of(numTrain))),
        new TrialBudget(epochs, numTrain), 17);

    private TrialSlot Slot => new(0, "cpu", 1, _checkpoints);

    private IsolatedTrialRunner StartRunner(TimeSpan? grace = null) =>
        IsolatedTrialRunner.Start(TrialHostLaunch.ForThisProgram(RepoPaths.CifarDirectory()), slotCount: 1, line => output.WriteLine(line), grace);

    [Fact]
    public void A_child_killed_by_a_signal_mid_trial_fails_that_trial_with_the_signal_and_a_fresh_child_runs_the_next()
    {
        using var runner = StartRunner();
        var first = runner.ProcessIds[0];
        var epochs = new List<TrialEpochProgress>();
        var completed = runner.Run(Trial("s1-t0001", epochs: 2, numTrain: 200), Slot, TrialRunOptions.Fresh, epochs.Add, CancellationToken.None);
        Assert.Equal(TrialStatus.Completed, completed.Status);
        Assert.Equal([0, 1, 2], epochs.Select(e => e.Epoch)); // the check after the first update, then each epoch
        Assert.True(File.Exists(completed.CheckpointPath));

        // A long trial; SIGSEGV its process once it has reported an epoch, as a native crash in libtorch would end it.
        var crash = Assert.Throws<TrialProcessException>(() => runner.Run(Trial("s1-t0002", epochs: 500, numTrain: 200), Slot, TrialRunOptions.Fresh,
            progress => { if (progress.Epoch == 1) Task.Run(() => Segfault(first)); }, CancellationToken.None));
        Assert.Equal("trial process crashed (signal 11)", crash.Message);
        Assert.True(crash.ProcessLost);

        var again = runner.Run(Trial("s1-t0002", epochs: 1, numTrain: 200), Slot, TrialRunOptions.Fresh, _ => { }, CancellationToken.None);
        Assert.Equal(TrialStatus.Completed, again.Status);
        var second = runner.ProcessIds[0];
        Assert.NotEqual(first, second);
        Assert.True(HasExited(first));

        // Killed between trials (SIGKILL, as the kernel's OOM killer does): the next trial gets a fresh child too.
        Signal(second, "KILL");
        WaitUntil(() => HasExited(second));
        var afterKill = runner.Run(Trial("s1-t0003", epochs: 1, numTrain: 200), Slot, TrialRunOptions.Fresh, _ => { }, CancellationToken.None);
        Assert.Equal(TrialStatus.Completed, afterKill.Status);
        Assert.NotEqual(second, runner.ProcessIds[0]);
    }

    [Fact]
    public void A_cancel_returns_cancelled_cooperatively_and_a_child_that_outlasts_the_grace_period_is_killed_and_replaced()
    {
        using (var runner = StartRunner())
        {
            using var cancel = new CancellationTokenSource();
            var result = runner.Run(Trial("s1-t0001", epochs: 500, numTrain: 200), Slot, TrialRunOptions.Fresh, _ => cancel.Cancel(), cancel.Token);
            Assert.Equal(TrialStatus.Cancelled, result.Status);
            Assert.False(HasExited(runner.ProcessIds[0]));
        }
        using (var runner = StartRunner(grace: TimeSpan.Zero))
        {
            var child = runner.ProcessIds[0];
            using var cancel = new CancellationTokenSource();
            var result = runner.Run(Trial("s1-t0001", epochs: 500, numTrain: 200), Slot, TrialRunOptions.Fresh, _ => cancel.Cancel(), cancel.Token);
            Assert.Equal(TrialStatus.Cancelled, result.Status);
            WaitUntil(() => HasExited(child));
            var next = runner.Run(Trial("s1-t0002", epochs: 1, numTrain: 200), Slot, TrialRunOptions.Fresh, _ => { }, CancellationToken.None);
            Assert.Equal(TrialStatus.Completed, next.Status);
        }
    }

    [Fact]
    public void A_child_that_cannot_load_the_data_fails_the_start_with_its_one_line_error()
    {
        var empty = Directory.CreateTempSubdirectory("sweep-nodata-");
        try
        {
            var error = Assert.Throws<SweepUsageException>(() =>
                IsolatedTrialRunner.Start(TrialHostLaunch.ForThisProgram(empty.FullName), slotCount: 1, line => output.WriteLine(line)));
            Assert.Contains("cannot load CIFAR-10", error.Message);
            Assert.DoesNotContain('\n', error.Message);
        }
        finally
        {
            empty.Delete(recursive: true);
        }
    }

    /// <summary>
    /// kill -SEGV until the process is gone. The .NET runtime's SIGSEGV handler takes the first one (outside managed code
    /// it restores the default action and returns, which for a real fault re-runs the faulting instruction and ends the
    /// process); a sent signal is not re-raised that way, so the second one ends it as a native crash does.
    /// </summary>
    private static void Segfault(int pid)
    {
        for (var i = 0; i < 50 && !HasExited(pid); i++)
        {
            Signal(pid, "SEGV");
            Thread.Sleep(200);
        }
    }

    private static void Signal(int pid, string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, pid.ToString()]);
        kill.WaitForExit();
    }

    private static bool HasExited(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return process.HasExited;
        }
        catch (ArgumentException)
        {
            return true;
        }
    }

    private static void WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition() && DateTime.UtcNow < deadline)
            Thread.Sleep(50);
        Assert.True(condition());
    }

    public void Dispose()
    {
        if (Directory.Exists(_checkpoints))
            Directory.Delete(_checkpoints, recursive: true);
    }
}
