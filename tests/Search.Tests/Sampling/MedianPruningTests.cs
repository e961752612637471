using System.Collections.Immutable;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Sweep.Search.Sampling;
using Sweep.Search.Spaces;
using Sweep.Search.Specs;
using Sweep.Search.Tests.Support;
using Sweep.Search.Trials;

namespace Sweep.Search.Tests.Sampling;

/// <summary>The median rule: when it may judge, what it compares, and how pruned trials rank.</summary>
public class MedianPruningTests
{
    private static readonly PruningSpec Median = new(PruningRule.Median, MinEpochs: 1, MinPeers: 3);

    private static TrialProgress Progress(string id, int epochs, params double[] perEpoch) =>
        new(id, 1, TrialConfig.Empty, perEpoch.Length, epochs, [.. perEpoch]);

    private static readonly ImmutableArray<TrialProgress> Peers =
        [Progress("a", 5, 0.30, 0.40), Progress("b", 5, 0.35, 0.45), Progress("c", 5, 0.20, 0.50, 0.55), Progress("d", 5, 0.25)];

    [Fact]
    public void A_trial_below_the_peers_median_at_its_epoch_is_pruned_with_the_figures()
    {
        // Epoch 2: peers a, b and c reached it with best-so-far 0.40, 0.45, 0.50 (d did not); the median is 0.45.
        var verdict = MedianPruning.Judge(Median, Progress("x", 5, 0.42, 0.41), Peers)!;
        Assert.True(verdict.Prune);
        Assert.Equal(new MedianPruning.Verdict(2, 0.42, 0.45, 3), verdict);
        Assert.Equal("best val 0.4200 after epoch 2 is below the median 0.4500 of 3 stage peer(s)", verdict.Describe());
        Assert.False(MedianPruning.Judge(Median, Progress("y", 5, 0.20, 0.45), Peers)!.Prune);
    }

    [Fact]
    public void It_waits_for_min_epochs_and_min_peers_and_never_prunes_at_the_last_epoch()
    {
        Assert.Null(MedianPruning.Judge(Median with { MinEpochs = 3 }, Progress("x", 5, 0.1, 0.1), Peers));
        Assert.Null(MedianPruning.Judge(Median with { MinPeers = 4 }, Progress("x", 5, 0.1, 0.1), Peers));
        Assert.Null(MedianPruning.Judge(Median, Progress("x", 2, 0.1, 0.1), Peers));
        Assert.Null(MedianPruning.Judge(PruningSpec.None, Progress("x", 5, 0.1, 0.1), Peers));
        // Even count of peers at epoch 1 (a, b, c, d: 0.20, 0.25, 0.30, 0.35): the median is the mean of the middle two.
        Assert.Equal(0.275, MedianPruning.Judge(Median, Progress("x", 5, 0.1), Peers)!.Median, 10);
    }

    [Fact]
    public void The_pruning_sampler_applies_each_stages_own_rule_and_keeps_the_inner_samplers_configs()
    {
        var spec = TestSpecs.Spec() with { Pruning = Median };
        spec = spec with { Stages = [spec.Stages[0], spec.Stages[1] with { Pruning = PruningSpec.None }] };
        var sampler = Assert.IsType<PruningSampler>(SamplerFactory.Create(spec));
        Assert.IsType<CoarseToFineSampler>(sampler.Inner);
        var request = new StageRequest(1, spec.Stages[0], []);
        Assert.Equal(new CoarseToFineSampler(spec.Space, spec.Seed).Ask(request).Select(c => c.Key), sampler.Ask(request).Select(c => c.Key));
        Assert.Equal(TrialDecision.Stop, sampler.Tell(Progress("x", 5, 0.1, 0.1), Peers));
        Assert.Equal(TrialDecision.Continue, sampler.Tell(Progress("x", 5, 0.1, 0.1) with { Stage = 2 }, Peers));
        Assert.IsType<CoarseToFineSampler>(SamplerFactory.Create(TestSpecs.Spec()));
    }

    [Fact]
    public void Pruned_trials_rank_after_completed_and_before_diverged_failed_and_cancelled_ones()
    {
        TrialSnapshot Snap(int index, TrialStatus status, double acc, int epochs = 1) =>
            new(TrialSpec.MakeId(1, index), 1, index, TrialConfig.Empty, status, acc, 1, epochs);
        var ranked = new[]
        {
            Snap(1, TrialStatus.Diverged, 0.9), Snap(2, TrialStatus.Pruned, 0.5, 1), Snap(3, TrialStatus.Completed, 0.3),
            Snap(4, TrialStatus.Pruned, 0.5, 3), Snap(5, TrialStatus.Failed, 0.95), Snap(6, TrialStatus.Pruned, 0.6, 1),
            Snap(7, TrialStatus.Cancelled, 0.99),
        }.Order(TrialSnapshot.BestFirst).Select(t => t.Index);
        Assert.Equal([3, 6, 4, 2, 1, 5, 7], ranked);
    }

    public record Case(double[] Trial, double[][] Peers, int MinPeers);

    private static Gen<double> Acc => Gen.Choose(0, 1000).Select(i => i / 1000.0);

    public static Arbitrary<Case> Cases() =>
        (from epochs in Gen.Choose(1, 4)
         from trial in Gen.ArrayOf(Acc, epochs)
         from peers in Gen.ArrayOf(Gen.Choose(1, 5).SelectMany(n => Gen.ArrayOf(Acc, n)))
         from minPeers in Gen.Choose(1, 4)
         select new Case(trial, peers, minPeers)).ToArbitrary();

    private static (MedianPruning.Verdict? Verdict, ImmutableArray<TrialProgress> Peers) JudgeCase(Case c)
    {
        var peers = c.Peers.Select((p, i) => Progress("p" + i, 10, p)).ToImmutableArray();
        return (MedianPruning.Judge(Median with { MinPeers = c.MinPeers }, Progress("x", 10, c.Trial), peers), peers);
    }

    [Property(Arbitrary = [typeof(MedianPruningTests)], MaxTest = 300)]
    public bool A_trial_at_least_as_good_as_every_peer_is_never_pruned(Case c)
    {
        var epoch = c.Trial.Length;
        var best = c.Trial.Max();
        var leads = c.Peers.Where(p => p.Length >= epoch).All(p => p.Take(epoch).Max() <= best);
        return !leads || JudgeCase(c).Verdict is not { Prune: true };
    }

    [Property(Arbitrary = [typeof(MedianPruningTests)], MaxTest = 300)]
    public bool A_verdict_needs_min_peers_and_prunes_exactly_below_the_median(Case c)
    {
        var (verdict, _) = JudgeCase(c);
        var epoch = c.Trial.Length;
        var reached = c.Peers.Count(p => p.Length >= epoch);
        if (reached < c.MinPeers) return verdict is null;
        var below = c.Peers.Where(p => p.Length >= epoch).Count(p => p.Take(epoch).Max() < verdict!.Median);
        return verdict!.Peers == reached && verdict.Prune == (c.Trial.Max() < verdict.Median) && below <= reached / 2;
    }
}
