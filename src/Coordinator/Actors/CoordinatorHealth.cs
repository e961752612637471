namespace Sweep.Coordinator.Actors;

// The coordinator's reports to its CoordinatorSupervisor (local only, never sent over the wire).

/// <summary>Coordinator -> supervisor: a write to the journal (events or a snapshot) succeeded.</summary>
public sealed record JournalWriteSucceeded
{
    public static readonly JournalWriteSucceeded Instance = new();
}

/// <summary>Coordinator -> supervisor: a journal write or recovery failed; <paramref name="Reason"/> is the error's first line.</summary>
public sealed record JournalWriteFailed(string Reason);
