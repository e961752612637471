using Sweep.Search.Engine;
using Sweep.Search.Specs;
using Sweep.Search.Trials;

namespace Sweep.Search.Tests.Support;

/// <summary>
/// Drives a <see cref="SweepEngine"/> the way the coordinator actor does (persist events, apply, act), with fake
/// workers that finish trials in a seeded random order. Optionally "crashes" once: the state is rebuilt from the
/// journal so far (<see cref="SweepState.Replay"/>) and the engine's <see cref="SweepEngine.Recover"/> events are
/// persisted, as after a coordinator restart; in-flight work is lost.
/// </summary>
/// Each run trains what <see cref="SweepEngine.RunSpec"/> tells a worker (a rung's epochs with successive halving or ASHA),
/// and <paramref name="train"/> (default <see cref="TestSpecs.FakeResult"/>) gives its result.
internal sealed class SweepSimulator(SweepSpec spec, int workers, int slotsPerWorker, int orderSeed, int? crashAfterEvents = null,
    Func<TrialSpec, string, TrialResult>? train = null)
{
    public List<ISweepEvent> Journal { get; } = [];
    public SweepState State { get; private set; } = SweepState.Empty;
    private readonly SweepEngine _engine = new();
    private readonly Random _order = new(orderSeed);
    private bool _crashed;

    private void Persist(IEnumerable<ISweepEvent> events)
    {
        foreach (var e in events)
        {
            Journal.Add(e);
            State = State.Apply(e);
        }
    }

    public SweepState Run(int maxSteps = 100_000)
    {
        var now = TestSpecs.T0;
        Persist(_engine.Start(spec));
        for (var step = 0; step < maxSteps && !State.IsCompleted; step++)
        {
            if (crashAfterEvents is { } crash && !_crashed && Journal.Count >= crash)
            {
                _crashed = true;
                State = SweepState.Replay(Journal);
                Persist(_engine.Recover(State));
            }
            now = now.AddSeconds(1);
            for (var w = 0; w < workers; w++)
            {
                var worker = $"w{w}";
                var busy = State.RunningByWorker.TryGetValue(worker, out var ids) ? ids.Count : 0;
                Persist(_engine.Dispatch(State, worker, slotsPerWorker - busy, now));
            }
            var running = State.RunningTrials.ToList();
            if (running.Count == 0) throw new InvalidOperationException("the simulated sweep stalled: nothing running and not completed");
            var trial = running[_order.Next(running.Count)];
            Persist(_engine.Complete(State, trial.TrialId, (train ?? TestSpecs.FakeResult)(SweepEngine.RunSpec(State, trial.TrialId), trial.Worker!)));
        }
        return State;
    }
}
