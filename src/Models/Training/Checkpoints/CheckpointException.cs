namespace Sweep.Models.Training.Checkpoints;

/// <summary>Why a trial checkpoint cannot be used.</summary>
public enum CheckpointProblem
{
    /// <summary>The file does not exist or cannot be read.</summary>
    Unreadable,

    /// <summary>The file does not start with the checkpoint magic.</summary>
    NotACheckpoint,

    /// <summary>A format version this build does not read.</summary>
    UnsupportedVersion,

    /// <summary>Shorter than its preamble says: the copy or the write was cut off.</summary>
    Truncated,

    /// <summary>Its SHA-256 trailer does not match its content, or its content does not parse.</summary>
    Corrupt,

    /// <summary>Valid, but written by another model, solver setting, data split or device than this run's.</summary>
    Mismatch,

    /// <summary>Valid, but it has no best weights yet (no val check beat 0).</summary>
    NoBestWeights,
}

/// <summary>
/// A trial checkpoint that cannot be used, for one <see cref="Problem"/>; the message is one line naming the file, the
/// problem and what to do.
/// </summary>
public sealed class CheckpointException(CheckpointProblem problem, string message) : Exception(message)
{
    public CheckpointProblem Problem { get; } = problem;
}
