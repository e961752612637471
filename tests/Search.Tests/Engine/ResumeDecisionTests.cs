using Sweep.Search.Engine;
using Sweep.Search.Serialization;
using Sweep.Search.Specs;
using Sweep.Search.Tests.Support;
using Sweep.Search.Trials;

namespace Sweep.Search.Tests.Engine;

/// <summary>The engine's checkpoint and resume decisions: which checkpoints are wanted, which a run continues from, and what the state records.</summary>
public class ResumeDecisionTests
{
    private const string Sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    private readonly SweepEngine _engine = new();
    private static readonly DateTimeOffset T0 = TestSpecs.T0;

    /// <summary>Stage 2 carries one config over with the same num_train and more epochs.</summary>
    private static SweepSpec CarrySpec(CheckpointSpec? checkpoints = null)
    {
        var spec = TestSpecs.Spec(stage1: 4, stage2: 2);
        return spec with
        {
            Stages = [new StageSpec(4, 2, 1000), new StageSpec(2, 5, 1000, TopK: 3, CarryOver: 1)],
            Checkpoints = checkpoints,
        };
    }

    private SweepState Started(SweepSpec spec) => SweepState.Empty.ApplyAll(_engine.Start(spec));

    private SweepState Run(SweepState state, string worker, int slots) => state.ApplyAll(_engine.Dispatch(state, worker, slots, T0));

    private SweepState Epoch(SweepState state, string trialId, int epoch) =>
        state.ApplyAll(_engine.ReportEpoch(state, trialId, state.GetTrial(trialId).Worker!, epoch, 2.0 / epoch, 0.2 + epoch / 100.0, 0.1 + epoch / 100.0));

    private SweepState FinishStageOne(SweepState state)
    {
        state = Run(state, "w1", 4);
        foreach (var trial in state.TrialsOfStage(1).ToList())
        {
            state = Epoch(Epoch(state, trial.TrialId, 1), trial.TrialId, 2);
            state = state.ApplyAll(_engine.Checkpointed(state, trial.TrialId, "w1", 2, Sha, 100));
            state = state.ApplyAll(_engine.Complete(state, trial.TrialId, TestSpecs.FakeResult(trial.Spec, "w1")));
        }
        return state;
    }

    [Fact]
    public void A_checkpoint_is_wanted_only_from_the_trials_worker_within_its_budget_and_newer_than_the_stored_one()
    {
        var state = Run(Started(CarrySpec()), "w1", 1);
        var trial = state.RunningTrials.Single().TrialId;
        Assert.Null(SweepEngine.CheckpointRefusal(state, trial, "w1", 1));
        Assert.Contains("not w2's", SweepEngine.CheckpointRefusal(state, trial, "w2", 1));
        Assert.Contains("outside 1..2", SweepEngine.CheckpointRefusal(state, trial, "w1", 3));
        Assert.Contains("outside", SweepEngine.CheckpointRefusal(state, trial, "w1", 0));
        Assert.Equal("no such trial", SweepEngine.CheckpointRefusal(state, "s9-t0001", "w1", 1));

        state = state.ApplyAll(_engine.Checkpointed(state, trial, "w1", 2, Sha, 100));
        Assert.Equal(new StoredCheckpoint(2, Sha, 100), state.GetTrial(trial).Checkpoint! with { Epochs = null });
        Assert.Contains("already stored", SweepEngine.CheckpointRefusal(state, trial, "w1", 1));
        Assert.Empty(_engine.Checkpointed(state, trial, "w1", 2, Sha, 100));
        Assert.Contains("pending", SweepEngine.CheckpointRefusal(state.Apply(new TrialRequeued(trial, "worker lost")), trial, "w1", 2));
    }

