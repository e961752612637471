using System.CommandLine;
using System.Diagnostics;
using Akka.Configuration;
using Sweep.Contract.Cli;
using Sweep.Contract.Configuration;
using Sweep.Contract.Logging;
using Sweep.Contract.Nodes;
using Sweep.Worker.Hosting;
using Sweep.Worker.Isolation;
using Sweep.Worker.Trials;

namespace Sweep.Worker.Cli;

/// <summary>`sweep worker`: join a cluster through its seed nodes and run trials until stopped.</summary>
public static class WorkerCommand
{
    /// <summary>The environment variable that sets --isolation's default (process or none).</summary>
    public const string IsolationVariable = "SWEEP_ISOLATION";

    public static Command Create()
    {
        var seeds = new Option<string>("--seed-nodes") { Description = "HOST:PORT[,HOST:PORT] of the coordinator (and other long-running nodes)", Required = true };
        var host = new Option<string?>("--host") { Description = "address other nodes reach this worker at (default: the configuration's, 127.0.0.1)" };
        var port = new Option<int?>("--port") { Description = "port to listen on (default: the configuration's, 0 = any free port)" };
        var slots = new Option<int?>("--slots") { Description = "trials run at once (default: one per CUDA device, else one per core)" };
        var device = new Option<string?>("--device") { Description = "cpu, cuda or cuda:N (default: cuda when available, else cpu)" };
        var threads = new Option<int?>("--threads") { Description = "torch threads per slot (default: cores / slots)" };
        var cores = new Option<int?>("--cores") { Description = "cores this worker lays its slots over (default: all of the machine's)" };
        var data = new Option<string?>("--data") { Description = "CIFAR-10 folder (default: SWEEP_DATA)" };
        var checkpoints = new Option<string>("--checkpoint-dir") { Description = "where each trial's best-val weights are kept", DefaultValueFactory = _ => "checkpoints" };
        var joinTimeout = new Option<double?>("--join-timeout") { Description = "seconds to wait for the cluster before giving up (default: sweep.node.join-timeout, 30 s)" };
        var isolation = new Option<string>("--isolation")
        {
            Description = $"process: each slot trains in its own child process, which a native crash ends without the worker; none: train inside the worker process (default: {IsolationVariable}, else process)",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable(IsolationVariable) is { Length: > 0 } mode ? mode : "process",
        };
        isolation.AcceptOnlyFromAmong("process", "none");
        var parent = new Option<int?>("--exit-with-parent") { Description = "exit when this process id ends (used by ./sweep run)", Hidden = true };
        var command = new Command("worker", "run a worker node: join the cluster and train the trials the coordinator hands out")
        {
            seeds, host, port, slots, device, threads, cores, data, checkpoints, joinTimeout, isolation, parent,
        };
        command.SetAction((result, _) => CliRunner.Guard(async () =>
        {
            var seedNodes = ClusterNodeConfig.ParseSeedNodes(result.GetValue(seeds));
            var portValue = result.GetValue(port) is { } p ? ClusterNodeConfig.CheckPort(p) : (int?)null;
            var timeout = ClusterNodeConfig.JoinTimeout(result.GetValue(joinTimeout));
            var dataFlag = result.GetValue(data) ?? Environment.GetEnvironmentVariable("SWEEP_DATA");
            if (string.IsNullOrWhiteSpace(dataFlag))
                throw new SweepUsageException("no CIFAR-10 folder given; pass --data DIR or set SWEEP_DATA");
            var dataDirectory = DataDirectory.Check(dataFlag, result.GetValue(data) is null ? "SWEEP_DATA" : "--data");
            var checkpointDirectory = Path.GetFullPath(result.GetValue(checkpoints)!);
            var coreBudget = result.GetValue(cores) ?? Environment.ProcessorCount;
            if (coreBudget < 1)
                throw new SweepUsageException($"--cores {coreBudget} must be at least 1");
            var plan = SlotPlanner.Plan(result.GetValue(slots), result.GetValue(device), result.GetValue(threads),
                coreBudget, TorchTrialRunner.CudaDeviceCount(), checkpointDirectory);
            // Isolated: the slots' children load the data while this node joins the cluster.
            ITrialRunner runner = result.GetValue(isolation) == "none"
                ? TorchTrialRunner.Create(dataDirectory)
                : IsolatedTrialRunner.Launch(TrialHostLaunch.ForThisProgram(dataDirectory), plan.Count, line => Console.Error.WriteLine($"[{DateTime.UtcNow:HH:mm:ss.fff}] {line}"));
            try
            {
                var options = new ClusterNodeOptions(result.GetValue(host), portValue, seedNodes, ClusterNodeConfig.WorkerRole);
                return await RunAsync(options, plan, runner, timeout, result.GetValue(parent));
            }
            finally
            {
                (runner as IDisposable)?.Dispose();
            }
        }));
        return command;
    }

