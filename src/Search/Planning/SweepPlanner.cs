using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using Sweep.Search.Engine;
using Sweep.Search.Sampling;
using Sweep.Search.Spaces;
using Sweep.Search.Specs;
using Sweep.Search.Trials;

namespace Sweep.Search.Planning;

/// <summary>The trials a stage runs (or would run), with the space they were sampled from.</summary>
/// <param name="Stage">1-based stage number.</param>
/// <param name="StageSpec">The stage's budget and narrowing settings.</param>
/// <param name="Trials">The stage's trials in dispatch order.</param>
/// <param name="Note">Why the plan is what it is, when that is not obvious (e.g. the stage is already running).</param>
public sealed record StagePlan(int Stage, StageSpec StageSpec, ImmutableArray<TrialSpec> Trials, string? Note = null)
{
    public bool Equals(StagePlan? other) =>
        other is not null && Stage == other.Stage && StageSpec == other.StageSpec && Trials.SequenceEqual(other.Trials) && Note == other.Note;

    public override int GetHashCode() => HashCode.Combine(Stage, Trials.Length);
}

/// <summary>
/// Pure functions from (spec, seed, stage, earlier results) to a stage's trials, shared by the engine (which starts
/// stages) and by <c>./sweep plan</c> (which prints them without training).
/// </summary>
public static class SweepPlanner
{
    /// <summary>
    /// The trials of <paramref name="stage"/>: the sampler's configs merged over the spec's model family and fixed
    /// settings, plus the stage budget as <c>epochs</c>/<c>num_train</c>; ids <c>s{stage}-t{i:D4}</c>; seeds derived from
    /// (spec seed, stage, index).
    /// </summary>
    public static ImmutableArray<TrialSpec> BuildStageTrials(SweepSpec spec, int stage, ImmutableArray<TrialSnapshot> history, Func<SweepSpec, ISampler>? samplerFactory = null)
    {
        if (stage < 1 || stage > spec.Stages.Length)
            throw new ArgumentOutOfRangeException(nameof(stage), $"stage {stage} does not exist; the sweep has stages 1..{spec.Stages.Length}");
        var configs = (samplerFactory ?? SamplerFactory.Create)(spec).Ask(new StageRequest(stage, spec.Stages[stage - 1], history));
        return Trials(spec, stage, 1, configs);
    }

    /// <summary>
    /// <paramref name="count"/> trials of <paramref name="stage"/> from index <paramref name="firstIndex"/> on, for a stage
    /// proposed one free slot at a time; <paramref name="open"/> holds the configs of its planned, unfinished trials.
    /// </summary>
    public static ImmutableArray<TrialSpec> BuildTrials(SweepSpec spec, int stage, int firstIndex, int count, ImmutableArray<TrialSnapshot> history,
        ImmutableArray<TrialConfig> open, Func<SweepSpec, ISampler>? samplerFactory = null)
    {
        var request = new StageRequest(stage, spec.Stages[stage - 1] with { Count = count }, history, firstIndex, open);
        return Trials(spec, stage, firstIndex, (samplerFactory ?? SamplerFactory.Create)(spec).Ask(request));
    }

    private static ImmutableArray<TrialSpec> Trials(SweepSpec spec, int stage, int firstIndex, ImmutableArray<TrialConfig> configs)
    {
        var stageSpec = spec.Stages[stage - 1];
        var baseParams = spec.BaseParams
            .With("epochs", ParamValue.Of(stageSpec.Epochs))
            .With("num_train", ParamValue.Of(stageSpec.NumTrain));
        return [.. configs.Select((config, i) => new TrialSpec(
            TrialSpec.MakeId(stage, firstIndex + i), stage, baseParams.Merge(config), stageSpec.Budget, SeedDerivation.TrialSeed(spec.Seed, stage, firstIndex + i)))];
    }

    /// <summary>What stage 1 runs.</summary>
    public static StagePlan FirstStage(SweepSpec spec) => new(1, spec.Stages[0], BuildStageTrials(spec, 1, []));

    /// <summary>
    /// The next stage a sweep will run, given its (replayed) state: stage 1 before anything started; stage k+1 once
    /// stage k has every trial terminal and it has not started yet; the trials of the running stage otherwise (the
    /// next one depends on their results); null when the sweep is complete or the last stage is running.
    /// </summary>
    public static StagePlan? NextStage(SweepState state, Func<SweepSpec, ISampler>? samplerFactory = null)
    {
        if (state.Spec is not { } spec || state.IsCompleted) return null;
        if (state.CurrentStage == 0) return FirstStage(spec);
        var current = state.CurrentStage;
        if (state.IsStageFinished(current))
        {
            if (current >= spec.Stages.Length) return null;
            return new StagePlan(current + 1, spec.Stages[current], BuildStageTrials(spec, current + 1, state.HistoryBefore(current + 1), samplerFactory),
                spec.PlansPerSlot ? "the stage's configs are proposed one free slot at a time once it runs; these are what one ask for the whole stage gives now" : null);
        }
        var open = state.OpenByStage.GetValueOrDefault(current);
        return new StagePlan(current, spec.Stages[current - 1], [.. state.TrialsOfStage(current).Select(t => t.Spec)],
            $"stage {current} is running ({open} of {state.StageTrials[current].Length} trials open); " +
            (current < spec.Stages.Length ? $"stage {current + 1} depends on its results" : "it is the last stage"));
    }

    /// <summary>Deterministic plain-text description of a plan: header, sampled space, one line per trial.</summary>
    public static string Describe(SweepSpec spec, StagePlan plan)
    {
        var builder = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        builder.AppendLine(inv, $"sweep {spec.Name}: model {spec.Model}, sampler {SamplerName(spec.Sampler)}, seed {spec.Seed}, {spec.Stages.Length} stage(s)");
        builder.AppendLine(inv, $"stage {plan.Stage} of {spec.Stages.Length}: {plan.Trials.Length} trial(s), {plan.StageSpec.Epochs} epoch(s) on {plan.StageSpec.NumTrain} training images each");
        if (plan.Note is not null) builder.AppendLine(plan.Note);
        var fixedText = spec.BaseParams.Key;
        if (fixedText.Length > 0) builder.AppendLine("fixed: " + fixedText);
        builder.AppendLine("space: " + spec.Space.Describe());
        var searched = spec.Space.SearchedNames.ToHashSet(StringComparer.Ordinal);
        foreach (var trial in plan.Trials)
            builder.AppendLine(inv, $"  {trial.TrialId}  seed {trial.Seed,-10}  {trial.Params.Only(searched).Key}");
        return builder.ToString();
    }

    /// <summary>
    /// Text for <c>./sweep plan --journal</c>: the next stage's trials (see <see cref="NextStage"/>), or one line saying
    /// why there is none.
    /// </summary>
    public static string DescribeNext(SweepState state)
    {
        if (state.Spec is not { } spec) return "the journal holds no sweep yet\n";
        if (state.IsCompleted) return $"sweep {spec.Name} is completed: all {spec.Stages.Length} stage(s) ran; see ./sweep leaderboard\n";
        return NextStage(state) is { } plan
            ? Describe(spec, plan)
            : $"sweep {spec.Name}: the last stage ({state.CurrentStage} of {spec.Stages.Length}) is running; no stage follows it\n";
    }

    public static string SamplerName(SamplerKind kind) => kind switch
    {
        SamplerKind.Random => "random",
        SamplerKind.Grid => "grid",
        SamplerKind.Tpe => "tpe",
        _ => "coarse_to_fine",
    };
}