    [Fact]
    public void A_resume_the_worker_could_not_use_is_journaled_and_the_run_reports_from_epoch_one_again()
    {
        var state = Run(Started(CarrySpec()), "w1", 1);
        var trial = state.RunningTrials.Single().TrialId;
        state = Epoch(state, trial, 1);
        state = state.ApplyAll(_engine.Checkpointed(state, trial, "w1", 1, Sha, 100));
        state = Run(state.Apply(new TrialRequeued(trial, "worker w1 lost")), "w2", 1);
        state = state.ApplyAll(_engine.Resume(state, trial, "w2", trial, 1));
        Assert.Equal(new ResumePoint(trial, 1), state.GetTrial(trial).ResumedFrom);
        // Before: the restarted run's epoch 1 report read as a duplicate and was dropped.
        Assert.Empty(_engine.ReportEpoch(state, trial, "w2", 1, 2.0, 0.2, 0.11));

        Assert.Empty(_engine.AbandonResume(state, trial, "w1", trial, 1, "not the trial's worker"));
        Assert.Empty(_engine.AbandonResume(state, trial, "w2", trial, 2, "not the epoch it resumed from"));
        var abandoned = _engine.AbandonResume(state, trial, "w2", trial, 1, "it fails its SHA-256 checksum");
        Assert.Equal([new TrialResumeAbandoned(trial, trial, 1, "it fails its SHA-256 checksum")], abandoned);
        state = state.ApplyAll(abandoned);
        Assert.Null(state.GetTrial(trial).ResumedFrom);
        Assert.Null(state.GetTrial(trial).LastEpoch);
        // The stored checkpoint stays: the fault may have been the transfer's.
        Assert.Equal(1, state.GetTrial(trial).Checkpoint?.Epoch);
        Assert.Single(_engine.ReportEpoch(state, trial, "w2", 1, 2.0, 0.2, 0.11));
        // Said once: a second refusal of the same run changes nothing.
        Assert.Empty(_engine.AbandonResume(state, trial, "w2", trial, 1, "again"));
        var journaled = SweepJson.DeserializeEvent(SweepJson.SerializeEvent(abandoned[0]));
        Assert.Equal(abandoned[0], journaled);
    }

    [Fact]
    public void A_finished_trials_final_checkpoint_is_wanted_unless_the_spec_keeps_none()
    {
        foreach (var (keep, wanted) in new[] { (CheckpointKeep.Latest, true), (CheckpointKeep.None, false) })
        {
            var state = Run(Started(CarrySpec(new CheckpointSpec(1, keep))), "w1", 1);
            var trial = state.RunningTrials.Single();
            state = state.ApplyAll(_engine.Complete(state, trial.TrialId, TestSpecs.FakeResult(trial.Spec, "w1")));
            Assert.Equal(wanted, SweepEngine.CheckpointRefusal(state, trial.TrialId, "w1", 2) is null);
        }
        var off = Run(Started(CarrySpec(new CheckpointSpec(Every: 0))), "w1", 1);
        Assert.Equal("the sweep keeps no checkpoints", SweepEngine.CheckpointRefusal(off, off.RunningTrials.Single().TrialId, "w1", 1));
        Assert.Empty(SweepEngine.ResumeCandidates(off, off.RunningTrials.Single().TrialId));
    }

    [Fact]
    public void A_carried_over_trial_continues_from_the_previous_stage_trial_with_the_same_config()
    {
        var state = FinishStageOne(Started(CarrySpec()));
        Assert.Equal(2, state.CurrentStage);
        var carried = state.TrialsOfStage(2).First();
        var sampled = state.TrialsOfStage(2).Last();

        var source = SweepEngine.CarryOverSource(state, carried.TrialId);
        Assert.NotNull(source);
        var sourceTrial = state.GetTrial(source);
        Assert.Equal(1, sourceTrial.Stage);
        Assert.Equal(state.ToSnapshot(sourceTrial).Config, state.ToSnapshot(carried).Config);
        // The best completed trial of stage 1 is the one carried over.
        Assert.Equal(state.TrialsOfStage(1).Order(LeaderboardOrder.Comparer).First().TrialId, source);
        Assert.Equal([carried.TrialId, source], SweepEngine.ResumeCandidates(state, carried.TrialId));
        Assert.Null(SweepEngine.CarryOverSource(state, sampled.TrialId));
        Assert.Equal([sampled.TrialId], SweepEngine.ResumeCandidates(state, sampled.TrialId));
    }

