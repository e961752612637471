using System.Diagnostics;
using System.Runtime.InteropServices;
using Sweep.Contract.Cli;

namespace Sweep.Coordinator.LocalWorkers;

/// <summary>
/// The worker processes that `run` and `resume` start on this machine (`dotnet Sweep.Worker.dll worker ...`),
/// joined to the coordinator over loopback. Each writes its log to a file, exits by itself when this process
/// dies (even by kill -9), is started again when it dies before the sweep ends (a bounded number of times),
/// and is killed when the pool is disposed.
/// </summary>
public sealed class LocalWorkerPool : IDisposable
{
    public const string WorkerDllVariable = "SWEEP_WORKER_DLL";

    /// <summary>
    /// How often each local worker may be started again after it died. With trials isolated in child processes a
    /// training crash no longer ends a worker, so a restart means the worker process itself failed.
    /// </summary>
    public const int RestartsPerWorker = 2;

    private readonly List<Process> _processes = [];
    private readonly List<string> _arguments;
    private int _restartsLeft;

    private LocalWorkerPool(IReadOnlyList<string> logFiles, List<string> arguments, int restarts)
    {
        LogFiles = logFiles;
        _arguments = arguments;
        _restartsLeft = restarts;
    }

    public IReadOnlyList<string> LogFiles { get; }

    public int Count => _processes.Count;

    public int Running => _processes.Count(p => !HasExited(p));

    /// <summary>How many times a worker that had died was started again.</summary>
    public int Restarts { get; private set; }

    /// <summary>Sweep.Worker.dll from SWEEP_WORKER_DLL (set by ./sweep), else beside this program.</summary>
    public static string LocateWorkerDll()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable(WorkerDllVariable);
        var candidate = string.IsNullOrWhiteSpace(fromEnvironment)
            ? Path.Combine(AppContext.BaseDirectory, "Sweep.Worker.dll")
            : fromEnvironment;
        if (!File.Exists(candidate))
            throw new SweepUsageException(
                $"worker program '{candidate}' not found; run through ./sweep (it builds and sets {WorkerDllVariable}) or set {WorkerDllVariable} to Sweep.Worker.dll");
        return candidate;
    }

    /// <summary>
    /// Asks the worker program whether <paramref name="directory"/> (named <paramref name="source"/> in messages) holds
    /// CIFAR-10, before anything starts: the worker owns that check, since it is the one that reads the data. Returns
    /// the folder holding the batches; a bad folder raises the worker's one-line message.
    /// </summary>
    public static string CheckData(string workerDll, string directory, string source) =>
        WorkerTool.Run(workerDll, ["check-data", directory, "--source", source], $"check data directory '{directory}'");

    /// <summary>
    /// Starts <paramref name="count"/> CPU workers that split this machine's cores between them; each worker's
    /// slot planner lays out its share (README, "Benchmarks": one single-threaded slot per core).
    /// </summary>
    public static LocalWorkerPool Start(int count, string workerDll, string seedNode, string dataDirectory, string logDirectory, string checkpointDirectory)
    {
        Directory.CreateDirectory(logDirectory);
        var cores = Math.Max(1, Environment.ProcessorCount / Math.Max(1, count));
        var logs = Enumerable.Range(1, count).Select(i => Path.Combine(logDirectory, $"worker-{i}.log")).ToList();
        List<string> arguments =
        [
            workerDll, "worker", "--seed-nodes", seedNode, "--device", "cpu",
            "--cores", cores.ToString(), "--data", dataDirectory,
            "--checkpoint-dir", checkpointDirectory,
            "--exit-with-parent", Environment.ProcessId.ToString(),
        ];
        var pool = new LocalWorkerPool(logs, arguments, restarts: RestartsPerWorker * count);
        try
        {
            for (var i = 0; i < count; i++)
                pool._processes.Add(pool.Launch(i));
            return pool;
        }
        catch
        {
            pool.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Starts a replacement for every worker that died (crashed, killed, or removed from the cluster after
    /// looking unreachable on a busy machine) while restarts are left; returns how many were started.
    /// </summary>
    public int RestartExited()
    {
        var restarted = 0;
        for (var i = 0; i < _processes.Count && _restartsLeft > 0; i++)
        {
            if (!HasExited(_processes[i]))
                continue;
            _processes[i].Dispose();
            _processes[i] = Launch(i);
            _restartsLeft--;
            Restarts++;
            restarted++;
        }
        return restarted;
    }

    private Process Launch(int index)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in _arguments)
            start.ArgumentList.Add(argument);
        var process = Process.Start(start) ?? throw new SweepUsageException("could not start a worker process (dotnet not on PATH?)");
        var log = new StreamWriter(LogFiles[index], append: true) { AutoFlush = true };
        var gate = new object();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (gate) log.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (gate) log.WriteLine(e.Data); };
        process.Exited += (_, _) => { lock (gate) log.Flush(); };
        process.EnableRaisingEvents = true;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Asks every worker to leave the cluster (SIGTERM), waits a few seconds, then kills what is left.</summary>
    public void Dispose()
    {
        foreach (var process in _processes.Where(p => !HasExited(p)))
            _ = SendSignal(process.Id, SigTerm);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        foreach (var process in _processes)
        {
            try
            {
                var left = deadline - DateTime.UtcNow;
                if (!process.HasExited && (left <= TimeSpan.Zero || !process.WaitForExit(left)))
                {
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit(5000);
                }
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
            process.Dispose();
        }
        _processes.Clear();
    }

    private const int SigTerm = 15;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);

    private static bool HasExited(Process process)
    {
        try
        {
            return process.HasExited;
        }
        catch (InvalidOperationException)
        {
            return true;
        }
    }
}