    /// <summary>
    /// `check-data DIR --source NAME` (hidden): reads every batch file and prints the folder holding CIFAR-10's batches,
    /// or the one-line error; `./sweep run` asks it before it journals anything or starts local workers on that folder.
    /// </summary>
    public static Command CheckData()
    {
        var directory = new Argument<string>("DIR") { Description = "the CIFAR-10 folder to check" };
        var source = new Option<string>("--source") { Description = "where the folder came from, for the message", DefaultValueFactory = _ => "--data" };
        var command = new Command("check-data", "check that a folder holds CIFAR-10 and print the folder of its batches") { directory, source };
        command.Hidden = true;
        command.SetAction((result, _) => CliRunner.Guard(() =>
        {
            var folder = DataDirectory.Check(result.GetValue(directory)!, result.GetValue(source)!);
            DataDirectory.CheckContents(folder);
            Console.WriteLine(folder);
            return Task.FromResult(ExitCodes.Success);
        }));
        return command;
    }

    private static async Task<int> RunAsync(ClusterNodeOptions options, IReadOnlyList<TrialSlot> slots, ITrialRunner runner, TimeSpan joinTimeout, int? parentId)
    {
        using var stop = new StopSignals();
        // One line per log event on the console: no remoting stack traces when the coordinator goes away.
        var logging = ConfigurationFactory.ParseString($"akka.loggers = {SweepConfig.QuoteList([typeof(OneLineConsoleLogger).AssemblyQualifiedName!])}");
        var host = await WorkerHost.StartAsync(options, slots, runner, joinTimeout, logging);
        Console.WriteLine($"worker: pid {Environment.ProcessId}, {host.WorkerId} joined with {slots.Count} slot(s): {string.Join(", ", slots.Select(s => $"{s.Device}x{s.Threads} threads"))}");
        if (runner is IsolatedTrialRunner isolated)
        {
            // The slots' children finish loading the data (or a stop signal comes first). A child that cannot load it
            // ends the worker: leave the cluster, then its one-line error is printed.
            await Task.WhenAny(isolated.WhenReady, Task.Delay(Timeout.Infinite, stop.Token));
            if (isolated.WhenReady.IsFaulted)
            {
                await host.DisposeAsync();
                await isolated.WhenReady;
            }
        }
        var parentGone = parentId is { } id ? WatchParentAsync(id, stop.Token) : Task.Delay(Timeout.Infinite, stop.Token);
        var finished = await Task.WhenAny(host.System.WhenTerminated, parentGone, Task.Delay(Timeout.Infinite, stop.Token).ContinueWith(_ => { }));
        if (finished == host.System.WhenTerminated)
        {
            await Console.Error.WriteLineAsync("worker: removed from the cluster (coordinator gone or this node was unreachable); start it again to rejoin");
            return ExitCodes.Unfinished;
        }
        if (!stop.IsCancellationRequested)
        {
            // The `run` that started this worker is gone, and with it the coordinator: leaving gracefully would
            // only wait for a cluster that no longer answers while the trial thread keeps burning CPU.
            Console.WriteLine("worker: parent process ended; exiting");
            return ExitCodes.Success;
        }
        Console.WriteLine("worker: stopping");
        await host.DisposeAsync();
        return ExitCodes.Success;
    }

    private static async Task WatchParentAsync(int parentId, CancellationToken cancel)
    {
        while (!cancel.IsCancellationRequested)
        {
            try
            {
                using var parent = Process.GetProcessById(parentId);
                if (parent.HasExited)
                    return;
            }
            catch (ArgumentException)
            {
                return;
            }
            await Task.Delay(1000, cancel).ContinueWith(_ => { });
        }
    }
}
