using System.Collections.Immutable;
using Sweep.Search.Engine;
using Sweep.Search.Reporting;
using Sweep.Search.Specs;
using Sweep.Search.Tests.Support;
using Sweep.Search.Trials;

namespace Sweep.Search.Tests.Engine;

/// <summary>
/// Successive halving and ASHA through the engine: runs cut to rungs, pauses, journaled promotions and prunings, and
/// decisions that do not depend on workers, arrival order or a coordinator crash (successive halving).
/// </summary>
public class SuccessiveHalvingEngineTests
{
    private readonly SweepEngine _engine = new();
    private static readonly DateTimeOffset T0 = TestSpecs.T0;

    /// <summary>One stage of 9 trials for 9 epochs: rungs after epochs 1 and 3 with η = 3.</summary>
    private static SweepSpec OneStage(PruningRule rule = PruningRule.SuccessiveHalving, int count = 9) => TestSpecs.Spec(stage1: count, stage2: 0) with
    {
        Stages = [new StageSpec(count, 9, 1000)],
        Pruning = new PruningSpec(rule, MinEpochs: 1, ReductionFactor: 3),
    };

    /// <summary>Two coarse-to-fine stages, both halving, the second carrying the best config over.</summary>
    private static SweepSpec TwoStages(PruningRule rule = PruningRule.SuccessiveHalving) => TestSpecs.Spec(seed: 11, stage1: 9, stage2: 4) with
    {
        Stages = [new StageSpec(9, 9, 1000), new StageSpec(4, 9, 1000, TopK: 2, CarryOver: 1)],
        Pruning = new PruningSpec(rule, MinEpochs: 1, ReductionFactor: 3),
    };

    /// <summary>
    /// A deterministic learning curve per config that does not depend on where a run stops, so a run resumed at a rung
    /// reports what an uninterrupted one would: val(e) = top × (1 - exp(-speed × (e + 1))), where configs with a high
    /// top learn slowly and cross the quick starters, as real curves do.
    /// </summary>
    internal static TrialResult Curve(TrialSpec run, string worker)
    {
        var lr = run.Params.GetDouble("learning_rate");
        var ws = run.Params.GetDouble("weight_scale");
        var top = Math.Round(0.6 - 0.05 * Math.Pow(Math.Log10(lr) + 2.5, 2), 6);
        var speed = 0.2 + 0.6 * Math.Abs(Math.Sin(1000 * ws));
        var history = Enumerable.Range(0, run.Budget.Epochs + 1).Select(e => Math.Round(top * (1 - Math.Exp(-speed * (e + 1))), 6)).ToImmutableArray();
        var best = history.Skip(1).Max();
        return new TrialResult(TrialStatus.Completed, best, history.Skip(1).ToList().IndexOf(best) + 1, [.. history.Select(h => h + 0.05)], history, 1.0,
            2.0 * run.Budget.Epochs, null, worker);
    }

    private SweepState Finish(SweepState state, string trialId, List<ISweepEvent> journal, DateTimeOffset? at = null)
    {
        var trial = state.GetTrial(trialId);
        var events = _engine.Complete(state, trialId, Curve(SweepEngine.RunSpec(state, trialId), trial.Worker!), at);
        journal.AddRange(events);
        return state.ApplyAll(events);
    }

    private (SweepState State, List<ISweepEvent> Journal) Dispatch(SweepState state, List<ISweepEvent> journal, int slots, DateTimeOffset at)
    {
        var events = _engine.Dispatch(state, "w1", slots, at);
        journal.AddRange(events);
        return (state.ApplyAll(events), journal);
    }

    /// <summary>Starts <paramref name="spec"/>, dispatches all its trials and finishes them, skipping the first <paramref name="skip"/>.</summary>
    private (SweepState State, List<ISweepEvent> Journal) FirstRung(SweepSpec spec, int skip = 0)
    {
        var journal = new List<ISweepEvent>(_engine.Start(spec));
        var (state, _) = Dispatch(SweepState.Replay(journal), journal, spec.Stages[0].Count, T0);
        foreach (var trial in state.RunningTrials.Skip(skip).ToList())
            state = Finish(state, trial.TrialId, journal);
        return (state, journal);
    }

