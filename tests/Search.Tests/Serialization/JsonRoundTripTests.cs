using System.Collections.Immutable;
using System.Text.Json.Nodes;
using System.Text.Json;
using Sweep.Search.Engine;
using Sweep.Search.Progress;
using Sweep.Search.Serialization;
using Sweep.Search.Spaces;
using Sweep.Search.Specs;
using Sweep.Search.Tests.Support;
using Sweep.Search.Trials;

namespace Sweep.Search.Tests.Serialization;

public class JsonRoundTripTests
{
    private static readonly TrialResult Result = new(TrialStatus.Completed, 0.5123, 3, [0.3, 0.45, 0.52], [0.31, 0.44, 0.5123], 1.234, 42.5, "ckpt/s1-t0001.pt", "worker-1");

    private static TrialSpec Trial => new("s1-t0001", 1,
        TrialConfig.From(("learning_rate", ParamValue.Of(1e-3)), ("hidden_dims", ParamValue.Of([100, 50])), ("update_rule", ParamValue.Of("adam")),
            ("batch_size", ParamValue.Of(100)), ("dropout", ParamValue.Of(0.0)), ("flag", ParamValue.Of(true)), ("weight_scale", ParamValue.Of("kaiming"))),
        new TrialBudget(2, 1000), 123456789);

    public static TheoryData<ISweepEvent, string> Events => new()
    {
        { new SweepStarted(TestSpecs.Spec(), 7), "sweep_started" },
        { new StageStarted(1, [Trial]), "stage_started" },
        { new TrialDispatched("s1-t0001", "worker-1", 2, TestSpecs.T0.AddMinutes(3)), "trial_dispatched" },
        { new TrialEpochReported("s1-t0001", 2, 1.5, 0.4, 0.38), "trial_epoch_reported" },
        { new TrialCompleted("s1-t0001", Result), "trial_completed" },
        { new TrialCompleted("s1-t0002", Result with { Status = TrialStatus.Diverged, CheckpointPath = null, Error = "loss is NaN" }), "trial_completed" },
        { new TrialFailed("s1-t0001", "out of memory", 1, false), "trial_failed" },
        { new TrialRequeued("s1-t0001", "worker worker-1 lost"), "trial_requeued" },
        { new StageCompleted(1), "stage_completed" },
        { new SweepCompleted(), "sweep_completed" },
        { new TrialTested("s1-t0001", 0.52, 1000, DateTimeOffset.Parse("2026-11-23T10:02:00Z", System.Globalization.CultureInfo.InvariantCulture)), "trial_tested" },
        { new TrialPruned("s1-t0004", 2, "best val 0.3500 after epoch 2 is below the median 0.4500 of 3 stage peer(s)", TestSpecs.T0.AddSeconds(5)), "trial_pruned" },
        { new StagePlanned(2, ["s1-t0001", "s1-t0002", "s1-t0004"]), "stage_planned" },
        { new TrialPaused("s1-t0003", 1, Result, TestSpecs.T0.AddSeconds(7)), "trial_paused" },
        { new TrialPromoted("s1-t0003", 0, "val 0.4500 at rung 0 (epoch 1) ranks 1 of 4 trial(s) there; the top 1 go on"), "trial_promoted" },
        { new TrialsPlanned(2, [Trial]), "trials_planned" },
    };

    [Theory]
    [MemberData(nameof(Events))]
    public void Every_event_round_trips_with_a_stable_discriminator(ISweepEvent sweepEvent, string discriminator)
    {
        var json = JsonSerializer.Serialize(sweepEvent, SweepJson.Options);
        var node = JsonNode.Parse(json)!.AsObject();
        Assert.Equal(discriminator, (string?)node["event"]);
        Assert.DoesNotContain("Sweep.Search", json);
        Assert.DoesNotContain("$type", json);
        Assert.Equal(json, SweepJson.SerializeEvent(sweepEvent));
        var back = SweepJson.DeserializeEvent(json);
        Assert.Equal(sweepEvent, back);
        Assert.Equal(json, JsonSerializer.Serialize(back, SweepJson.Options));
    }

    [Fact]
    public void Result_uses_the_shared_snake_case_names_and_lower_case_status()
    {
        var node = JsonNode.Parse(SweepJson.Serialize(Result))!.AsObject();
        foreach (var name in new[] { "best_val_acc", "best_epoch", "train_acc_history", "val_acc_history", "final_loss", "seconds", "status", "checkpoint_path", "worker" })
            Assert.True(node.ContainsKey(name), name);
        Assert.Equal("completed", (string?)node["status"]);
        Assert.Equal(Result, SweepJson.Deserialize<TrialResult>(SweepJson.Serialize(Result)));
    }

    [Fact]
    public void Param_values_keep_their_kind_through_json()
    {
        var json = SweepJson.Serialize(Trial);
        Assert.Contains("\"dropout\":0.0", json);
        Assert.Contains("\"batch_size\":100", json);
        Assert.Contains("\"hidden_dims\":[100,50]", json);
        var back = SweepJson.Deserialize<TrialSpec>(json);
        Assert.Equal(Trial, back);
        Assert.Equal(ParamKind.Float, back.Params["dropout"].Kind);
        Assert.Equal(ParamKind.Int, back.Params["batch_size"].Kind);
        Assert.Equal(ParamKind.Bool, back.Params["flag"].Kind);
    }

    [Fact]
    public void Spec_round_trips_with_every_dimension_kind_and_keeps_its_fingerprint()
    {
        var spec = TestSpecs.Spec() with { Sampler = SamplerKind.Grid, GridPoints = 4, TrialTimeout = TimeSpan.FromSeconds(90) };
        var json = SweepJson.Serialize(spec);
        foreach (var type in new[] { "\"type\":\"float\"", "\"type\":\"int\"", "\"type\":\"choice\"", "\"type\":\"fixed\"", "\"sampler\":\"grid\"" })
            Assert.Contains(type, json);
        var back = SweepJson.Deserialize<SweepSpec>(json);
        Assert.Equal(spec, back);
        Assert.Equal(spec.Space, back.Space);
        Assert.Equal(spec.Fingerprint, back.Fingerprint);
        Assert.NotEqual(spec.Fingerprint, (spec with { Seed = 8 }).Fingerprint);
    }

    [Fact]
    public void Progress_round_trips_for_status_replies()
    {
        var engine = new SweepEngine();
        var state = SweepState.Empty.ApplyAll(engine.Start(TestSpecs.Spec(stage1: 3)));
        state = state.ApplyAll(engine.Dispatch(state, "w1", 2, TestSpecs.T0));
        state = state.ApplyAll(engine.ReportEpoch(state, "s1-t0002", "w1", 1, 1.2, 0.4, 0.35));
        state = state.ApplyAll(engine.Complete(state, "s1-t0001", TestSpecs.FakeResult(state.GetTrial("s1-t0001").Spec, "w1")));
        var progress = state.Progress(TestSpecs.T0.AddSeconds(20));
        var back = SweepJson.Deserialize<SweepProgress>(SweepJson.Serialize(progress));
        Assert.Equal(SweepJson.Serialize(progress), SweepJson.Serialize(back));
        Assert.Equal(progress.ToText(), back.ToText());
        Assert.Equal(progress.Running.ToArray(), back.Running.ToArray());
        Assert.Equal(progress.Best!.Params, back.Best!.Params);
    }

    [Fact]
    public void Unknown_discriminators_are_rejected()
    {
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<ISweepEvent>("{\"event\":\"trial_exploded\",\"trial_id\":\"x\"}", SweepJson.Options));
    }
}
