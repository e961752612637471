using Sweep.Contract.Protocol;

namespace Sweep.Contract.Security;

/// <summary>
/// Where a trial's checkpoint files go: one folder per trial inside the checkpoint folder. The id is checked
/// with <see cref="TrialIds"/> and the resolved folder must still lie inside the checkpoint folder, so an id from
/// the network can never name a path elsewhere.
/// </summary>
public static class TrialCheckpoints
{
    public static string FolderOf(string checkpointDirectory, string trialId)
    {
        TrialIds.Check(trialId);
        var root = Path.GetFullPath(checkpointDirectory);
        var folder = Path.GetFullPath(Path.Combine(root, trialId));
        if (!folder.StartsWith(Path.TrimEndingDirectorySeparator(root) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new ArgumentException($"trial id {TrialIds.Describe(trialId)} leaves the checkpoint folder");
        return folder;
    }
}
