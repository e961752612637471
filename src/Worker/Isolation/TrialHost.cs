using Sweep.Search.Parameters;
using Sweep.Worker.Trials;

namespace Sweep.Worker.Isolation;

/// <summary>
/// The child-process side of a slot: after the data is loaded it says hello, then runs the trials the worker
/// sends, one at a time, on a dedicated thread, and writes each epoch and each outcome back. It ends when the
/// worker closes its stdin (the worker stopped or died), so a child never outlives its worker.
/// </summary>
public sealed class TrialHost(ITrialRunner runner, TextReader input, TextWriter output, TextWriter log)
{
    private readonly object _writeGate = new();
    private CancellationTokenSource? _running;
    private string? _runningTrialId;
    private Thread? _thread;

    /// <summary>Runs until stdin ends; returns the process exit code.</summary>
    public int Serve()
    {
        Send(new HostReady(TrialHostProtocol.Version, Environment.ProcessId));
        while (input.ReadLine() is { } line)
        {
            ITrialHostMessage message;
            try
            {
                message = TrialHostProtocol.DecodeFromWorker(line);
            }
            catch (TrialHostProtocolException e)
            {
                log.WriteLine($"trial process: ignoring an invalid message from the worker: {e.Message}");
                continue;
            }
            switch (message)
            {
                case RunTrialRequest run:
                    Start(run);
                    break;
                case CancelTrialRequest cancel:
                    lock (_writeGate)
                    {
                        if (_runningTrialId == cancel.TrialId)
                            _running?.Cancel();
                    }
                    break;
            }
        }
        // The worker is gone: nobody is left to read a result, so leave without waiting for the trial.
        lock (_writeGate)
            _running?.Cancel();
        return 0;
    }

    private void Start(RunTrialRequest run)
    {
        string? busy;
        lock (_writeGate)
            busy = _runningTrialId;
        if (busy is not null)
        {
            Send(new TrialRunThrew(run.Trial.TrialId, $"InvalidOperationException: trial {busy} is still running in this process"));
            return;
        }
        // The last run has written its outcome (that is what lets the worker send this one) and its thread is only
        // returning: its liveness is no sign of a trial still running, so wait for it to end rather than refuse.
        _thread?.Join();
        var cancellation = new CancellationTokenSource();
        lock (_writeGate)
        {
            _running = cancellation;
            _runningTrialId = run.Trial.TrialId;
        }
        _thread = new Thread(() => RunOne(run, cancellation)) { IsBackground = true, Name = "trial " + run.Trial.TrialId };
        _thread.Start();
    }

    private void RunOne(RunTrialRequest run, CancellationTokenSource cancellation)
    {
        var trialId = run.Trial.TrialId;
        ITrialHostMessage outcome;
        try
        {
            var result = runner.Run(run.Trial, run.Slot, run.Options, progress => Send(new TrialEpochDone(trialId, progress)), cancellation.Token);
            outcome = new TrialRunReturned(trialId, result);
        }
        catch (Exception e)
        {
            log.WriteLine($"trial process: trial {trialId} threw {e}");
            outcome = e switch
            {
                TrialParameterException configuration => new TrialRunThrew(trialId, configuration.Message, configuration.Parameter),
                TrialResumeRejectedException rejected => new TrialRunThrew(trialId, rejected.Message, ResumeRejected: true),
                _ => new TrialRunThrew(trialId, $"{e.GetType().Name}: {e.Message.Split('\n')[0]}"),
            };
        }
        lock (_writeGate)
        {
            _running = null;
            _runningTrialId = null;
        }
        cancellation.Dispose();
        Send(outcome);
    }

    private void Send(ITrialHostMessage message)
    {
        var line = TrialHostProtocol.Encode(message);
        lock (_writeGate)
        {
            output.WriteLine(line);
            output.Flush();
        }
    }
}
