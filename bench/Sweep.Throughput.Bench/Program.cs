using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Configuration;
using Sweep.Contract.Configuration;
using Sweep.Contract.Nodes;
using Sweep.Contract.Protocol;
using Sweep.Coordinator.Actors;
using Sweep.Coordinator.Nodes;
using Sweep.Coordinator.Persistence;
using Sweep.Search.Engine;
using Sweep.Search.Spaces;
using Sweep.Search.Specs;
using Sweep.Throughput.Bench;
using Sweep.Worker.Hosting;
using Sweep.Worker.Trials;

// Coordinator throughput: the real coordinator (cluster singleton, SQLite journal) with W real worker processes of S slots
// each, whose trials train nothing (SleepingTrialRunner), so only the coordinator's own cost shows. Two measurements:
//   rate:     many trials of 10 instant epochs; epoch reports + results journaled per second;
//   overhead: 1 s trials, 8 per slot; wall time against N x 1 s / slots.
// Optuna with SQLite storage runs the same two on this machine in the same invocation (optuna_throughput.py).
//   dotnet run -c Release --project bench/Sweep.Throughput.Bench [-- --workers 4 --slots 8 --rounds 3]
if (args.Length > 0 && args[0] == "worker")
    return await WorkerProcess.RunAsync(args[1..]);

var options = Options.Parse(args);
var optuna = OptunaSide.Locate();
Console.WriteLine($"coordinator throughput: {options.Workers} worker processes x {options.Slots} slots, {options.Rounds} round(s); " +
                  $"{Environment.ProcessorCount} cores; load {Load.Now()}");
Console.WriteLine(optuna is null
    ? "optuna: not installed (apt-get install python3-optuna); Sweep only"
    : $"optuna: {optuna}");
var slots = options.Workers * options.Slots;
var scenarios = new[]
{
    new Scenario("rate", Trials: options.RateTrials, Epochs: 10, Epoch: TimeSpan.Zero),
    new Scenario("overhead", Trials: 8 * slots, Epochs: 1, Epoch: TimeSpan.FromSeconds(1)),
};
var rows = new List<string>();
foreach (var scenario in scenarios)
{
    for (var round = 1; round <= options.Rounds; round++)
    {
        var sweep = await SweepSide.RunAsync(scenario, options);
        rows.Add(Row("sweep", scenario, round, sweep, slots));
        Console.WriteLine(rows[^1]);
        if (optuna is null) continue;
        var peer = OptunaSide.Run(scenario, slots);
        rows.Add(Row("optuna", scenario, round, peer, slots));
        Console.WriteLine(rows[^1]);
    }
}
Console.WriteLine();
Console.WriteLine("| side | scenario | round | trials x epochs | slots | wall s | reports+results/s | ideal s | overhead | round trip ms p50 / p90 | load |");
Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
foreach (var row in rows) Console.WriteLine(row);
return 0;

static string Row(string side, Scenario scenario, int round, Measured measured, int slots)
{
    var operations = scenario.Trials * (scenario.Epochs + 1);
    var ideal = scenario.Trials * scenario.Epochs * scenario.Epoch.TotalSeconds / slots;
    var overhead = ideal > 0 ? $"{(measured.WallSeconds / ideal - 1) * 100:0.0}%" : "-";
    return string.Create(CultureInfo.InvariantCulture,
        $"| {side} | {scenario.Name} | {round} | {scenario.Trials} x {scenario.Epochs} | {slots} | {measured.WallSeconds:0.00} | {operations / measured.WallSeconds:0} | {(ideal > 0 ? ideal.ToString("0.00", CultureInfo.InvariantCulture) : "-")} | {overhead} | {measured.RoundTrip} | {measured.Load} |");
}

internal sealed record Scenario(string Name, int Trials, int Epochs, TimeSpan Epoch);

/// <param name="RoundTrip">Sweep only: per trial, dispatch to result minus the run's own time (the coordinator's journal
/// writes, both network hops and the worker's start), as "p50 / p90" ms over the trials dispatched after the start.</param>
internal sealed record Measured(double WallSeconds, string Load, string RoundTrip = "-");

