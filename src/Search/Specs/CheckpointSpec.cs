using System.Text.Json.Serialization;

namespace Sweep.Search.Specs;

/// <summary>What the coordinator keeps of a trial's checkpoints once the trial has finished.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<CheckpointKeep>))]
public enum CheckpointKeep
{
    /// <summary>Each trial's latest checkpoint, kept after the trial finishes (it holds the trial's best weights).</summary>
    [JsonStringEnumMemberName("latest")] Latest,
    /// <summary>A running trial's latest checkpoint, for resuming it; deleted once the trial finishes.</summary>
    [JsonStringEnumMemberName("none")] None,
}

/// <summary>
/// The spec's <c>checkpoints { every, keep, carry_over }</c> block: workers write a checkpoint after every
/// <see cref="Every"/>-th epoch and after the last one (0: never, so nothing resumes), the coordinator stores each trial's
/// latest and keeps it per <see cref="Keep"/>, and a config carried into the next stage with the same num_train and
/// more epochs continues from its previous trial's checkpoint unless <see cref="ContinueCarryOver"/> is off.
/// </summary>
public sealed record CheckpointSpec(int Every = CheckpointSpec.DefaultEvery, CheckpointKeep Keep = CheckpointKeep.Latest, bool ContinueCarryOver = true)
{
    public const int DefaultEvery = 1;
    public const int MaxEvery = 10_000;

    /// <summary>The keys of the block, in the order the README lists them.</summary>
    public static readonly string[] Keys = ["every", "keep", "carry_over"];

    /// <summary>Every epoch, keep the latest, carried configs continue.</summary>
    public static CheckpointSpec Default { get; } = new();

    [JsonIgnore] public bool Enabled => Every > 0;
}
