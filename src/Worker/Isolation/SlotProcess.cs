using Sweep.Search.Parameters;
using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Diagnostics;
using System.Text;
using Sweep.Contract.Cli;
using Sweep.Contract.Protocol;
using Sweep.Search.Trials;
using Sweep.Worker.Trials;

namespace Sweep.Worker.Isolation;

/// <summary>How a worker starts a trial process: `dotnet Sweep.Worker.dll trial-host --data DIR`.</summary>
public sealed record TrialHostLaunch(string Dotnet, string WorkerDll, string DataDirectory)
{
    /// <summary>The variable ./sweep sets to the worker program; a worker started otherwise runs its own assembly.</summary>
    public const string WorkerDllVariable = "SWEEP_WORKER_DLL";

    /// <summary>This program, run by the dotnet host that runs this process (or the one on PATH).</summary>
    public static TrialHostLaunch ForThisProgram(string dataDirectory)
    {
        var fromEnvironment = Environment.GetEnvironmentVariable(WorkerDllVariable);
        var dll = !string.IsNullOrWhiteSpace(fromEnvironment) && File.Exists(fromEnvironment)
            ? fromEnvironment
            : typeof(TrialHostCommand).Assembly.Location;
        var host = Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";
        return new TrialHostLaunch(host, dll, dataDirectory);
    }
}

/// <summary>
/// A trial run in a slot's process failed: the process crashed or was killed (<see cref="ProcessLost"/>), sent
/// something invalid, or the trial threw inside it. The message is the reason the journal records.
/// </summary>
public sealed class TrialProcessException(string reason, bool processLost) : Exception(reason)
{
    public bool ProcessLost { get; } = processLost;
}

/// <summary>
/// One slot's trial process, seen from the worker: starts it and waits for its hello, sends it one trial at a time,
/// relays its epoch reports, and turns its death into a <see cref="TrialProcessException"/> naming the exit
/// ("trial process crashed (signal 11)", see <see cref="TrialProcessFailure"/>). Cancelling sends a cooperative cancel, then kills the process after
/// <see cref="IsolatedTrialRunner.CancelGracePeriod"/>. The child's stderr goes to the worker's log.
/// </summary>
public sealed class SlotProcess : IDisposable
{
    private readonly Process _process;
    private readonly BlockingCollection<ITrialHostMessage> _received = new();
    private readonly int _slotIndex;
    private readonly Action<string> _log;
    private readonly Thread _reader;
    private string? _protocolError;
    private volatile bool _killedOnCancel;
    private volatile string? _runningTrialId;