    [Fact]
    public void A_run_stops_at_the_rung_and_its_result_pauses_the_trial_there_freeing_the_slot()
    {
        var journal = new List<ISweepEvent>(_engine.Start(OneStage()));
        var (state, _) = Dispatch(SweepState.Replay(journal), journal, 9, T0);
        Assert.All(state.RunningTrials, t => Assert.Equal(new TrialBudget(1, 1000), SweepEngine.RunSpec(state, t.TrialId).Budget));

        var result = Curve(SweepEngine.RunSpec(state, "s1-t0001"), "w1");
        var events = _engine.Complete(state, "s1-t0001", result, T0.AddSeconds(4));
        Assert.Equal([new TrialPaused("s1-t0001", 1, result, T0.AddSeconds(4))], events);
        state = state.ApplyAll(events);

        var paused = state.GetTrial("s1-t0001");
        Assert.Equal(TrialStatus.Paused, paused.Status);
        Assert.False(paused.IsTerminal);
        Assert.Equal([result.ValAccHistory[1]], paused.Rungs);
        Assert.Equal([new PausedRun("w1", T0, T0.AddSeconds(4), 2.0)], paused.EarlierRuns);
        Assert.Equal((1, 8), (state.Counts.Paused, state.RunningByWorker["w1"].Count));
        Assert.False(state.IsStageFinished(1));
        Assert.Contains("1 paused", state.Counts.ToString());
        // The same result again (a re-sent message) changes nothing, paused or promoted.
        Assert.Empty(_engine.Complete(state, "s1-t0001", result));
        var promoted = state.Apply(new TrialPromoted("s1-t0001", 0, "test"));
        Assert.Equal(TrialStatus.Pending, promoted.GetTrial("s1-t0001").Status);
        Assert.Empty(_engine.Complete(promoted, "s1-t0001", result));
    }

    [Fact]
    public void A_stage_halves_at_each_rung_and_only_the_survivor_trains_its_whole_budget()
    {
        var journal = new List<ISweepEvent>(_engine.Start(OneStage()));
        var state = SweepState.Replay(journal);
        List<ISweepEvent> last = [];
        for (var round = 0; round < 3; round++)
        {
            (state, _) = Dispatch(state, journal, 9, T0.AddMinutes(round));
            foreach (var trial in state.RunningTrials.ToList())
            {
                var before = journal.Count;
                state = Finish(state, trial.TrialId, journal, T0.AddMinutes(round).AddSeconds(30));
                last = journal[before..];
            }
            // Each round's last result decides the rung: 9 -> 3 -> 1 promoted.
            var promoted = last.OfType<TrialPromoted>().Count();
            Assert.Equal(round switch { 0 => 3, 1 => 1, _ => 0 }, promoted);
        }
        Assert.Equal([typeof(TrialCompleted), typeof(StageCompleted), typeof(SweepCompleted)], last.Select(e => e.GetType()));
        Assert.True(state.IsCompleted);

        var trials = state.TrialsOfStage(1).ToList();
        Assert.Single(trials, t => t.Status == TrialStatus.Completed);
        Assert.Equal(8, trials.Count(t => t.Status == TrialStatus.Pruned));
        // Each run resumes where the last one paused, so the epochs trained add up to 9 trials x 1 epoch + 3 x 2 more +
        // 1 x 6 more: 21 trial-epochs instead of 81.
        Assert.Equal(21, trials.Sum(t => t.EpochsRun));
        // The survivor is the best at rung 1 (epoch 3) among those promoted at rung 0, and every pruned trial keeps the
        // epochs it trained and its best val accuracy; they rank after the completed one.
        var survivor = trials.Single(t => t.Status == TrialStatus.Completed);
        Assert.Equal(9, survivor.EpochsRun);
        Assert.Equal(2, survivor.EarlierRuns.Count);
        var board = Leaderboard.From(state);
        Assert.Equal(survivor.TrialId, board.Rows[0].TrialId);
        Assert.All(board.Rows.Skip(1), r => Assert.Equal(TrialStatus.Pruned, r.Status));
        Assert.Equal(6, trials.Count(t => t.Status == TrialStatus.Pruned && t.EpochsRun == 1));
        Assert.Equal(2, trials.Count(t => t.Status == TrialStatus.Pruned && t.EpochsRun == 3));
        var prunedLate = trials.First(t => t.Status == TrialStatus.Pruned && t.EpochsRun == 3);
        Assert.Equal(2, prunedLate.EarlierRuns.Count);
        Assert.Equal(prunedLate.Rungs[1], prunedLate.BestValAcc, 10);
        Assert.Equal(2.0 + 6.0, board.Rows.Single(r => r.TrialId == prunedLate.TrialId).Seconds, 10);
    }

