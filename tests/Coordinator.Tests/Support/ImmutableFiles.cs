namespace Sweep.Coordinator.Tests.Support;

/// <summary>
/// Makes files and folders read-only in a way that holds for root too: `chattr +i` (ext4's immutable flag), under which
/// even root can neither open a file for writing, write through a descriptor opened before, nor create a file in the
/// folder. A plain chmod would not stop a test process that runs as root, as CI does.
/// </summary>
public static class ImmutableFiles
{
    /// <summary>Why the flag cannot be used here (not root, no chattr, a file system without it); null when it can.</summary>
    public static string? Unavailable { get; } = Probe();

    public static void Set(params string[] paths) => Chattr("+i", paths);

    public static void Clear(params string[] paths) => Chattr("-i", paths);

    private static void Chattr(string flag, IEnumerable<string> paths)
    {
        var existing = paths.Where(p => File.Exists(p) || Directory.Exists(p)).ToList();
        if (existing.Count == 0)
            return;
        var (code, output) = SystemCommand.Run("chattr", [flag, .. existing]);
        if (code != 0)
            throw new InvalidOperationException($"chattr {flag} failed ({code}): {output}");
    }

    private static string? Probe()
    {
        var folder = Path.Combine(Path.GetTempPath(), "sweep-immutable-probe-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        try
        {
            var (code, output) = SystemCommand.Run("chattr", "+i", folder);
            if (code != 0)
                return $"`chattr +i` does not work here ({output.Trim()}); it needs root and a file system with the immutable flag (ext4)";
            SystemCommand.Run("chattr", "-i", folder);
            return null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "chattr is not installed (Debian package e2fsprogs)";
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}

/// <summary>A fact that is skipped, with the reason, where <see cref="ImmutableFiles"/> cannot make files read-only.</summary>
public sealed class ImmutableFilesFactAttribute : FactAttribute
{
    public ImmutableFilesFactAttribute()
    {
        if (ImmutableFiles.Unavailable is { } reason)
            Skip = reason;
    }
}
