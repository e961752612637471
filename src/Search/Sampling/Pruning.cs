using System.Collections.Immutable;
using System.Globalization;
using Sweep.Search.Spaces;
using Sweep.Search.Specs;
using Sweep.Search.Trials;

namespace Sweep.Search.Sampling;

/// <summary>
/// Where pruned trials rank (the leaderboard, coarse-to-fine's top-K and TPE's good/bad split share this order):
/// after every completed trial, because their best val accuracy comes from a shorter run than the budget and the
/// rule judged them below their peers; ahead of diverged, failed and cancelled trials, because they did learn
/// something. Among themselves: best val accuracy (desc), then more epochs run (a trial that survived longer ranks higher).
/// A trial paused at a rung (which TPE asked per free slot takes as evidence) ranks as a pruned one: its figure too
/// comes from a shorter run.
/// </summary>
public static class PrunedRanking
{
    /// <summary>Negative when a ranks first, positive when b does, 0 when neither is pruned or they tie.</summary>
    public static int Compare(TrialStatus aStatus, double aBestValAcc, int aEpochsRun, TrialStatus bStatus, double bBestValAcc, int bEpochsRun)
    {
        var aPruned = aStatus is TrialStatus.Pruned or TrialStatus.Paused;
        var bPruned = bStatus is TrialStatus.Pruned or TrialStatus.Paused;
        if (aPruned != bPruned) return aPruned ? -1 : 1;
        if (!aPruned) return 0;
        var byAcc = bBestValAcc.CompareTo(aBestValAcc);
        return byAcc != 0 ? byAcc : bEpochsRun.CompareTo(aEpochsRun);
    }
}

/// <summary>
/// The median rule (Optuna's MedianPruner, judged within a stage): after epoch e (from <see cref="PruningSpec.MinEpochs"/>
/// on, never at the trial's last epoch), a trial whose best val accuracy over epochs 1..e is strictly below the median of
/// the same figure over the stage peers that reached epoch e is pruned, once at least <see cref="PruningSpec.MinPeers"/>
/// peers did. Peers include running, completed and pruned trials, so decisions depend on which peers reported first; the
/// engine journals each decision, which makes a resumed sweep keep it.
/// </summary>
public static class MedianPruning
{
    /// <summary>The figures a decision was made on: the trial's best so far, the peers' median and how many peers.</summary>
    public sealed record Verdict(int Epoch, double Value, double Median, int Peers)
    {
        public bool Prune => Value < Median;

        public string Describe() => string.Create(CultureInfo.InvariantCulture,
            $"best val {Value:0.0000} after epoch {Epoch} is below the median {Median:0.0000} of {Peers} stage peer(s)");
    }

    /// <summary>The verdict for <paramref name="progress"/>, or null when the rule cannot judge yet (too early, too few peers, last epoch).</summary>
    public static Verdict? Judge(PruningSpec rule, TrialProgress progress, IEnumerable<TrialProgress> peers)
    {
        var epoch = progress.Epoch;
        if (rule.Rule != PruningRule.Median || epoch < rule.MinEpochs || epoch >= progress.Epochs || progress.ValAccHistory.Length < epoch)
            return null;
        var values = peers.Where(p => p.TrialId != progress.TrialId && p.ValAccHistory.Length >= epoch)
            .Select(p => BestUpTo(p.ValAccHistory, epoch))
            .Order()
            .ToList();
        if (values.Count < rule.MinPeers) return null;
        var middle = values.Count / 2;
        var median = values.Count % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
        return new Verdict(epoch, BestUpTo(progress.ValAccHistory, epoch), median, values.Count);
    }

    private static double BestUpTo(ImmutableArray<double> perEpoch, int epoch) => perEpoch.Take(epoch).Max();
}

/// <summary>
/// Adds a spec's pruning rules to any sampler: <see cref="Ask"/> is the inner sampler's, <see cref="Tell"/> stops a trial
/// when its stage's rule (<see cref="SweepSpec.PruningOf"/>) says so and otherwise asks the inner sampler.
/// </summary>
public sealed class PruningSampler(ISampler inner, SweepSpec spec) : ISampler
{
    public ISampler Inner { get; } = inner;

    public string Kind => Inner.Kind;

    public ImmutableArray<TrialConfig> Ask(StageRequest request) => Inner.Ask(request);

    public TrialDecision Tell(TrialProgress progress, IEnumerable<TrialProgress> stagePeers) =>
        MedianPruning.Judge(spec.PruningOf(progress.Stage), progress, stagePeers) is { Prune: true }
            ? TrialDecision.Stop
            : Inner.Tell(progress, stagePeers);
}
