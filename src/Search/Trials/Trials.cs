using System.Collections.Immutable;
using System.Text.Json.Serialization;
using Sweep.Search.Spaces;

namespace Sweep.Search.Trials;

/// <summary>
/// Where a trial is in its life. Pending, Running and Paused are open; the others are terminal.
/// Wire/JSON names are the lower-case forms (<c>completed|diverged|cancelled|failed</c> for results).
/// <see cref="Pruned"/> and <see cref="Paused"/> are the coordinator's decisions, never a worker's result: a pruning rule
/// stopped the trial early for good, or (successive halving, ASHA) its run ended at a rung and it waits there, holding no
/// slot, until the rule promotes it (pending again, resuming from its checkpoint) or prunes it.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<TrialStatus>))]
public enum TrialStatus
{
    [JsonStringEnumMemberName("pending")] Pending,
    [JsonStringEnumMemberName("running")] Running,
    [JsonStringEnumMemberName("completed")] Completed,
    [JsonStringEnumMemberName("diverged")] Diverged,
    [JsonStringEnumMemberName("cancelled")] Cancelled,
    [JsonStringEnumMemberName("failed")] Failed,
    [JsonStringEnumMemberName("pruned")] Pruned,
    [JsonStringEnumMemberName("paused")] Paused,
}

public static class TrialStatusExtensions
{
    public static bool IsTerminal(this TrialStatus status) => status is TrialStatus.Completed or TrialStatus.Diverged or TrialStatus.Failed or TrialStatus.Cancelled or TrialStatus.Pruned;

    /// <summary>The lower-case name used in JSON, CSV and the CLI.</summary>
    public static string ToWireName(this TrialStatus status) => status.ToString().ToLowerInvariant();
}

/// <summary>How much training a trial gets: epochs over the first <see cref="NumTrain"/> training images.</summary>
public sealed record TrialBudget(int Epochs, int NumTrain);

/// <summary>
/// Everything a worker needs to run one trial. <see cref="Params"/> holds the model family (<c>model</c>),
/// the fixed and the sampled settings and the budget (<c>epochs</c>, <c>num_train</c>), under the shared
/// snake_case parameter names. The seed is derived from the sweep seed and the trial's position, so a
/// retried or resumed trial trains from the same initialization.
/// </summary>
public sealed record TrialSpec(string TrialId, int Stage, TrialConfig Params, TrialBudget Budget, long Seed)
{
    /// <summary>Trial ids are <c>s{stage}-t{index:D4}</c>, 1-based, e.g. <c>s2-t0007</c>.</summary>
    public static string MakeId(int stage, int index) => $"s{stage}-t{index:D4}";
}

/// <summary>
/// The outcome of one trial run, as the worker reports it (same fields as <c>./sweep train --json</c>).
/// <see cref="BestValAcc"/> is the best epoch's validation accuracy, never the last one's.
/// </summary>
public sealed record TrialResult(
    TrialStatus Status,
    double BestValAcc,
    int BestEpoch,
    ImmutableArray<double> TrainAccHistory,
    ImmutableArray<double> ValAccHistory,
    double FinalLoss,
    double Seconds,
    string? CheckpointPath = null,
    string? Worker = null,
    string? Error = null)
{
    /// <summary>Epochs trained: the histories hold the epoch-0 check (after the first update) plus one entry per epoch.</summary>
    [JsonIgnore]
    public int EpochsRun => ValAccHistory.IsDefaultOrEmpty ? 0 : ValAccHistory.Length - 1;

    [JsonIgnore]
    public double? FinalTrainAcc => TrainAccHistory.IsDefaultOrEmpty ? null : TrainAccHistory[^1];

    public bool Equals(TrialResult? other) =>
        other is not null && Status == other.Status && BestValAcc.Equals(other.BestValAcc) && BestEpoch == other.BestEpoch &&
        Seq(TrainAccHistory).SequenceEqual(Seq(other.TrainAccHistory)) && Seq(ValAccHistory).SequenceEqual(Seq(other.ValAccHistory)) &&
        FinalLoss.Equals(other.FinalLoss) && Seconds.Equals(other.Seconds) && CheckpointPath == other.CheckpointPath &&
        Worker == other.Worker && Error == other.Error;

    public override int GetHashCode() => HashCode.Combine(Status, BestValAcc, BestEpoch, FinalLoss, Seconds, Worker);

    private static ImmutableArray<double> Seq(ImmutableArray<double> a) => a.IsDefault ? [] : a;
}

/// <summary>The latest per-epoch report of a running trial.</summary>
public sealed record EpochProgress(int Epoch, double Loss, double TrainAcc, double ValAcc);
