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
    private TrialRunOptions _options;
    private readonly CancellationTokenSource _cancellation = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private string? _cancelReason;

    /// <param name="options">Where the run resumes from and how often it checkpoints; null: from epoch 0, no checkpoints.</param>
    public TrialExecution(TrialSpec trial, TrialSlot slot, ITrialRunner runner, string workerId, TrialRunOptions? options = null)
    {
        _trial = trial;
        _slot = slot;
        _runner = runner;
        _workerId = workerId;
        _options = options ?? TrialRunOptions.Fresh;

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
            // The checkpoint this run was to resume from arrived unusable (the runner checks it before training): a
            // restart from epoch 0 costs time, never the trial. The coordinator keeps the run's whole result.
            if (error is TrialResumeRejectedException && _options.ResumeFrom is not null && !_cancellation.IsCancellationRequested)
            {
                _log.Warning("trial {0}: its resume checkpoint was refused ({1}); training it from epoch 0", _trial.TrialId, error.Message);
                Context.Parent.Tell(new TrialResumeRefused(_trial.TrialId, error.Message.Split('\n')[0]));
                _options = _options with { ResumeFrom = null };
                StartThread();
                return;
            }
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

    public static Props Props(TrialSpec trial, TrialSlot slot, ITrialRunner runner, string workerId, TrialRunOptions? options = null) =>
        Akka.Actor.Props.Create(() => new TrialExecution(trial, slot, runner, workerId, options));

    protected override void PreStart() => StartThread();

    private void StartThread()
    {
        var parent = Context.Parent;
        var trialId = _trial.TrialId;
        var token = _cancellation.Token;
        var options = _options;
        _log.Info("starting trial {0} on slot {1} ({2}, {3} threads)", trialId, _slot.Index, _slot.Device, _slot.Threads);
        Task.Factory.StartNew(
                () => _runner.Run(_trial, _slot, options, progress => parent.Tell(new TrialProgressed(trialId, progress)), token),
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