    [Fact]
    public void A_carried_config_retrains_when_the_spec_says_so_keeps_none_or_the_budget_differs()
    {
        var retrain = FinishStageOne(Started(CarrySpec(new CheckpointSpec(ContinueCarryOver: false))));
        Assert.Single(SweepEngine.ResumeCandidates(retrain, retrain.TrialsOfStage(2).First().TrialId));
        var keepNone = FinishStageOne(Started(CarrySpec(new CheckpointSpec(Keep: CheckpointKeep.None))));
        Assert.Single(SweepEngine.ResumeCandidates(keepNone, keepNone.TrialsOfStage(2).First().TrialId));

        // TestSpecs' stage 2 trains on 2000 images, stage 1 on 1000: a checkpoint of another data size is no head start.
        var engine = new SweepEngine();
        var spec = TestSpecs.Spec(stage1: 3, stage2: 2);
        var state = Run(SweepState.Empty.ApplyAll(engine.Start(spec)), "w1", 3);
        foreach (var trial in state.TrialsOfStage(1).ToList())
            state = state.ApplyAll(engine.Complete(state, trial.TrialId, TestSpecs.FakeResult(trial.Spec, "w1")));
        Assert.Equal(2, state.CurrentStage);
        Assert.Null(SweepEngine.CarryOverSource(state, state.TrialsOfStage(2).First().TrialId));
    }

    [Fact]
    public void A_resumed_run_starts_its_history_with_the_checkpointed_epochs_and_goes_on_from_the_next()
    {
        var state = Run(Started(CarrySpec()), "w1", 1);
        var trial = state.RunningTrials.Single().TrialId;
        state = Epoch(Epoch(state, trial, 1), trial, 2);
        state = state.ApplyAll(_engine.Checkpointed(state, trial, "w1", 1, Sha, 100));
        state = state.ApplyAll(_engine.WorkerLost(state, "w1"));
        Assert.Equal(1, state.GetTrial(trial).Checkpoint!.Epoch);

        state = Run(state, "w2", 1);
        Assert.Empty(_engine.Resume(state, trial, "w1", trial, 1));
        Assert.Empty(_engine.Resume(state, trial, "w2", trial, 3));
        state = state.ApplyAll(_engine.Resume(state, trial, "w2", trial, 1));
        var resumed = state.GetTrial(trial);
        Assert.Equal(new ResumePoint(trial, 1), resumed.ResumedFrom);
        Assert.Equal([1], resumed.Epochs.Select(e => e.Epoch));
        // A stale report of the checkpointed epoch is ignored; the next one continues the history.
        Assert.Empty(_engine.ReportEpoch(state, trial, "w2", 1, 1, 1, 1));
        state = Epoch(state, trial, 2);
        Assert.Equal([1, 2], state.GetTrial(trial).Epochs.Select(e => e.Epoch));

        // The next dispatch of the trial is a new run: it starts without a resume point until one is journaled.
        state = Run(state.ApplyAll(_engine.WorkerLost(state, "w2")), "w3", 1);
        Assert.Null(state.GetTrial(trial).ResumedFrom);
    }

    [Fact]
    public void A_discarded_checkpoint_is_forgotten_so_the_next_run_does_not_warn_again()
    {
        var state = Run(Started(CarrySpec()), "w1", 1);
        var trial = state.RunningTrials.Single().TrialId;
        state = state.ApplyAll(_engine.Checkpointed(state, trial, "w1", 1, Sha, 100));
        state = Run(state.ApplyAll(_engine.WorkerLost(state, "w1")), "w2", 1);

        var discarded = _engine.DiscardCheckpoint(state, trial, trial, 1, "fails its SHA-256 checksum");
        Assert.Equal([new CheckpointDiscarded(trial, trial, 1, "fails its SHA-256 checksum")], discarded);
        state = state.ApplyAll(discarded);
        Assert.Null(state.GetTrial(trial).Checkpoint);
        Assert.Null(state.GetTrial(trial).ResumedFrom);
        Assert.Equal(TrialStatus.Running, state.GetTrial(trial).Status);
    }

    [Fact]
    public void Checkpoint_and_resume_events_survive_a_snapshot()
    {
        var state = Run(Started(CarrySpec()), "w1", 1);
        var trial = state.RunningTrials.Single().TrialId;
        state = Epoch(state, trial, 1);
        state = state.ApplyAll(_engine.Checkpointed(state, trial, "w1", 1, Sha, 100));
        state = Run(state.ApplyAll(_engine.WorkerLost(state, "w1")), "w2", 1);
        state = state.ApplyAll(_engine.Resume(state, trial, "w2", trial, 1));

        var json = SweepJson.Serialize(state);
        var back = SweepJson.Deserialize<SweepState>(json);
        Assert.Equal(state.GetTrial(trial), back!.GetTrial(trial));
    }
}