internal sealed record Options(int Workers, int Slots, int Rounds, int RateTrials)
{
    public static Options Parse(string[] args)
    {
        int Get(string name, int fallback)
        {
            var at = Array.IndexOf(args, name);
            return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
        }
        return new Options(Get("--workers", 4), Get("--slots", 8), Get("--rounds", 3), Get("--rate-trials", 1000));
    }
}

internal static class Load
{
    public static string Now() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
}

/// <summary>The Sweep side: an in-process coordinator node on a fresh SQLite journal, and worker child processes.</summary>
internal static class SweepSide
{
    public static async Task<Measured> RunAsync(Scenario scenario, Options options)
    {
        var folder = Path.Combine(Path.GetTempPath(), "sweep-throughput-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        var journal = JournalLocation.Parse(Path.Combine(folder, "bench.db"));
        journal.CreateIfMissing();
        var spec = new SweepSpec
        {
            Name = "throughput",
            Seed = 1,
            Data = new DataSpec("unused"),
            Model = "fc",
            Fixed = TrialConfig.From(("hidden_dims", ParamValue.Of([100]))),
            Space = new SearchSpace([new FloatRange("learning_rate", 1e-4, 1e-1, log: true), new FloatRange("weight_scale", 1e-3, 1e-1, log: true)]),
            Sampler = SamplerKind.Random,
            Stages = [new StageSpec(scenario.Trials, scenario.Epochs, 1000)],
            // Nothing to checkpoint: the runner trains nothing.
            Checkpoints = new CheckpointSpec(Every: 0),
        };
        var quiet = ConfigurationFactory.ParseString("akka.loglevel = ERROR\nakka.stdout-loglevel = ERROR");
        var node = await CoordinatorNode.StartAsync(ClusterNodeOptions.Loopback(ClusterNodeConfig.CoordinatorRole), journal, spec,
            CoordinatorSettings.Create(SweepConfig.Load()), TimeSpan.FromSeconds(30), quiet);
        var workers = new List<Process>();
        try
        {
            // Trials start together once every worker process has joined (about 2-4 s each on a 2-core machine).
            var startAt = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(6 + 2 * options.Workers);
            for (var i = 0; i < options.Workers; i++)
                workers.Add(WorkerProcess.Start(node.Address.ToString(), options.Slots, scenario.Epoch, startAt, Path.Combine(folder, $"worker-{i}")));
            var load = Load.Now();
            while (true)
            {
                var status = await node.Proxy.Ask<SweepStatus>(new GetSweepStatus(), TimeSpan.FromSeconds(30));
                if (DateTimeOffset.UtcNow > startAt && status.Workers < options.Workers)
                    throw new InvalidOperationException($"only {status.Workers} of {options.Workers} workers joined before the start; raise the join allowance");
                if (status.Progress.IsCompleted) break;
                if (workers.FirstOrDefault(w => w.HasExited) is { } dead)
                    throw new InvalidOperationException($"a worker process exited with {dead.ExitCode}; its log is above");
                await Task.Delay(200);
            }
            // Workers leave first, so that none of them looks for a coordinator that is already gone.
            StopAll(workers);
            await node.DisposeAsync();
            var state = await JournalReader.ReadStateAsync(journal, TimeSpan.FromMinutes(2));
            var last = state.Trials.Values.Max(t => t.FinishedAt!.Value);
            var reports = state.Trials.Values.Sum(t => t.Epochs.Count);
            if (reports != scenario.Trials * scenario.Epochs)
                throw new InvalidOperationException($"the journal holds {reports} epoch reports, expected {scenario.Trials * scenario.Epochs}");
            return new Measured((last - startAt).TotalSeconds, load, RoundTrip(state.Trials.Values, startAt));
        }
        finally
        {
            StopAll(workers);
            await node.DisposeAsync();
            Directory.Delete(folder, recursive: true);
        }
    }

    private static string RoundTrip(IEnumerable<TrialState> trials, DateTimeOffset startAt)
    {
        // The first trial of each slot was dispatched before the start and waited for it; only the later ones show the trip.
        var trips = trials.Where(t => t.DispatchedAt > startAt)
            .Select(t => ((t.FinishedAt!.Value - t.DispatchedAt!.Value).TotalSeconds - t.Result!.Seconds) * 1000).Order().ToList();
        return trips.Count == 0
            ? "-"
            : string.Create(CultureInfo.InvariantCulture, $"{trips[trips.Count / 2]:0} / {trips[trips.Count * 9 / 10]:0}");
    }

    private static void StopAll(List<Process> workers)
    {
        foreach (var worker in workers)
        {
            try
            {
                worker.StandardInput.Close();
                if (!worker.WaitForExit(10_000)) worker.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
            worker.Dispose();
        }
        workers.Clear();
    }
}

/// <summary>A worker node in its own process whose slots run <see cref="SleepingTrialRunner"/>; it leaves when its stdin closes.</summary>
internal static class WorkerProcess
{
    public static Process Start(string seed, int slots, TimeSpan epoch, DateTimeOffset startAt, string folder)
    {
        var host = Environment.ProcessPath!;
        // Its warnings and errors go to this console; stdin is only held open to keep it running.
        var info = new ProcessStartInfo(host) { RedirectStandardInput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
            info.ArgumentList.Add(typeof(WorkerProcess).Assembly.Location);
        foreach (var arg in new[] { "worker", "--seed", seed, "--slots", slots.ToString(CultureInfo.InvariantCulture),
                     "--epoch-ms", ((long)epoch.TotalMilliseconds).ToString(CultureInfo.InvariantCulture),
                     "--start-at", startAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture), "--folder", folder })
            info.ArgumentList.Add(arg);
        return Process.Start(info)!;
    }

    public static async Task<int> RunAsync(string[] args)
    {
        string Get(string name) => args[Array.IndexOf(args, name) + 1];
        var slots = int.Parse(Get("--slots"), CultureInfo.InvariantCulture);
        var runner = new SleepingTrialRunner(TimeSpan.FromMilliseconds(long.Parse(Get("--epoch-ms"), CultureInfo.InvariantCulture)),
            DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(Get("--start-at"), CultureInfo.InvariantCulture)));
        var trialSlots = Enumerable.Range(0, slots).Select(i => new TrialSlot(i, "cpu", 1, Path.Combine(Get("--folder"), $"slot-{i}"))).ToList();
        var quiet = ConfigurationFactory.ParseString("akka.loglevel = ERROR\nakka.stdout-loglevel = ERROR");
        await using var host = await WorkerHost.StartAsync(ClusterNodeOptions.Loopback(ClusterNodeConfig.WorkerRole, Get("--seed")),
            trialSlots, runner, TimeSpan.FromSeconds(60), quiet);
        await Console.In.ReadToEndAsync();
        return 0;
    }
}

/// <summary>Optuna's side: optuna_throughput.py under Debian's python3, when python3-optuna is installed.</summary>
internal static class OptunaSide
{
    private static string Script => Path.Combine(AppContext.BaseDirectory, "optuna_throughput.py");