    [Fact]
    public void A_promoted_run_resumes_to_the_next_rung_and_a_run_resuming_at_its_rung_trains_no_epoch()
    {
        var (state, journal) = FirstRung(OneStage());
        var promoted = journal.OfType<TrialPromoted>().First().TrialId;
        Assert.Equal(TrialStatus.Pending, state.GetTrial(promoted).Status);
        Assert.Equal(3, SweepEngine.RunSpec(state, promoted, resumeEpoch: 1).Budget.Epochs);
        Assert.Equal(3, SweepEngine.RunSpec(state, promoted).Budget.Epochs);
        // Checkpoint after epoch 3 stored, pause not journaled (the coordinator stopped in between): the next run resumes
        // there with nothing left to train before the rung, and so pauses at once.
        var restarted = SweepState.Replay(_engine.Start(OneStage()));
        Assert.Equal(1, SweepEngine.RunSpec(restarted, "s1-t0001", resumeEpoch: 1).Budget.Epochs);
        // A run resuming beyond a rung (a carried-over config) stops at the next one, and past the last rung at the end.
        Assert.Equal(3, SweepEngine.RunSpec(restarted, "s1-t0001", resumeEpoch: 2).Budget.Epochs);
        Assert.Equal(9, SweepEngine.RunSpec(restarted, "s1-t0001", resumeEpoch: 4).Budget.Epochs);
        Assert.Same(restarted.GetTrial("s1-t0001").Spec, SweepEngine.RunSpec(restarted, "s1-t0001", resumeEpoch: 4));
    }

    [Fact]
    public void The_status_display_shows_the_rung_a_run_pauses_at_and_nothing_past_the_last_rung()
    {
        var (state, journal) = FirstRung(OneStage());
        Assert.Empty(state.Progress(T0).Running);
        (state, _) = Dispatch(state, journal, 9, T0.AddMinutes(1));
        var running = state.Progress(T0.AddMinutes(1)).Running;
        Assert.Equal(3, running.Length);
        Assert.All(running, r => Assert.Equal((0, 9, 3, "0/9 (pauses at 3)"), (r.Epoch, r.Epochs, r.PausesAt, r.EpochText)));
        Assert.Contains("epoch 0/9 (pauses at 3)", state.Progress(T0.AddMinutes(1)).ToText());

        foreach (var trial in state.RunningTrials.ToList())
            state = Finish(state, trial.TrialId, journal);
        (state, _) = Dispatch(state, journal, 9, T0.AddMinutes(2));
        var survivor = Assert.Single(state.Progress(T0.AddMinutes(2)).Running);
        Assert.Equal((0, "0/9"), (survivor.PausesAt, survivor.EpochText));
    }

    [Fact]
    public void A_trial_that_fails_for_good_closes_the_rung_it_can_no_longer_reach()
    {
        var (state, journal) = FirstRung(OneStage() with { MaxRetries = 0 }, skip: 1);
        Assert.Empty(journal.OfType<TrialPromoted>());
        var events = _engine.Fail(state, "s1-t0001", "out of memory", "w1");
        Assert.IsType<TrialFailed>(events[0]);
        // 8 trials got to rung 0: max(1, 8 / 3) = 2 go on, 6 are pruned.
        Assert.Equal(2, events.OfType<TrialPromoted>().Count());
        Assert.Equal(6, events.OfType<TrialPruned>().Count());
    }

    [Fact]
    public void A_coordinator_restart_finishes_a_rung_decision_that_was_cut_off()
    {
        var (_, journal) = FirstRung(OneStage());
        var decisions = journal.Where(e => e is TrialPromoted or TrialPruned).ToList();
        Assert.Equal(9, decisions.Count);
        // The journal kept the last pause but none of the decisions it made due.
        var cut = journal.TakeWhile(e => e is not (TrialPromoted or TrialPruned)).ToList();
        var recovered = _engine.Recover(SweepState.Replay(cut));
        // The same decisions, and nothing else: paused trials stay paused over a restart (only running ones are re-queued).
        Assert.Equal(decisions, recovered.Select(e => e is TrialPruned p ? p with { At = null } : e));
    }

