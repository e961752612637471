using System.CommandLine;
using Sweep.Contract.Cli;
using Sweep.Contract.Nodes;
using Sweep.Coordinator.LocalWorkers;
using Sweep.Coordinator.Dashboard;
using Sweep.Coordinator.Persistence;
using Sweep.Search.Engine;
using Sweep.Search.Reporting;
using Sweep.Search.Specs;

namespace Sweep.Coordinator.Cli;

/// <summary>`run`, `resume` and `coordinator`: the commands that start a coordinator node.</summary>
internal static class ClusterCommands
{
    public static Command Run()
    {
        var spec = new Argument<string>("SPEC.conf") { Description = "the sweep spec (HOCON), e.g. hocon/sweeps/quickstart.conf" };
        var journal = JournalOption("where the sweep's events are stored (default runs/<sweep-name>.db); a PostgreSQL connection string also works");
        var localWorkers = LocalWorkersOption();
        var data = DataOption();
        var dashboard = DashboardCommand.Option();
        var command = new Command("run", "run a sweep: a coordinator plus local worker processes, then print the leaderboard")
        {
            spec, journal, localWorkers, data, dashboard,
        };
        command.SetAction((result, _) => CliRunner.Guard(async () =>
        {
            var sweep = LoadSpec(result.GetValue(spec)!);
            var location = JournalLocation.Parse(result.GetValue(journal) ?? Path.Combine("runs", sweep.Name + ".db"));
            var workers = CheckWorkerCount(result.GetValue(localWorkers));
            var workerDll = workers > 0 ? LocalWorkerPool.LocateWorkerDll() : null;
            var dataDirectory = workers > 0 ? ResolveData(workerDll!, result.GetValue(data), sweep.Data.Directory) : null;
            var existing = await SweepSession.InspectJournalAsync(location);
            if (existing.IsStarted)
            {
                RefuseOtherSweep(existing, sweep, location);
                if (existing.IsCompleted)
                    return PrintFinished(existing, location);
                Console.WriteLine($"sweep: journal {location.Display} already holds '{sweep.Name}' ({existing.Counts}); continuing it");
            }
            return await DashboardCommand.WithDashboardAsync(result.GetValue(dashboard), location, () => SweepSession.RunAsync(new SessionPlan(
                existing.IsStarted ? null : sweep, location, workers, workerDll, dataDirectory,
                ClusterNodeOptions.Loopback(ClusterNodeConfig.CoordinatorRole), ClusterNodeConfig.JoinTimeout(null))));
        }));
        return command;
    }

    public static Command Resume()
    {
        var journal = JournalOption("the journal of the interrupted sweep, e.g. runs/quickstart.db");
        journal.Required = true;
        var localWorkers = LocalWorkersOption();
        var data = DataOption();
        var command = new Command("resume", "continue an interrupted sweep from its journal: finished trials are kept, unfinished ones re-run")
        {
            journal, localWorkers, data,
        };
        command.SetAction((result, _) => CliRunner.Guard(async () =>
        {
            var location = JournalLocation.Parse(result.GetValue(journal)!);
            var workers = CheckWorkerCount(result.GetValue(localWorkers));
            location.CheckReadable();
            var state = await SweepSession.InspectJournalAsync(location);
            if (!state.IsStarted)
                throw new SweepUsageException($"journal '{location.Display}' holds no sweep; start one with ./sweep run SPEC.conf --journal {location.Argument}");
            var workerDll = workers > 0 ? LocalWorkerPool.LocateWorkerDll() : null;
            var dataDirectory = workers > 0 ? ResolveData(workerDll!, result.GetValue(data), state.Spec!.Data.Directory) : null;
            if (state.IsCompleted)
                return PrintFinished(state, location);
            Console.WriteLine($"sweep: resuming '{state.Spec!.Name}' from {location.Display}: {state.Counts}");
            return await SweepSession.RunAsync(new SessionPlan(null, location, workers, workerDll, dataDirectory,
                ClusterNodeOptions.Loopback(ClusterNodeConfig.CoordinatorRole), ClusterNodeConfig.JoinTimeout(null)));
        }));
        return command;
    }