    public static string? Locate()
    {
        using var probe = Process.Start(new ProcessStartInfo("/usr/bin/python3", ["-c", "import optuna; print(optuna.__version__)"])
            { RedirectStandardOutput = true, RedirectStandardError = true });
        if (probe is null) return null;
        var version = probe.StandardOutput.ReadToEnd().Trim();
        probe.WaitForExit();
        return probe.ExitCode == 0 ? $"{version} (SQLite storage, /usr/bin/python3)" : null;
    }

    public static Measured Run(Scenario scenario, int slots)
    {
        var load = Load.Now();
        using var run = Process.Start(new ProcessStartInfo("/usr/bin/python3", [Script, scenario.Trials.ToString(CultureInfo.InvariantCulture),
            scenario.Epochs.ToString(CultureInfo.InvariantCulture), scenario.Epoch.TotalSeconds.ToString(CultureInfo.InvariantCulture),
            slots.ToString(CultureInfo.InvariantCulture)]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = run.StandardOutput.ReadToEnd();
        var error = run.StandardError.ReadToEnd();
        run.WaitForExit();
        if (run.ExitCode != 0)
            throw new InvalidOperationException($"optuna_throughput.py exited with {run.ExitCode}: {error.Trim()}");
        var line = JsonNode.Parse(output.Trim().Split('\n')[^1])!;
        if ((int)line["trials"]! != scenario.Trials)
            throw new InvalidOperationException($"optuna completed {(int)line["trials"]!} of {scenario.Trials} trials");
        return new Measured((double)line["wall"]!, load);
    }
}
