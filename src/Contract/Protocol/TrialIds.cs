using System.Text.RegularExpressions;

namespace Sweep.Contract.Protocol;

/// <summary>
/// The one check of a trial id received from another process or read from a journal. A trial id names files on
/// the worker (its checkpoint folder), so only ids that are a single safe path segment are accepted: a letter or
/// digit first, then letters, digits, '-' and '_', at most 64 characters. Ids made by the planner
/// (<c>s1-t0001</c>) always pass.
/// </summary>
public static partial class TrialIds
{
    public const int MaxLength = 64;

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex SafeSegment();

    public static bool IsValid(string? trialId) =>
        trialId is { Length: > 0 and <= MaxLength } && SafeSegment().IsMatch(trialId);

    /// <summary>The id itself when valid; otherwise an <see cref="ArgumentException"/> that quotes it escaped and cut short.</summary>
    public static string Check(string? trialId) =>
        IsValid(trialId)
            ? trialId!
            : throw new ArgumentException($"invalid trial id {Describe(trialId)}: a trial id is 1-{MaxLength} letters, digits, '-' or '_'");

    /// <summary>An untrusted id made safe to log: control characters escaped, at most 80 characters.</summary>
    public static string Describe(string? trialId)
    {
        if (trialId is null)
            return "(none)";
        var cut = trialId.Length > 80 ? trialId[..80] + "..." : trialId;
        var escaped = new System.Text.StringBuilder(cut.Length + 2).Append('"');
        foreach (var c in cut)
            escaped.Append(char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString());
        return escaped.Append('"').ToString();
    }
}
