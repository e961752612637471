using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Sweep.Search.Serialization;
using Sweep.Search.Spaces;
using Sweep.Search.Trials;

namespace Sweep.Search.Specs;

/// <summary>Which sampler proposes a stage's configs.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<SamplerKind>))]
public enum SamplerKind
{
    /// <summary>Random search over the full space in stage 1, then inside the space narrowed around the previous stage's top-K.</summary>
    [JsonStringEnumMemberName("coarse_to_fine")] CoarseToFine,
    /// <summary>Independent random search over the full space in every stage.</summary>
    [JsonStringEnumMemberName("random")] Random,
    /// <summary>Cartesian grid over the full space (a seeded subset when a stage asks for fewer configs).</summary>
    [JsonStringEnumMemberName("grid")] Grid,
    /// <summary>Tree-structured Parzen estimator over the finished trials of earlier stages (random until enough).</summary>
    [JsonStringEnumMemberName("tpe")] Tpe,
}

/// <summary>Where the CIFAR-10 data lives and how much of it a sweep loads.</summary>
/// <param name="Directory">Folder of <c>data_batch_*.bin</c>; relative paths are relative to the current directory.</param>
/// <param name="NumTrain">Training images loaded (the first ones); a stage trains on its own first <c>num_train</c> of these.</param>
/// <param name="NumVal">Validation images held out after the training images.</param>
public sealed record DataSpec(string Directory, int NumTrain = 49_000, int NumVal = 1_000)
{
    /// <summary>The data folder as an absolute path; a relative one is taken relative to <paramref name="baseDirectory"/> (default: the current directory).</summary>
    public string ResolveDirectory(string? baseDirectory = null) =>
        Path.GetFullPath(Directory, baseDirectory ?? Environment.CurrentDirectory);
}

/// <summary>
/// One stage of a sweep: <see cref="Count"/> newly sampled configs plus <see cref="CarryOver"/> top configs of the
/// previous stage retrained, all with this stage's budget. From stage 2 on, new configs are sampled inside the space
/// narrowed around the previous stage's <see cref="TopK"/> completed trials, widened by <see cref="Margin"/> (a
/// fraction of each dimension's full width, in log space for log ranges).
/// </summary>
/// <see cref="Pruning"/> overrides the sweep's pruning for this stage (null: the sweep's).
public sealed record StageSpec(int Count, int Epochs, int NumTrain, int TopK = 0, int CarryOver = 0, double Margin = 0.1,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] PruningSpec? Pruning = null)
{
    [JsonIgnore]
    public TrialBudget Budget => new(Epochs, NumTrain);

    /// <summary>Trials this stage runs when the previous stage completed at least <see cref="CarryOver"/> trials.</summary>
    [JsonIgnore]
    public int MaxTrials => Count + CarryOver;
}

/// <summary>
/// A parsed, validated sweep: what to search, how, and with which budgets. Immutable; serialized into the
/// journal's SweepStarted event so that a resumed sweep never depends on the spec file or environment again.
/// </summary>
public sealed record SweepSpec
{
    public required string Name { get; init; }
    public required long Seed { get; init; }
    public required DataSpec Data { get; init; }

    /// <summary>Model family: <c>fc</c>, <c>three_layer_convnet</c> or <c>convnet</c>.</summary>
    public required string Model { get; init; }

    /// <summary>Fixed model and training settings (shared parameter names), the same in every trial.</summary>
    public required TrialConfig Fixed { get; init; }

    public required SearchSpace Space { get; init; }
    public SamplerKind Sampler { get; init; } = SamplerKind.CoarseToFine;

    /// <summary>Points per float/int range for the grid sampler.</summary>
    public int GridPoints { get; init; } = 3;

    public required ImmutableArray<StageSpec> Stages { get; init; }

    /// <summary>How often a trial that fails (throws) is re-run before it is marked failed for good.</summary>
    public int MaxRetries { get; init; } = 2;

    /// <summary>A running trial older than this is cancelled and counted as failed.</summary>
    public TimeSpan TrialTimeout { get; init; } = TimeSpan.FromHours(1);

    // The adaptive-search settings below are left out of the JSON while unset, so specs without them keep their
    // journal form and fingerprint.

    /// <summary>The TPE sampler's settings; set when <see cref="Sampler"/> is <see cref="SamplerKind.Tpe"/>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public TpeSettings? Tpe { get; init; }

    /// <summary>The sweep's pruning rule (a stage's own <see cref="StageSpec.Pruning"/> wins); null: none.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public PruningSpec? Pruning { get; init; }

    /// <summary>When the next stage is planned; null: <see cref="StageStartMode.Barrier"/>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public StageStartSpec? StageStart { get; init; }

    /// <summary>The pruning rule of stage <paramref name="stage"/> (1-based): its own, else the sweep's, else none.</summary>
    public PruningSpec PruningOf(int stage) =>
        (stage >= 1 && stage <= Stages.Length ? Stages[stage - 1].Pruning : null) ?? Pruning ?? PruningSpec.None;

    /// <summary>The epochs at which stage <paramref name="stage"/>'s trials pause (successive halving, ASHA); empty otherwise.</summary>
    public ImmutableArray<int> RungEpochsOf(int stage) =>
        stage >= 1 && stage <= Stages.Length ? PruningOf(stage).RungEpochs(Stages[stage - 1].Epochs) : [];

    /// <summary>
    /// Whether stages are proposed one free slot at a time rather than whole: TPE with eager stage starts, so that each
    /// config is asked with every result in so far (as Optuna's TPE asks once per trial).
    /// </summary>
    [JsonIgnore]
    public bool PlansPerSlot => Sampler == SamplerKind.Tpe && StageStart is { Mode: StageStartMode.Eager };

