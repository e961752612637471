using FsCheck.Xunit;
using Sweep.Search.Engine;
using Sweep.Search.Serialization;
using Sweep.Search.Tests.Support;
using Sweep.Search.Trials;

namespace Sweep.Search.Tests.Engine;

/// <summary>
/// Random interleavings of everything a coordinator sees (dispatches, epoch reports, results, duplicate and late
/// results, failures, lost workers, timeouts, crashes with recovery). After every step the state's indexes agree
/// with its trials, replaying the journal gives the same state, and a snapshot round-trips; every sweep ends.
/// </summary>
public class SweepStateProperties
{
    private static void CheckInvariants(SweepState state, IReadOnlyList<ISweepEvent> journal)
    {
        var trials = state.Trials.Values.ToList();
        var counts = trials.Aggregate(StatusCounts.Zero, (c, t) => c.Add(t.Status, 1));
        Assert.Equal(counts, state.Counts);
        Assert.Equal(trials.Where(t => t.Status == TrialStatus.Pending).Select(t => t.TrialId).Order(StringComparer.Ordinal),
            state.Pending.Select(p => p.TrialId).Order(StringComparer.Ordinal));
        Assert.Equal(trials.Where(t => t.Status == TrialStatus.Running).Select(t => $"{t.Worker}/{t.TrialId}").Order(StringComparer.Ordinal),
            state.RunningByWorker.SelectMany(kv => kv.Value.Select(id => $"{kv.Key}/{id}")).Order(StringComparer.Ordinal));
        foreach (var (stage, open) in state.OpenByStage)
            Assert.Equal(trials.Count(t => t.Stage == stage && !t.IsTerminal), open);
        var best = trials.Where(t => t.Status == TrialStatus.Completed).Order(LeaderboardOrder.Comparer).FirstOrDefault();
        Assert.Equal(best?.TrialId, state.BestTrialId);
        var replayed = SweepState.Replay(journal);
        Assert.Equal(state.Counts, replayed.Counts);
        Assert.Equal(state.Trials.Values.OrderBy(t => t.Ordinal), replayed.Trials.Values.OrderBy(t => t.Ordinal));
    }

    [Property(MaxTest = 60)]
    public void Random_interleavings_keep_the_state_consistent_and_every_sweep_finishes(int seed)
    {
        var random = new Random(seed);
        var spec = TestSpecs.Spec(seed: seed, stage1: random.Next(1, 7), stage2: random.Next(0, 4), stage3: random.Next(0, 3),
            maxRetries: random.Next(0, 3), timeout: TimeSpan.FromMinutes(30));
        var engine = new SweepEngine();
        var journal = new List<ISweepEvent>();
        var state = SweepState.Empty;
        void Persist(IEnumerable<ISweepEvent> events) { foreach (var e in events) { journal.Add(e); state = state.Apply(e); } }
        Persist(engine.Start(spec));
        var now = TestSpecs.T0;
        string[] workers = ["w0", "w1", "w2"];
        var delivered = new List<(string TrialId, TrialResult Result)>();
        for (var step = 0; step < 2_000 && !state.IsCompleted; step++)
        {
            now = now.AddMinutes(random.Next(0, 3));
            var running = state.RunningTrials.ToList();
            var pick = running.Count > 0 ? running[random.Next(running.Count)] : null;
            switch (random.Next(100))
            {
                case < 30:
                    var worker = workers[random.Next(workers.Length)];
                    Persist(engine.Dispatch(state, worker, random.Next(0, 3), now));
                    break;
                case < 55 when pick is not null:
                    var result = TestSpecs.FakeResult(pick.Spec, pick.Worker!);
                    delivered.Add((pick.TrialId, result));
                    Persist(engine.Complete(state, pick.TrialId, result));
                    break;
                case < 62 when delivered.Count > 0:
                    // A duplicate or late result: must change nothing.
                    var (id, old) = delivered[random.Next(delivered.Count)];
                    var before = state;
                    var events = engine.Complete(state, id, old);
                    if (before.GetTrial(id).IsTerminal) Assert.Empty(events);
                    Persist(events);
                    break;
                case < 72 when pick is not null:
                    Persist(engine.ReportEpoch(state, pick.TrialId, pick.Worker!, (pick.LastEpoch?.Epoch ?? 0) + 1, 1.0, 0.3, random.NextDouble()));
                    break;
                case < 80 when pick is not null:
                    Persist(engine.Fail(state, pick.TrialId, "boom", pick.Worker));
                    break;
                case < 86:
                    Persist(engine.WorkerLost(state, workers[random.Next(workers.Length)]));
                    break;
                case < 90:
                    Persist(engine.TimedOut(state, now));
                    break;
                case < 94:
                    // Coordinator crash: rebuild from the journal (or from a snapshot of it) and recover.
                    state = random.Next(2) == 0 ? SweepState.Replay(journal) : SweepJson.Deserialize<SweepState>(SweepJson.Serialize(SweepState.Replay(journal)));
                    Persist(engine.Recover(state));
                    break;
            }
            CheckInvariants(state, journal);
        }
        // Drain: one worker finishes everything, as a healthy cluster eventually would.
        for (var guard = 0; guard < 1_000 && !state.IsCompleted; guard++)
        {
            Persist(engine.Dispatch(state, "w0", 4, now));
            foreach (var t in state.RunningTrials.ToList()) Persist(engine.Complete(state, t.TrialId, TestSpecs.FakeResult(t.Spec, t.Worker!)));
        }
        CheckInvariants(state, journal);
        Assert.True(state.IsCompleted);
        Assert.All(state.Trials.Values, t => Assert.True(t.IsTerminal));
        Assert.Equal(spec.Stages.Length, journal.OfType<StageCompleted>().Count());
        Assert.Single(journal.OfType<SweepCompleted>());
        Assert.All(journal.OfType<TrialCompleted>().GroupBy(e => e.TrialId), g => Assert.Single(g));
        var failedForGood = journal.OfType<TrialFailed>().Where(f => f.Terminal).GroupBy(f => f.TrialId);
        Assert.All(failedForGood, g => Assert.Single(g));
    }
}
