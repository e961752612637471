using Akka.Actor;
using Akka.Event;
using Sweep.Contract.Protocol;
using Sweep.Search.Parameters;
using Sweep.Search.Trials;
using Sweep.Worker.Isolation;
using Sweep.Worker.Trials;

namespace Sweep.Worker.Actors;

/// <summary>
/// Runs one trial on a dedicated long-running thread so that the worker's mailbox (cancel requests,
/// registration, other slots) keeps flowing during an epoch; relays epoch reports to its parent; cancels
/// the trial on request; and reports the outcome only after the training thread has returned, i.e. after
/// the trial's tensors are freed, so the slot is never offered while its memory is still held.
/// </summary>
public sealed class TrialExecution : ReceiveActor
{
    private readonly TrialSpec _trial;
    private readonly TrialSlot _slot;
    private readonly ITrialRunner _runner;
    private readonly string _workerId;
    private readonly CancellationTokenSource _cancellation = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private string? _cancelReason;

    public TrialExecution(TrialSpec trial, TrialSlot slot, ITrialRunner runner, string workerId)
    {
        _trial = trial;
        _slot = slot;
        _runner = runner;
        _workerId = workerId;

        Receive<CancelTrial>(cancel =>
        {
            _cancelReason ??= cancel.Reason;
            _log.Info("cancelling trial {0}: {1}", _trial.TrialId, cancel.Reason);
            _cancellation.Cancel();
        });
        Receive<TrialThreadReturned>(returned =>
        {
            var result = returned.Result with { Worker = _workerId };
            Context.Parent.Tell(new TrialExecutionEnded(_trial.TrialId, _slot.Index, new TrialFinished(_workerId, _trial.TrialId, result)));
            Context.Stop(Self);
        });
        Receive<TrialThreadFailed>(failed =>
        {
            var error = failed.Error is AggregateException { InnerException: { } inner } ? inner : failed.Error;
            // A configuration error fails the same way on every retry: report it as final, naming the parameter.
            // A trial process's failure already reads as a reason: "trial process crashed (signal 11)".
            var outcome = error switch
            {
                TrialParameterException configuration => new TrialErrored(_workerId, _trial.TrialId,
                    $"configuration error in parameter '{configuration.Parameter}': {configuration.Message}", Final: true),
                TrialProcessException => new TrialErrored(_workerId, _trial.TrialId, error.Message),
                _ => new TrialErrored(_workerId, _trial.TrialId, $"{error.GetType().Name}: {error.Message.Split('\n')[0]}"),
            };
            _log.Warning("trial {0} failed: {1}", _trial.TrialId, outcome.Reason);
            Context.Parent.Tell(new TrialExecutionEnded(_trial.TrialId, _slot.Index, outcome));
            Context.Stop(Self);
        });
    }

    public static Props Props(TrialSpec trial, TrialSlot slot, ITrialRunner runner, string workerId) =>
        Akka.Actor.Props.Create(() => new TrialExecution(trial, slot, runner, workerId));

    protected override void PreStart()
    {
        var parent = Context.Parent;
        var trialId = _trial.TrialId;
        var token = _cancellation.Token;
        _log.Info("starting trial {0} on slot {1} ({2}, {3} threads)", trialId, _slot.Index, _slot.Device, _slot.Threads);
        Task.Factory.StartNew(
                () => _runner.Run(_trial, _slot, TrialRunOptions.Fresh, progress => parent.Tell(new TrialProgressed(trialId, progress)), token),
                CancellationToken.None,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default)
            .PipeTo(Self, success: result => new TrialThreadReturned(result), failure: error => new TrialThreadFailed(error));
    }

    protected override void PostStop()
    {
        // Stopped with the node while still training: let the thread notice and end on its own.
        _cancellation.Cancel();
        base.PostStop();
    }
}