    /// <summary>How many finished trials of a stage of <paramref name="trials"/> plan the next one (all of them with a barrier).</summary>
    public int QuorumOf(int trials) => StageStart is { Mode: StageStartMode.Eager, Quorum: var q }
        ? Math.Clamp((int)Math.Ceiling(q * trials - 1e-9), 1, Math.Max(1, trials))
        : trials;

    /// <summary>
    /// The spec's checkpoints block as written; null when the spec has none (and in journals older than the block),
    /// which leaves it out of the JSON and so out of the fingerprint. Read <see cref="CheckpointPolicy"/>.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public CheckpointSpec? Checkpoints { get; init; }

    /// <summary>The checkpoint settings in force: the spec's block, or the defaults.</summary>
    [JsonIgnore]
    public CheckpointSpec CheckpointPolicy => Checkpoints ?? CheckpointSpec.Default;

    /// <summary>
    /// SHA-256 (hex, first 16 chars) of the spec's canonical JSON; equal fingerprints mean the same sweep, so a
    /// journal holding another sweep can be recognised.
    /// </summary>
    [JsonIgnore]
    public string Fingerprint
    {
        get
        {
            var json = JsonSerializer.Serialize(this, SweepJson.Options);
            return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(json)))[..16];
        }
    }

    /// <summary>The parameters every trial starts from: model family plus the fixed settings.</summary>
    [JsonIgnore]
    public TrialConfig BaseParams => Fixed.With("model", ParamValue.Of(Model));

    public bool Equals(SweepSpec? other) =>
        other is not null && JsonSerializer.Serialize(this, SweepJson.Options) == JsonSerializer.Serialize(other, SweepJson.Options);

    public override int GetHashCode() => HashCode.Combine(Name, Seed, Model);
}

/// <summary>Settings of the TPE sampler (<c>tpe { ... }</c> in a spec).</summary>
/// <param name="NStartupTrials">Finished trials needed before TPE models anything; until then it samples at random.</param>
/// <param name="Gamma">Fraction of the observed trials (best first) that form the "good" density l(x); the rest form g(x).</param>
/// <param name="Candidates">Candidates drawn from l(x) per proposed config; the one with the highest l(x)/g(x) wins.</param>
public sealed record TpeSettings(int NStartupTrials = 10, double Gamma = 0.25, int Candidates = 24)
{
    public static readonly TpeSettings Default = new();
}

/// <summary>Which pruning rule stops running trials early.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<PruningRule>))]
public enum PruningRule
{
    /// <summary>Every trial trains its whole budget.</summary>
    [JsonStringEnumMemberName("none")] None,
    /// <summary>Stop a trial whose best val accuracy so far is below the median of its stage peers' at the same epoch.</summary>
    [JsonStringEnumMemberName("median")] Median,
    /// <summary>
    /// Synchronous successive halving: every trial of the stage pauses at each rung; once all of them got there, the top
    /// 1/η resume from their checkpoints and the rest are pruned. Deterministic.
    /// </summary>
    [JsonStringEnumMemberName("successive_halving")] SuccessiveHalving,
    /// <summary>Asynchronous successive halving: a trial at a rung goes on as soon as it is in the top 1/η of the trials that got there so far.</summary>
    [JsonStringEnumMemberName("asha")] Asha,
}

/// <summary>
/// A pruning rule and when it may act. Median: from epoch <see cref="MinEpochs"/> on, once at least <see cref="MinPeers"/>
/// other trials of the stage reported that epoch; a trial is never pruned at its last epoch (nothing would be saved).
/// Successive halving and ASHA: at the rungs <see cref="RungEpochs"/>, with reduction factor η =
/// <see cref="ReductionFactor"/> (set for those two rules only, so that other specs keep their journal form).
/// </summary>
public sealed record PruningSpec(PruningRule Rule, int MinEpochs = 1, int MinPeers = 3,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? ReductionFactor = null)
{
    public static readonly PruningSpec None = new(PruningRule.None);

    /// <summary>η when the spec gives none.</summary>
    public const int DefaultReductionFactor = 3;

    /// <summary>Whether trials pause at rungs (successive halving, ASHA) rather than being judged after every epoch.</summary>
    [JsonIgnore]
    public bool UsesRungs => Rule is PruningRule.SuccessiveHalving or PruningRule.Asha;

    /// <summary>
    /// The epochs a stage of <paramref name="epochs"/> epochs pauses its trials at: <see cref="MinEpochs"/> × η^k for
    /// k = 0, 1, ... while below <paramref name="epochs"/> (the trials promoted past the last rung train to the end).
    /// Empty for the other rules. E.g. min_epochs 1, η 3, 9 epochs: [1, 3]; 10 epochs: [1, 3, 9].
    /// </summary>
    public ImmutableArray<int> RungEpochs(int epochs)
    {
        if (!UsesRungs) return [];
        var eta = ReductionFactor ?? DefaultReductionFactor;
        var rungs = ImmutableArray.CreateBuilder<int>();
        for (long rung = Math.Max(1, MinEpochs); rung < epochs; rung *= eta)
            rungs.Add((int)rung);
        return rungs.ToImmutable();
    }
}

/// <summary>When stage k+1 is planned: once every trial of stage k finished, or once a quorum of them did.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<StageStartMode>))]
public enum StageStartMode
{
    [JsonStringEnumMemberName("barrier")] Barrier,
    [JsonStringEnumMemberName("eager")] Eager,
}

/// <summary>
/// <see cref="Mode"/> and, for <see cref="StageStartMode.Eager"/>, the fraction of a stage's trials that must be finished
/// before the next stage is planned from them (its stragglers keep running and still rank in their stage).
/// </summary>
public sealed record StageStartSpec(StageStartMode Mode, double Quorum = 1.0);
