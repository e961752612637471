using Sweep.Search.Reporting;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Sweep.Coordinator.Reporting;
using Sweep.Search.Engine;
using Sweep.Search.Progress;
using Sweep.Search.Trials;

namespace Sweep.Coordinator.Dashboard;

/// <summary>What the page shows at one moment; <see cref="Json"/> is what the browser receives.</summary>
internal sealed record DashboardSnapshot(long Version, string Json, SweepFacts? Facts, string Fingerprint);

/// <summary>
/// Keeps the latest view of a sweep for the dashboard: re-reads the sweep's state every <c>interval</c> (from its
/// journal, the only place a finished, running or remote sweep is recorded), turns it into the page's JSON, and renders
/// each report figure as PNG at most once per change of the sweep (elapsed times alone do not redraw the plots).
/// Read errors (a journal not created yet, a database briefly locked) keep the last good view and are shown on the page.
/// </summary>
internal sealed class DashboardFeed : IAsyncDisposable
{
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);
    private readonly Func<CancellationToken, Task<SweepState>> _read;
    private readonly Func<string?> _changeToken;
    private readonly TimeSpan _interval;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, byte[]> _pngs = new(StringComparer.Ordinal);
    private readonly Task _loop;
    private volatile DashboardSnapshot _current;
    private Dictionary<string, ReportFigure> _figures = new(StringComparer.Ordinal);
    private string _figuresFingerprint = "";

    /// <param name="read">Reads the sweep's current state.</param>
    /// <param name="interval">How often to look for changes.</param>
    /// <param name="changeToken">A cheap token that stays the same while the state cannot have changed (null: unknown, read again).</param>
    public DashboardFeed(Func<CancellationToken, Task<SweepState>> read, TimeSpan interval, Func<string?>? changeToken = null)
    {
        _read = read;
        _changeToken = changeToken ?? (() => null);
        _interval = interval;
        _current = new DashboardSnapshot(0, Serialize(Waiting("reading the journal..."), 0), null, "");
        _loop = Task.Run(LoopAsync);
    }

    public DashboardSnapshot Current => _current;

    /// <summary>Reads the sweep once more now (at the end of a session, so that the page shows how it ended).</summary>
    public async Task RefreshAsync()
    {
        try
        {
            Publish(SweepFacts.Of(await _read(CancellationToken.None), DateTimeOffset.UtcNow), null);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The last view stays; the session is ending anyway.
        }
    }

    /// <summary>The figure's PNG for the current view, or null when it does not exist or cannot be drawn yet.</summary>
    public byte[]? RenderFigure(string key)
    {
        lock (_pngs)
        {
            if (!_figures.TryGetValue(key, out var figure) || figure.Plot is null) return null;
            return _pngs.GetOrAdd(key, _ => figure.RenderPng());
        }
    }

    private async Task LoopAsync()
    {
        string? problem = null;
        string? lastToken = null;
        SweepState? lastState = null;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                var token = _changeToken();
                var state = token is not null && token == lastToken && lastState is not null ? lastState : await _read(_stop.Token);
                // Re-published even when unchanged: running trials' elapsed times move on.
                Publish(SweepFacts.Of(state, DateTimeOffset.UtcNow), null);
                (lastToken, lastState, problem) = (token, state, null);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                var message = e.GetBaseException().Message.Split('\n')[0];
                if (message != problem)
                {
                    problem = message;
                    Publish(_current.Facts, "cannot read the journal right now: " + message);
                }
            }
            try
            {
                await Task.Delay(_interval, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private void Publish(SweepFacts? facts, string? problem)
    {
        var fingerprint = facts is null ? "" : Fingerprint(facts.State);
        if (facts is not null && fingerprint != _figuresFingerprint)
        {
            var figures = facts.HasFinishedTrials ? ReportPlots.All(facts) : [];
            lock (_pngs)
            {
                _figures = figures.ToDictionary(f => f.Key, StringComparer.Ordinal);
                _pngs.Clear();
                _figuresFingerprint = fingerprint;
            }
        }
        var version = _current.Version + 1;
        var view = facts is null ? Waiting(problem ?? "reading the journal...") : View(facts, fingerprint, problem);
        _current = new DashboardSnapshot(version, Serialize(view, version), facts, fingerprint);
    }

    /// <summary>Changes whenever a plot would change: a trial started, reported an epoch or finished, or a stage began.</summary>
    private static string Fingerprint(SweepState state) => string.Create(CultureInfo.InvariantCulture,
        $"{state.CurrentStage}|{state.IsCompleted}|{state.FinishedCount}|{state.Counts}|{state.RunningTrials.Sum(t => t.Epochs.Count)}");

    private static object Waiting(string message) => new { ready = false, message };

    private object View(SweepFacts facts, string fingerprint, string? problem)
    {
        var state = facts.State;
        var progress = state.Progress(facts.Now);
        var figures = _figures.Values.Select(f => new { key = f.Key, title = f.Title, caption = f.Caption, message = f.Message, available = f.Plot is not null });
        return new
        {
            ready = state.IsStarted,
            message = state.IsStarted ? problem : problem ?? "the journal holds no sweep yet; waiting for it to start",
            name = facts.Name,
            stage = state.CurrentStage,
            stageCount = state.StageCount,
            completed = state.IsCompleted,
            counts = new { pending = state.Counts.Pending, running = state.Counts.Running, completed = state.Counts.Completed, diverged = state.Counts.Diverged, failed = state.Counts.Failed, cancelled = state.Counts.Cancelled, pruned = state.Counts.Pruned, paused = state.Counts.Paused },
            best = progress.Best is { } b ? new { trialId = b.TrialId, stage = b.Stage, valAcc = b.BestValAcc, epoch = b.BestEpoch, @params = Params(b.Params) } : null,
            eta = progress.Eta is { } eta && !state.IsCompleted ? DisplayText.Duration(eta) : null,
            running = progress.Running.Select(r => new
            {
                trialId = r.TrialId, stage = r.Stage, epoch = r.Epoch, epochs = r.Epochs, epochText = r.EpochText, valAcc = r.LatestValAcc,
                worker = DisplayText.Worker(r.Worker), elapsed = DisplayText.Duration(r.Elapsed),
            }),
            leaderboard = facts.Leaderboard.Rows.Select(r => new
            {
                rank = r.Rank, trialId = r.TrialId, stage = r.Stage, bestValAcc = r.BestValAcc, status = r.Status.ToWireName(),
                epochs = r.EpochsRun, seconds = Math.Round(r.Seconds, 1), worker = r.Worker is null ? null : DisplayText.Worker(r.Worker),
                @params = Params(r.Params, facts.Leaderboard.ParamColumns), valHistory = r.ValAccHistory,
            }),
            paramColumns = facts.Leaderboard.ParamColumns,
            figures,
            figuresVersion = fingerprint,
            readAt = facts.Now.UtcDateTime.ToString("HH:mm:ss", CultureInfo.InvariantCulture),
        };
    }

    private static Dictionary<string, string> Params(Search.Spaces.TrialConfig config, IEnumerable<string>? only = null) =>
        (only ?? config.Names).Where(config.Contains).ToDictionary(n => n, n => config[n].ToString(), StringComparer.Ordinal);

    private static string Serialize(object view, long version) =>
        JsonSerializer.Serialize(new { version, view }, JsonOptions);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
        _stop.Dispose();
    }
}
