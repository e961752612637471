using System.Runtime.InteropServices;

namespace Sweep.Contract.Cli;

/// <summary>
/// Ctrl-C and SIGTERM as a cancellation token for a long-running command (a sweep, a node, the dashboard): the
/// signal does not kill the process, it asks the command to stop, so workers leave the cluster and the journal
/// stays resumable. Dispose to restore the default handling.
/// </summary>
public sealed class StopSignals : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly PosixSignalRegistration _interrupt;
    private readonly PosixSignalRegistration _terminate;

    public StopSignals()
    {
        Action<PosixSignalContext> onSignal = context =>
        {
            context.Cancel = true;
            _stop.Cancel();
        };
        _interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, onSignal);
        _terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, onSignal);
    }

    public CancellationToken Token => _stop.Token;

    public bool IsCancellationRequested => _stop.IsCancellationRequested;

    public void Dispose()
    {
        _interrupt.Dispose();
        _terminate.Dispose();
        _stop.Dispose();
    }
}