    public static Command Coordinator()
    {
        var spec = new Argument<string>("SPEC.conf") { Description = "the sweep spec (HOCON)" };
        var journal = JournalOption("where the sweep's events are stored; a PostgreSQL connection string also works");
        journal.Required = true;
        var host = new Option<string?>("--host") { Description = "address the workers reach this node at (default: the configuration's, 127.0.0.1)" };
        var port = new Option<int>("--port") { Description = "port to listen on (default 4053)", DefaultValueFactory = _ => 4053 };
        var seeds = new Option<string?>("--seed-nodes") { Description = "HOST:PORT[,HOST:PORT] of the cluster to join (this node and a long-running worker); empty founds a new cluster" };
        var joinTimeout = new Option<double?>("--join-timeout") { Description = "seconds to wait for the seed nodes before giving up (default: sweep.node.join-timeout, 30 s)" };
        var dashboard = DashboardCommand.Option();
        var command = new Command("coordinator", "run only the coordinator node of a multi-machine sweep; workers join it with ./sweep worker --seed-nodes HOST:PORT")
        {
            spec, journal, host, port, seeds, joinTimeout, dashboard,
        };
        command.SetAction((result, _) => CliRunner.Guard(async () =>
        {
            var sweep = LoadSpec(result.GetValue(spec)!);
            var location = JournalLocation.Parse(result.GetValue(journal)!);
            var portValue = ClusterNodeConfig.CheckPort(result.GetValue(port));
            var seedNodes = ClusterNodeConfig.ParseSeedNodes(result.GetValue(seeds));
            var timeout = ClusterNodeConfig.JoinTimeout(result.GetValue(joinTimeout));
            var existing = await SweepSession.InspectJournalAsync(location);
            if (existing.IsStarted)
            {
                RefuseOtherSweep(existing, sweep, location);
                if (existing.IsCompleted)
                    return PrintFinished(existing, location);
            }
            var node = new ClusterNodeOptions(result.GetValue(host), portValue, seedNodes, ClusterNodeConfig.CoordinatorRole);
            return await DashboardCommand.WithDashboardAsync(result.GetValue(dashboard), location,
                () => SweepSession.RunAsync(new SessionPlan(existing.IsStarted ? null : sweep, location, 0, null, null, node, timeout)));
        }));
        return command;
    }

    internal static Option<string?> JournalOption(string description) => new("--journal") { Description = description };

    private static Option<int> LocalWorkersOption() =>
        new("--local-workers") { Description = "worker processes to start on this machine (default 1; 0 = wait for remote workers)", DefaultValueFactory = _ => 1 };

    private static Option<string?> DataOption() =>
        new("--data") { Description = "CIFAR-10 folder for the local workers (default: the spec's data.directory)" };

    private static SweepSpec LoadSpec(string path)
    {
        if (Directory.Exists(path))
            throw new SweepUsageException($"spec '{path}' is a directory; pass a sweep spec file such as hocon/sweeps/quickstart.conf");
        if (!File.Exists(path))
            throw new SweepUsageException($"spec '{path}' does not exist; pass a sweep spec file such as hocon/sweeps/quickstart.conf");
        return SweepSpecLoader.LoadFile(path);
    }

    private static int CheckWorkerCount(int workers) =>
        workers is >= 0 and <= 64
            ? workers
            : throw new SweepUsageException($"--local-workers {workers} is out of range; use 0..64");

    /// <summary>The local workers' CIFAR-10 folder, checked by the worker program that will read it.</summary>
    internal static string ResolveData(string workerDll, string? flag, string fromSpec) =>
        flag is not null ? LocalWorkerPool.CheckData(workerDll, flag, "--data") : LocalWorkerPool.CheckData(workerDll, fromSpec, "the spec's data.directory");

    private static void RefuseOtherSweep(SweepState existing, SweepSpec requested, JournalLocation location)
    {
        if (SweepIdentity.Same(existing.Spec!, requested))
            return;
        throw new SweepUsageException(
            $"journal '{location.Display}' holds another sweep ('{existing.Spec!.Name}', fingerprint {SweepIdentity.Of(existing.Spec)}) than this spec ('{requested.Name}', fingerprint {SweepIdentity.Of(requested)}); pass a new --journal path, or continue that sweep with ./sweep resume --journal {location.Argument}");
    }

    private static int PrintFinished(SweepState state, JournalLocation location)
    {
        Console.WriteLine($"sweep: '{state.Spec!.Name}' in {location.Display} is already complete ({state.Counts})");
        Console.WriteLine(Leaderboard.From(state).ToTable());
        return ExitCodes.Success;
    }
}
