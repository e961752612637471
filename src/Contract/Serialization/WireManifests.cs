using System.Collections.Frozen;
using Sweep.Contract.Protocol;
using Sweep.Search.Engine;

namespace Sweep.Contract.Serialization;

/// <summary>
/// The stable names under which Sweep types are stored in journals and sent between nodes. A name, once
/// used, is never reused for another type; renaming a class only changes this table's right-hand side.
/// </summary>
public static class WireManifests
{
    private static readonly FrozenDictionary<string, Type> TypesByName = new Dictionary<string, Type>
    {
        // wire messages
        ["register-worker"] = typeof(RegisterWorker),
        ["worker-registered"] = typeof(WorkerRegistered),
        ["registration-required"] = typeof(RegistrationRequired),
        ["request-trials"] = typeof(RequestTrials),
        ["assign-trial"] = typeof(AssignTrial),
        ["trial-rejected"] = typeof(TrialRejected),
        ["trial-epoch-report"] = typeof(TrialEpochReport),
        ["trial-finished"] = typeof(TrialFinished),
        ["trial-errored"] = typeof(TrialErrored),
        ["trial-outcome-acknowledged"] = typeof(TrialOutcomeAcknowledged),
        ["cancel-trial"] = typeof(CancelTrial),
        ["get-sweep-status"] = typeof(GetSweepStatus),
        ["sweep-status"] = typeof(SweepStatus),
        ["coordinator-unavailable"] = typeof(CoordinatorUnavailable),
        ["checkpoint-chunk"] = typeof(CheckpointChunk),
        ["checkpoint-chunk-ack"] = typeof(CheckpointChunkAck),
        ["checkpoint-chunk-request"] = typeof(CheckpointChunkRequest),
        ["checkpoint-unavailable"] = typeof(CheckpointUnavailable),
        ["checkpoint-refused"] = typeof(CheckpointRefused),
        // snapshot
        ["coordinator-snapshot"] = typeof(CoordinatorSnapshot),
        // journal events (the search library's)
        ["sweep-started"] = typeof(SweepStarted),
        ["stage-started"] = typeof(StageStarted),
        ["trial-dispatched"] = typeof(TrialDispatched),
        ["trial-epoch-reported"] = typeof(TrialEpochReported),
        ["trial-completed"] = typeof(TrialCompleted),
        ["trial-failed"] = typeof(TrialFailed),
        ["trial-requeued"] = typeof(TrialRequeued),
        ["stage-completed"] = typeof(StageCompleted),
        ["sweep-completed"] = typeof(SweepCompleted),
        ["trial-checkpointed"] = typeof(TrialCheckpointed),
        ["trial-resumed"] = typeof(TrialResumed),
        ["trial-resume-abandoned"] = typeof(TrialResumeAbandoned),
        ["checkpoint-discarded"] = typeof(CheckpointDiscarded),
        ["trial-pruned"] = typeof(TrialPruned),
        ["stage-planned"] = typeof(StagePlanned),
        ["trial-tested"] = typeof(TrialTested),
        ["trial-paused"] = typeof(TrialPaused),
        ["trial-promoted"] = typeof(TrialPromoted),
        ["trials-planned"] = typeof(TrialsPlanned),
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private static readonly FrozenDictionary<Type, string> NamesByType =
        TypesByName.ToFrozenDictionary(pair => pair.Value, pair => pair.Key);

    /// <summary>Every stored or sent type with its name, for tests that must cover all of them.</summary>
    public static IReadOnlyDictionary<string, Type> All => TypesByName;

    public static string NameOf(Type type) =>
        NamesByType.TryGetValue(type, out var name)
            ? name
            : throw new ArgumentException($"sweep-json: type {type.FullName} has no manifest name; add it to {nameof(WireManifests)}");

    public static Type TypeOf(string name) =>
        TypesByName.TryGetValue(name, out var type)
            ? type
            : throw new System.Runtime.Serialization.SerializationException($"sweep-json: unknown manifest '{name}' (a journal or node from a newer Sweep?)");
}
