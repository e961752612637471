using Sweep.Contract.Protocol;
using Sweep.Search.Trials;
using Sweep.Worker.Trials;

namespace Sweep.Worker.Isolation;

/// <summary>
/// Runs every trial of a slot in that slot's own child process (<see cref="SlotProcess"/>), which lives as long as the
/// worker, loads the data once and runs trial after trial. A native crash, an out-of-memory kill or a hang past the
/// cancel grace period ends only that child: the trial fails with the reason ("trial process crashed (signal 11)"),
/// which the coordinator retries within the spec's max_retries, and a fresh child is started at once for the slot's
/// next trial. The worker node, with its cluster membership and identity, never goes down with it. When a child exits,
/// the operating system frees all of its memory, including every CUDA allocation, so no trial can leak device memory
/// into the next one.
/// </summary>
public sealed class IsolatedTrialRunner : ITrialRunner, IDisposable
{
    /// <summary>How long a cancelled trial may take to return by itself before its process is killed.</summary>
    public static readonly TimeSpan CancelGracePeriod = TimeSpan.FromSeconds(10);

    /// <summary>How long a new child may take to start and load CIFAR-10.</summary>
    public static readonly TimeSpan ReadyTimeout = TimeSpan.FromMinutes(3);

    private readonly TrialHostLaunch _launch;
    private readonly Action<string> _log;
    private readonly Task<SlotProcess>[] _slots;
    private readonly TimeSpan _cancelGracePeriod;
    private bool _disposed;

    private IsolatedTrialRunner(TrialHostLaunch launch, int slotCount, Action<string> log, TimeSpan cancelGracePeriod)
    {
        _launch = launch;
        _log = log;
        _cancelGracePeriod = cancelGracePeriod;
        _slots = new Task<SlotProcess>[slotCount];
    }

    /// <summary>
    /// Starts one child per slot in the background and returns at once, so that the children load the data while the
    /// worker joins the cluster; a trial waits for its slot's child. <see cref="WhenReady"/> completes when every first
    /// child is ready, or faults with the first one's one-line start error.
    /// </summary>
    public static IsolatedTrialRunner Launch(TrialHostLaunch launch, int slotCount, Action<string> log, TimeSpan? cancelGracePeriod = null)
    {
        var runner = new IsolatedTrialRunner(launch, slotCount, log, cancelGracePeriod ?? CancelGracePeriod);
        for (var i = 0; i < slotCount; i++)
            runner._slots[i] = runner.StartChild(i);
        runner.WhenReady = Task.WhenAll(runner._slots);
        return runner;
    }

    /// <summary><see cref="Launch"/>, then waits until every child is ready; a child that cannot start raises its error here.</summary>
    public static IsolatedTrialRunner Start(TrialHostLaunch launch, int slotCount, Action<string> log, TimeSpan? cancelGracePeriod = null)
    {
        var runner = Launch(launch, slotCount, log, cancelGracePeriod);
        try
        {
            runner.WhenReady.GetAwaiter().GetResult();
        }
        catch
        {
            runner.Dispose();
            throw;
        }
        return runner;
    }

    /// <summary>Completes when the children started by <see cref="Launch"/> are ready.</summary>
    public Task WhenReady { get; private set; } = Task.CompletedTask;

    /// <summary>The process id of each slot's current child (for logs and tests); -1 while one is starting.</summary>
    public IReadOnlyList<int> ProcessIds =>
        [.. _slots.Select(s => s.IsCompletedSuccessfully ? s.Result.ProcessId : -1)];

    public TrialResult Run(TrialSpec trial, TrialSlot slot, TrialRunOptions options, Action<TrialEpochProgress> onEpoch, CancellationToken cancellation)
    {
        var process = ReadyChild(slot.Index);
        try
        {
            return process.Run(trial, slot, options, onEpoch, cancellation, _cancelGracePeriod);
        }
        catch (TrialProcessException e) when (e.ProcessLost)
        {
            process.Dispose();
            _log($"slot {slot.Index}: starting a fresh trial process");
            _slots[slot.Index] = StartChild(slot.Index);
            throw;
        }
        finally
        {
            // A child killed after the cancel grace period reports a cancelled trial; it is replaced too.
            if (process.HasExited && _slots[slot.Index].IsCompletedSuccessfully && ReferenceEquals(_slots[slot.Index].Result, process))
            {
                process.Dispose();
                _slots[slot.Index] = StartChild(slot.Index);
            }
        }
    }

    private SlotProcess ReadyChild(int slotIndex)
    {
        if (slotIndex < 0 || slotIndex >= _slots.Length)
            throw new ArgumentOutOfRangeException(nameof(slotIndex), slotIndex, $"this worker has {_slots.Length} slot(s)");
        try
        {
            var process = _slots[slotIndex].GetAwaiter().GetResult();
            if (!process.HasExited)
                return process;
            process.Dispose();
        }
        catch (Exception e) when (e is not TrialProcessException)
        {
            _log($"slot {slotIndex}: the fresh trial process did not start ({e.Message}); trying again");
        }
        // The child died between trials, or its replacement did not start: start one now, in this trial's time.
        _slots[slotIndex] = StartChild(slotIndex);
        try
        {
            return _slots[slotIndex].GetAwaiter().GetResult();
        }
        catch (Exception e)
        {
            throw new TrialProcessException(TrialProcessFailure.CouldNotStart(e.Message), processLost: false);
        }
    }

    private Task<SlotProcess> StartChild(int slotIndex)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return Task.Run(() => SlotProcess.Start(_launch, slotIndex, _log, ReadyTimeout));
    }

    /// <summary>Ends every child (closing its stdin; killing it if it does not exit).</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        foreach (var slot in _slots)
        {
            try
            {
                slot?.GetAwaiter().GetResult().Dispose();
            }
            catch (Exception)
            {
                // It never started; nothing to end.
            }
        }
    }
}