    private SlotProcess(Process process, int slotIndex, Action<string> log)
    {
        _process = process;
        _slotIndex = slotIndex;
        _log = log;
        ProcessId = process.Id;
        _reader = new Thread(ReadChildOutput) { IsBackground = true, Name = $"slot {slotIndex} trial process reader" };
        _reader.Start();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
                log($"slot {slotIndex} trial process {ProcessId}: {e.Data}");
        };
        process.BeginErrorReadLine();
    }

    public int ProcessId { get; }

    public bool HasExited
    {
        get
        {
            try
            {
                return _process.HasExited;
            }
            catch (InvalidOperationException)
            {
                return true;
            }
        }
    }

    /// <summary>
    /// Starts a trial process for slot <paramref name="slotIndex"/> and waits until it has loaded the data. A child that
    /// cannot start (bad data folder, other protocol) raises a one-line <see cref="SweepUsageException"/>.
    /// </summary>
    public static SlotProcess Start(TrialHostLaunch launch, int slotIndex, Action<string> log, TimeSpan readyTimeout)
    {
        var start = new ProcessStartInfo(launch.Dotnet)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardInputEncoding = new UTF8Encoding(false),
            StandardOutputEncoding = new UTF8Encoding(false),
        };
        foreach (var argument in new[] { launch.WorkerDll, TrialHostCommand.Name, "--data", launch.DataDirectory, "--protocol", TrialHostProtocol.Version.ToString() })
            start.ArgumentList.Add(argument);
        var process = Process.Start(start) ?? throw new SweepUsageException("could not start a trial process (dotnet not on PATH?)");
        var slot = new SlotProcess(process, slotIndex, log);
        try
        {
            slot.WaitUntilReady(readyTimeout);
        }
        catch
        {
            slot.Dispose();
            throw;
        }
        log($"slot {slotIndex}: trial process {slot.ProcessId} ready");
        return slot;
    }

    private void WaitUntilReady(TimeSpan timeout)
    {
        if (!_received.TryTake(out var first, timeout))
        {
            if (_received.IsCompleted)
                throw new SweepUsageException($"{TrialProcessFailure.Exited(ExitCodeAfterExit())} before it was ready (slot {_slotIndex}); see the worker log");
            throw new SweepUsageException($"the trial process of slot {_slotIndex} was not ready after {timeout.TotalSeconds:0} s");
        }
        switch (first)
        {
            case HostReady { Protocol: TrialHostProtocol.Version }:
                return;
            case HostReady ready:
                throw new SweepUsageException($"the trial process speaks protocol {ready.Protocol}, this worker {TrialHostProtocol.Version}; use one build for both");
            case HostStartFailed failed:
                throw new SweepUsageException(failed.Error);
            default:
                throw new SweepUsageException($"the trial process of slot {_slotIndex} did not say hello first");
        }
    }

    /// <summary>Runs one trial in the child; see <see cref="ITrialRunner.Run"/>. Throws <see cref="TrialProcessException"/>.</summary>
    public TrialResult Run(TrialSpec trial, TrialSlot slot, TrialRunOptions options, Action<TrialEpochProgress> onEpoch, CancellationToken cancellation, TimeSpan cancelGracePeriod)
    {
        var trialId = trial.TrialId;
        _runningTrialId = trialId;
        try
        {
            return RunUntilOutcome(trial, slot, options, onEpoch, cancellation, cancelGracePeriod);
        }
        finally
        {
            // A late grace-period timer must not kill the process once this trial has returned.
            _runningTrialId = null;
        }
    }

    private TrialResult RunUntilOutcome(TrialSpec trial, TrialSlot slot, TrialRunOptions options, Action<TrialEpochProgress> onEpoch, CancellationToken cancellation, TimeSpan cancelGracePeriod)
    {
        var trialId = trial.TrialId;
        Write(new RunTrialRequest(trial, slot, options));
        using var killTimer = new Timer(_ => KillOnCancel(trialId));
        using var onCancel = cancellation.Register(() =>
        {
            if (cancelGracePeriod <= TimeSpan.Zero)
            {
                // No grace period: a hard kill at once, never a race with the child's cooperative answer.
                KillOnCancel(trialId);
                return;
            }
            Write(new CancelTrialRequest(trialId));
            killTimer.Change(cancelGracePeriod, Timeout.InfiniteTimeSpan);
        });
        foreach (var message in _received.GetConsumingEnumerable())
        {
            switch (message)
            {
                case TrialEpochDone epoch when epoch.TrialId == trialId:
                    onEpoch(epoch.Progress);
                    break;
                case TrialRunReturned returned when returned.TrialId == trialId:
                    return returned.Result;
                case TrialRunThrew { Parameter: { } parameter } threw when threw.TrialId == trialId:
                    throw new TrialParameterException(parameter, threw.Error);
                case TrialRunThrew threw when threw.TrialId == trialId:
                    throw new TrialProcessException(threw.Error, processLost: false);
                default:
                    _protocolError ??= $"unexpected message while running trial {trialId}";
                    Kill();
                    break;
            }
        }
        // The child's stdout ended: it exited, crashed, or was killed (by us on cancel, or by the kernel).
        WaitForExit();
        if (_killedOnCancel)
            return Cancelled();
        var reason = _protocolError is { } error ? TrialProcessFailure.InvalidMessage(error) : TrialProcessFailure.Exited(ExitCodeAfterExit());
        _log($"slot {_slotIndex}: {reason} during trial {trialId} (pid {ProcessId})");
        throw new TrialProcessException(reason, processLost: true);
    }

    private int ExitCodeAfterExit()
    {
        WaitForExit();
        return _process.ExitCode;
    }

    // Killed before it could report anything: no history, and a loss of 0 rather than NaN, which the wire refuses.
    private static TrialResult Cancelled() =>
        new(TrialStatus.Cancelled, 0, 0, ImmutableArray<double>.Empty, ImmutableArray<double>.Empty, 0, 0);

    private void KillOnCancel(string trialId)
    {
        if (HasExited || _runningTrialId != trialId)
            return;
        _log($"slot {_slotIndex}: trial {trialId} did not stop within the cancel grace period; killing its process {ProcessId}");
        _killedOnCancel = true;
        Kill();
    }

    private void ReadChildOutput()
    {
        try
        {
            while (_process.StandardOutput.ReadLine() is { } line)
            {
                try
                {
                    _received.Add(TrialHostProtocol.DecodeFromChild(line));
                }
                catch (TrialHostProtocolException e)
                {
                    _protocolError ??= e.Message;
                    _log($"slot {_slotIndex}: trial process {ProcessId} sent an invalid message: {e.Message}");
                    Kill();
                    break;
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The pipe broke with the process: same as the end of its output.
        }
        _received.CompleteAdding();
    }

    private void Write(ITrialHostMessage message)
    {
        try
        {
            _process.StandardInput.WriteLine(TrialHostProtocol.Encode(message));
            _process.StandardInput.Flush();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The child is gone; its output ends too and Run reports how it exited.
        }
    }

    private void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Already exited.
        }
    }

    private void WaitForExit()
    {
        try
        {
            if (!_process.WaitForExit(TimeSpan.FromSeconds(10)))
            {
                Kill();
                _process.WaitForExit(TimeSpan.FromSeconds(10));
            }
        }
        catch (InvalidOperationException)
        {
            // Never started or already disposed.
        }
    }

    /// <summary>
    /// Closes the child's stdin (it exits on its own), and kills it if it has not within a few seconds. Its GPU memory,
    /// like all of its memory, is freed by the operating system when it exits.
    /// </summary>
    public void Dispose()
    {
        try
        {
            _process.StandardInput.Close();
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            // Already closed.
        }
        try
        {
            if (!_process.WaitForExit(TimeSpan.FromSeconds(5)))
                Kill();
            _process.WaitForExit(TimeSpan.FromSeconds(5));
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        _reader.Join(TimeSpan.FromSeconds(5));
        _process.Dispose();
    }
}
