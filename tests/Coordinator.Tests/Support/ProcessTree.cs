using System.Diagnostics;

namespace Sweep.Coordinator.Tests.Support;

/// <summary>Linux process lookups for tests that kill one process of a running sweep: children by parent id, liveness, signals.</summary>
public static class ProcessTree
{
    /// <summary>The ids of <paramref name="parentId"/>'s live children whose command line contains <paramref name="argument"/>.</summary>
    public static IReadOnlyList<int> Children(int parentId, string argument)
    {
        var children = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
                continue;
            try
            {
                // /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces, so read after its closing parenthesis.
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (int.Parse(fields[1]) != parentId)
                    continue;
                var commandLine = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
                if (commandLine.Contains(argument))
                    children.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
            {
                // The process ended while we looked.
            }
        }
        return children;
    }

    public static bool IsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>`kill -SIGNAL pid`, e.g. SEGV.</summary>
    public static void Signal(int pid, string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, pid.ToString()]);
        kill.WaitForExit(5000);
    }

    /// <summary>
    /// kill -SEGV until the process is gone. The .NET runtime's SIGSEGV handler takes the first one (outside managed code
    /// it restores the default action and returns, which for a real fault re-runs the faulting instruction and ends the
    /// process); a sent signal is not re-raised that way, so the second one ends it as a native crash does.
    /// </summary>
    public static void Segfault(int pid)
    {
        for (var i = 0; i < 20 && IsAlive(pid); i++)
        {
            Signal(pid, "SEGV");
            Thread.Sleep(1000);
        }
    }

    /// <summary>Reads a log that its process may still be writing.</summary>
    public static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
