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
public sealed record StageSpec(int Count, int Epochs, int NumTrain, int TopK = 0, int CarryOver = 0, double Margin = 0.1)
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