    private static List<string> Decisions(IEnumerable<ISweepEvent> journal) =>
    [
        .. journal.Select(e => e switch
        {
            TrialPromoted p => $"promoted {p.TrialId} rung {p.Rung}: {p.Reason}",
            TrialPruned p => $"pruned {p.TrialId} epoch {p.Epoch}: {p.Reason}",
            TrialCompleted c => $"completed {c.TrialId} {c.Result.BestValAcc} {c.Result.EpochsRun}",
            StageStarted s => $"stage {s.Stage}: {string.Join(", ", s.Trials.Select(t => t.TrialId + " " + t.Params.Key))}",
            _ => null,
        }).OfType<string>().Order(StringComparer.Ordinal),
    ];

    [Theory]
    [InlineData(1, 1, 0, null)]
    [InlineData(2, 1, 1, null)]
    [InlineData(3, 2, 2, null)]
    [InlineData(2, 1, 3, 20)]
    [InlineData(2, 2, 4, 45)]
    [InlineData(1, 3, 5, 70)]
    public void Successive_halving_makes_the_same_decisions_whatever_the_workers_the_order_or_a_crash(int workers, int slots, int order, int? crashAfter)
    {
        var spec = TwoStages();
        var reference = new SweepSimulator(spec, 1, 1, 0, train: Curve);
        reference.Run();
        var other = new SweepSimulator(spec, workers, slots, order, crashAfter, train: Curve);
        var state = other.Run();
        Assert.True(state.IsCompleted);
        Assert.Equal(Decisions(reference.Journal), Decisions(other.Journal));
        Assert.Contains(reference.Journal, e => e is TrialPromoted);
        // Stage 2 narrowed around completed trials only, and carried the best one over.
        Assert.Equal(5, state.TrialsOfStage(2).Count());
    }

    [Theory]
    [InlineData(2, 2, 1, null)]
    [InlineData(3, 1, 2, 30)]
    public void Asha_finishes_every_trial_and_never_takes_back_a_decision(int workers, int slots, int order, int? crashAfter)
    {
        var simulator = new SweepSimulator(TwoStages(PruningRule.Asha), workers, slots, order, crashAfter, train: Curve);
        var state = simulator.Run();
        Assert.True(state.IsCompleted);
        Assert.All(state.Trials.Values, t => Assert.True(t.IsTerminal));
        // A trial is promoted past a rung at most once, and never pruned at a rung it was promoted past.
        var promotions = simulator.Journal.OfType<TrialPromoted>().Select(p => (p.TrialId, p.Rung)).ToList();
        Assert.Equal(promotions.Count, promotions.Distinct().Count());
        var rungs = TwoStages().RungEpochsOf(1);
        Assert.DoesNotContain(simulator.Journal.OfType<TrialPruned>(), p => promotions.Contains((p.TrialId, rungs.IndexOf(p.Epoch))));
        Assert.Contains(state.Trials.Values, t => t.Status == TrialStatus.Completed);
    }

    [Fact]
    public void Slot_utilization_counts_every_run_of_a_trial_that_paused_at_rungs()
    {
        var journal = new List<ISweepEvent>(_engine.Start(OneStage(count: 3)));
        var (state, _) = Dispatch(SweepState.Replay(journal), journal, 3, T0);
        foreach (var (trial, i) in state.RunningTrials.ToList().Select((t, i) => (t, i)))
            state = Finish(state, trial.TrialId, journal, T0.AddSeconds(2 + i));
        // 3 trials at rung 0: one goes on. Its second run starts at 10 s and trains 2 epochs (4 s).
        (state, _) = Dispatch(state, journal, 1, T0.AddSeconds(10));
        var again = Assert.Single(state.RunningTrials);
        state = Finish(state, again.TrialId, journal, T0.AddSeconds(14));
        var utilization = SlotUtilization.Of(state, T0.AddMinutes(5));
        // Busy: the three first runs (2 s each: their training seconds end them before the recorded pause) and the
        // second one (4 s); three slots over 0..14 s.
        Assert.Equal(2 + 2 + 2 + 4, utilization.BusySlotSeconds, 6);
        Assert.Equal((3, 14.0), (utilization.Slots, utilization.WallSeconds));
    }
}
