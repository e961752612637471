using System.Diagnostics;
using System.Text;

namespace Sweep.Coordinator.Tests.Support;

/// <summary>The built Sweep executables, run as real OS processes (`dotnet Sweep.*.dll ...`), always with a time bound.</summary>
public sealed class SweepProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();

    private SweepProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_stdout) _stdout.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) _stderr.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>Sweep.Coordinator.dll sits beside the test assembly (project reference).</summary>
    public static string CoordinatorDll => Path.Combine(AppContext.BaseDirectory, "Sweep.Coordinator.dll");

    /// <summary>
    /// Sweep.Worker.dll in the worker project's own output folder (same configuration and framework as this test),
    /// as ./sweep runs it: the copy beside the test assembly would start with the test folder's dependency set, which
    /// the coordinator's ASP.NET Core framework reference shapes (it drops packages that framework supplies and the
    /// worker's runtime configuration does not name).
    /// </summary>
    public static string WorkerDll
    {
        get
        {
            var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var (framework, configuration) = (output.Name, output.Parent!.Name);
            return Path.Combine(Sweep.TestSupport.RepoPaths.Root(), "src", "Worker", "bin", configuration, framework, "Sweep.Worker.dll");
        }
    }

    public int Id => _process.Id;
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    public string Stdout { get { lock (_stdout) return _stdout.ToString(); } }
    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

    public static SweepProcess Start(string dll, string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args) =>
        Launch([], dll, workingDirectory, environment, args);

    /// <summary>As <see cref="Start"/>, inside network namespace <paramref name="netns"/> (`ip netns exec`, which execs the program: same pid).</summary>
    public static SweepProcess StartInNetworkNamespace(string netns, string dll, string workingDirectory, params string[] args) =>
        Launch(["ip", "netns", "exec", netns], dll, workingDirectory, null, args);

    private static SweepProcess Launch(IReadOnlyList<string> prefix, string dll, string workingDirectory, IReadOnlyDictionary<string, string>? environment, string[] args)
    {
        var start = new ProcessStartInfo(prefix.Count > 0 ? prefix[0] : "dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in prefix.Skip(1).Concat(prefix.Count > 0 ? ["dotnet"] : []))
            start.ArgumentList.Add(arg);
        start.ArgumentList.Add(dll);
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        start.Environment["SWEEP_WORKER_DLL"] = WorkerDll;
        start.Environment["DOTNET_NOLOGO"] = "1";
        if (environment is not null)
            foreach (var (key, value) in environment)
                start.Environment[key] = value;
        return new SweepProcess(Process.Start(start)!);
    }

    /// <summary>Runs to the end (killed after <paramref name="timeout"/>) and returns exit code and output.</summary>
    public static (int ExitCode, string Stdout, string Stderr) Run(string dll, string workingDirectory, TimeSpan timeout,
        IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        using var process = Start(dll, workingDirectory, environment, args);
        if (!process.WaitForExit(timeout))
        {
            process.Kill();
            throw new TimeoutException($"`{string.Join(' ', args)}` did not finish within {timeout.TotalSeconds} s; output:\n{process.Stdout}\n{process.Stderr}");
        }
        return (process.ExitCode, process.Stdout, process.Stderr);
    }

    public bool WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
            return false;
        _process.WaitForExit(); // flush the asynchronous output readers
        return true;
    }

    /// <summary>Waits until the output contains <paramref name="text"/>; false when the time runs out or the process ends first.</summary>
    public bool WaitForOutput(Func<string, bool> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (condition(Stdout))
                return true;
            if (_process.HasExited)
                return condition(Stdout);
            Thread.Sleep(100);
        }
        return false;
    }

    /// <summary>kill -9 of this process only (its children must notice on their own).</summary>
    public void KillHard()
    {
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: false);
        _process.WaitForExit(10_000);
    }

    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
                _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }
}
