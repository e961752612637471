using System.Diagnostics;
using System.Globalization;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Sweep.Contract.Configuration;
using Sweep.Contract.Protocol;
using Sweep.Coordinator.Persistence;
using Sweep.Search.Journal;
using Sweep.Search.Spaces;
using Sweep.Search.Specs;
using Sweep.Search.Trials;

// Recovery benchmark: a finished sweep of N trials (default 10,000) is written to two SQLite journals through
// Akka.Persistence.Sql, one with the coordinator's snapshots (every 2,000 events) and one without; then both are
// read back the way the coordinator and `./sweep status` recover. Prints the times and their ratio.
//   dotnet run -c Release --project bench/Sweep.Coordinator.Bench [-- TRIALS [SNAPSHOT_EVERY]]
var trials = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10_000;
var snapshotEvery = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2_000;
var folder = Path.Combine(Path.GetTempPath(), "sweep-recovery-bench-" + Guid.NewGuid().ToString("N")[..8]);
Directory.CreateDirectory(folder);
try
{
    var spec = new SweepSpec
    {
        Name = "recovery-bench",
        Seed = 1,
        Data = new DataSpec("data"),
        Model = "fc",
        Fixed = TrialConfig.From(("hidden_dims", ParamValue.Of([100]))),
        Space = new SearchSpace([new FloatRange("learning_rate", 1e-4, 1e-2, log: true), new FloatRange("weight_scale", 1e-3, 1e-1, log: true)]),
        Stages = [new StageSpec(trials, 1, 1000)],
    };
    var clock = Stopwatch.StartNew();
    var events = SweepEvents(spec);
    Console.WriteLine($"{trials} trials -> {events.Count} events generated in {clock.Elapsed.TotalSeconds:0.00} s; snapshot every {snapshotEvery} events");

    clock.Restart();
    var expected = SweepState.Replay(events);
    Console.WriteLine($"in-memory replay of {events.Count} events: {clock.Elapsed.TotalSeconds:0.00} s");

    var withSnapshots = JournalLocation.Parse(Path.Combine(folder, "snapshots.db"));
    var withoutSnapshots = JournalLocation.Parse(Path.Combine(folder, "events-only.db"));
    foreach (var (journal, interval) in new[] { (withSnapshots, snapshotEvery), (withoutSnapshots, int.MaxValue) })
    {
        clock.Restart();
        await WriteAsync(journal, events, interval);
        Console.WriteLine($"wrote {journal.Display} ({new FileInfo(journal.SqliteFile!).Length / 1024} KiB + WAL) in {clock.Elapsed.TotalSeconds:0.0} s");
    }

    // Interleaved, three rounds each: the first read of each pays for JIT and the SQLite page cache.
    var times = new Dictionary<string, List<double>> { ["snapshot + tail"] = [], ["full replay"] = [] };
    for (var round = 0; round < 3; round++)
    {
        foreach (var (label, journal) in new[] { ("snapshot + tail", withSnapshots), ("full replay", withoutSnapshots) })
        {
            clock.Restart();
            var state = await JournalReader.ReadStateAsync(journal, TimeSpan.FromMinutes(10));
            times[label].Add(clock.Elapsed.TotalSeconds);
            if (state.Counts != expected.Counts || !state.IsCompleted)
                throw new InvalidOperationException($"{label}: recovered {state.Counts}, expected {expected.Counts}");
        }
    }
    foreach (var (label, seconds) in times)
        Console.WriteLine($"recovery ({label}): best {seconds.Min():0.00} s, rounds {string.Join(" / ", seconds.Select(s => s.ToString("0.00", CultureInfo.InvariantCulture)))}");
    Console.WriteLine($"ratio full replay / snapshot + tail: {times["full replay"].Min() / times["snapshot + tail"].Min():0.0}x");
}
finally
{
    Directory.Delete(folder, recursive: true);
}

static List<ISweepEvent> SweepEvents(SweepSpec spec)
{
    var engine = new SweepEngine();
    var state = SweepState.Empty;
    var events = new List<ISweepEvent>();
    void Apply(IEnumerable<ISweepEvent> batch)
    {
        foreach (var e in batch)
        {
            state = state.Apply(e);
            events.Add(e);
        }
    }
    Apply(engine.Start(spec));
    var at = DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture);
    var i = 0;
    while (!state.IsCompleted)
    {
        var worker = $"akka.tcp://sweep@10.0.0.{i % 8}:4053/user/worker";
        var dispatched = engine.Dispatch(state, worker, 1, at.AddSeconds(i));
        Apply(dispatched);
        var id = ((TrialDispatched)dispatched[0]).TrialId;
        var acc = 0.1 + (i % 997) / 2000.0;
        Apply(engine.ReportEpoch(state, id, worker, 1, 1.5, acc + 0.05, acc));
        Apply(engine.Complete(state, id, new TrialResult(TrialStatus.Completed, acc, 1, [0.1, acc + 0.05], [0.1, acc], 1.5, 3.2,
            $"checkpoints/{id}/best.pt", worker)));
        i++;
    }
    return events;
}

static async Task WriteAsync(JournalLocation journal, List<ISweepEvent> events, int snapshotEvery)
{
    journal.CreateIfMissing();
    var config = ConfigurationFactory.ParseString("akka.actor.provider = local\nakka.loglevel = WARNING")
        .WithFallback(journal.ToAkkaConfig(createTables: true))
        .WithFallback(SweepConfig.Load());
    var system = ActorSystem.Create("bench", config);
    try
    {
        var writer = system.ActorOf(Props.Create(() => new JournalWriter(snapshotEvery)));
        foreach (var chunk in events.Chunk(1000))
            await writer.Ask<Written>(new Write([.. chunk]), TimeSpan.FromMinutes(5));
    }
    finally
    {
        await system.Terminate();
    }
}

internal sealed record Write(IReadOnlyList<ISweepEvent> Events);

internal sealed record Written;

/// <summary>Persists events under the coordinator's persistence id and snapshots (keeping the latest) like the coordinator.</summary>
internal sealed class JournalWriter : ReceivePersistentActor
{
    private SweepState _state = SweepState.Empty;
    private int _sinceSnapshot;

    public JournalWriter(int snapshotEvery)
    {
        Recover<ISweepEvent>(e => _state = _state.Apply(e));
        Command<Write>(write =>
        {
            var replyTo = Sender;
            var left = write.Events.Count;
            PersistAll(write.Events, e =>
            {
                _state = _state.Apply(e);
                if (++_sinceSnapshot >= snapshotEvery)
                {
                    _sinceSnapshot = 0;
                    SaveSnapshot(new CoordinatorSnapshot(_state));
                }
                if (--left == 0)
                    replyTo.Tell(new Written());
            });
        });
        // Like the coordinator: keep only the latest snapshot.
        Command<SaveSnapshotSuccess>(success => DeleteSnapshots(new SnapshotSelectionCriteria(success.Metadata.SequenceNr - 1)));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<SaveSnapshotFailure>(f => throw f.Cause);
    }

    public override string PersistenceId => JournalLocation.PersistenceId;
}
