using System.Collections.Immutable;
using Sweep.Search.Engine;
using Sweep.Search.Sampling;
using Sweep.Search.Specs;
using Sweep.Search.Tests.Support;

namespace Sweep.Search.Tests.Sampling;

/// <summary>The engine hands a sampler each running trial's per-epoch progress and its stage peers' (the ASHA hook).</summary>
public class EarlyStoppingHookTests
{
    /// <summary>Stops a trial whose latest val accuracy is below the median of its peers' at the same epoch.</summary>
    private sealed class MedianStopping(ISampler inner) : ISampler
    {
        public string Kind => "median_stopping";
        public ImmutableArray<Sweep.Search.Spaces.TrialConfig> Ask(StageRequest request) => inner.Ask(request);

        public TrialDecision Tell(TrialProgress progress, IEnumerable<TrialProgress> stagePeers)
        {
            var peers = stagePeers.Where(p => p.ValAccHistory.Length >= progress.Epoch).Select(p => p.ValAccHistory[progress.Epoch - 1]).Order().ToList();
            if (peers.Count == 0) return TrialDecision.Continue;
            return progress.ValAccHistory[^1] < peers[peers.Count / 2] ? TrialDecision.Stop : TrialDecision.Continue;
        }
    }

    [Fact]
    public void A_sampler_sees_per_epoch_reports_and_can_stop_a_lagging_trial()
    {
        var engine = new SweepEngine(spec => new MedianStopping(SamplerFactory.Create(spec)));
        var spec = TestSpecs.Spec(stage1: 3, stage2: 0);
        var state = SweepState.Empty.ApplyAll(engine.Start(spec));
        state = state.ApplyAll(engine.Dispatch(state, "w1", 3, TestSpecs.T0));
        Assert.Equal(TrialDecision.Continue, engine.EarlyStop(state, "s1-t0001"));
        state = state.ApplyAll(engine.ReportEpoch(state, "s1-t0001", "w1", 1, 1.0, 0.5, 0.50));
        state = state.ApplyAll(engine.ReportEpoch(state, "s1-t0002", "w1", 1, 1.0, 0.5, 0.45));
        state = state.ApplyAll(engine.ReportEpoch(state, "s1-t0003", "w1", 1, 1.0, 0.5, 0.20));
        Assert.Equal(TrialDecision.Stop, engine.EarlyStop(state, "s1-t0003"));
        Assert.Equal(TrialDecision.Continue, engine.EarlyStop(state, "s1-t0001"));
        Assert.Equal(TrialDecision.Continue, new SweepEngine().EarlyStop(state, "s1-t0003"));
    }
}
