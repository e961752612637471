using System.Collections.Immutable;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Sweep.Search.Sampling;
using Sweep.Search.Specs;
using Sweep.Search.Trials;

namespace Sweep.Search.Tests.Sampling;

/// <summary>Successive halving and ASHA as a pure rule over one stage's trials: when rungs close, who is promoted, who is pruned.</summary>
public class RungPruningTests
{
    private static readonly PruningSpec Halving = new(PruningRule.SuccessiveHalving, MinEpochs: 1, ReductionFactor: 3);
    private static readonly PruningSpec Asha = Halving with { Rule = PruningRule.Asha };
    private static readonly ImmutableArray<int> Rungs = [1, 3];

    private static RungPruning.Entry Paused(int index, params double[] values) => new(Id(index), index, TrialStatus.Paused, [.. values]);

    private static RungPruning.Entry Open(int index, TrialStatus status = TrialStatus.Running, params double[] values) => new(Id(index), index, status, [.. values]);

    private static string Id(int index) => TrialSpec.MakeId(1, index);

    [Fact]
    public void Successive_halving_decides_nothing_until_every_trial_got_to_the_rung()
    {
        var stage = new[] { Paused(1, 0.40), Paused(2, 0.50), Paused(3, 0.30), Paused(4, 0.45), Paused(5, 0.20), Open(6) };
        Assert.Empty(RungPruning.Decide(Halving, Rungs, stage));
        // A trial that can no longer get there (diverged, failed) closes the rung as well as one that does.
        var decisions = RungPruning.Decide(Halving, Rungs, stage[..5].Append(Open(6, TrialStatus.Diverged)));
        // 5 trials got to rung 0: the top max(1, 5 / 3) = 1 goes on, the other 4 are pruned.
        Assert.Equal([(Id(2), true), (Id(4), false), (Id(1), false), (Id(3), false), (Id(5), false)], decisions.Select(d => (d.TrialId, d.Promote)));
        Assert.All(decisions, d => Assert.Equal(0, d.Rung));
        Assert.Equal("val 0.5000 at rung 0 (epoch 1) ranks 1 of 5 trial(s) there; the top 1 go on", decisions[0].Reason);
        Assert.Equal("val 0.4500 at rung 0 (epoch 1) ranks 2 of 5 trial(s) there; only the top 1 go on", decisions[1].Reason);
    }

    [Fact]
    public void Ties_go_to_the_lower_index_and_a_rung_decides_after_the_rungs_below_it()
    {
        // 9 trials at rung 0, all equal: the top 3 by index go on. Trials 1..3 are already past rung 0 (promoted earlier,
        // now paused at rung 1), so rung 0 prunes the other six and rung 1, closed, keeps max(1, 3 / 3) = 1.
        var stage = Enumerable.Range(1, 9).Select(i => i <= 3 ? Paused(i, 0.5, 0.6 - 0.01 * i) : Paused(i, 0.5)).ToList();
        var decisions = RungPruning.Decide(Halving, Rungs, stage);
        Assert.Equal(Enumerable.Range(4, 6).Select(i => (Id(i), 0, false)).Append((Id(1), 1, true)).Append((Id(2), 1, false)).Append((Id(3), 1, false)),
            decisions.Select(d => (d.TrialId, d.Rung, d.Promote)));
    }

    [Fact]
    public void Asha_promotes_a_trial_once_it_is_in_the_top_third_of_those_at_the_rung_so_far()
    {
        // Two trials at rung 0: 2 / 3 = 0 may go on yet; both wait.
        Assert.Empty(RungPruning.Decide(Asha, Rungs, [Paused(1, 0.40), Paused(2, 0.50), Open(3), Open(4), Open(5), Open(6)]));
        // A third arrives: the best of the three goes on at once, the others keep waiting (the rung is still open).
        var decisions = RungPruning.Decide(Asha, Rungs, [Paused(1, 0.40), Paused(2, 0.50), Paused(3, 0.45), Open(4), Open(5), Open(6)]);
        var promoted = Assert.Single(decisions);
        Assert.Equal((Id(2), 0, true), (promoted.TrialId, promoted.Rung, promoted.Promote));
        Assert.Equal("val 0.5000 at rung 0 (epoch 1) ranks 1 of 3 trial(s) there so far; the top 1 go on", promoted.Reason);
        // Once the rung closes (trial 7 failed for good), the 6 trials there keep a top 6 / 3 = 2: trial 2, promoted earlier
        // and now running towards rung 1, and trial 5, promoted now; the others still waiting are pruned.
        var closed = RungPruning.Decide(Asha, Rungs,
            [Paused(1, 0.40), Open(2, TrialStatus.Running, 0.50), Paused(3, 0.45), Paused(4, 0.10), Paused(5, 0.48), Paused(6, 0.30), Open(7, TrialStatus.Failed)]);
        Assert.Equal([(Id(5), true), (Id(3), false), (Id(1), false), (Id(6), false), (Id(4), false)], closed.Select(d => (d.TrialId, d.Promote)));
    }

    [Fact]
    public void Rules_without_rungs_decide_nothing()
    {
        var stage = new[] { Paused(1, 0.4), Paused(2, 0.5) };
        Assert.Empty(RungPruning.Decide(PruningSpec.None, Rungs, stage));
        Assert.Empty(RungPruning.Decide(new PruningSpec(PruningRule.Median), Rungs, stage));
        Assert.Empty(RungPruning.Decide(Halving, [], stage));
    }

    // ---- properties over random stages -------------------------------------------------------------------------

    public record StageCase(double[] Figures, int Eta, int[] Arrival);

    public static Arbitrary<StageCase> Stages() =>
        (from n in Gen.Choose(1, 30)
         from figures in Gen.ArrayOf(Gen.Choose(0, 50).Select(i => i / 50.0), n)
         from eta in Gen.Choose(2, 4)
         from keys in Gen.ArrayOf(Gen.Choose(0, 1_000_000), n)
         select new StageCase(figures, eta, [.. Enumerable.Range(0, n).OrderBy(i => keys[i]).ThenBy(i => i)])).ToArbitrary();

    /// <summary>
    /// One rung's life: trials arrive at rung 0 in <see cref="StageCase.Arrival"/> order (the others still running), and
    /// after each arrival the rule's decisions are applied, as the engine does. Returns the trials promoted and pruned.
    /// </summary>
    private static (HashSet<string> Promoted, HashSet<string> Pruned, List<(string Id, int Arrived)> PromotedAt) Play(PruningSpec rule, StageCase c)
    {
        var n = c.Figures.Length;
        var entries = Enumerable.Range(1, n).Select(i => Open(i)).ToArray();
        var promoted = new HashSet<string>();
        var pruned = new HashSet<string>();
        var promotedAt = new List<(string, int)>();
        for (var step = 0; step < n; step++)
        {
            var i = c.Arrival[step];
            entries[i] = Paused(i + 1, c.Figures[i]);
            foreach (var d in RungPruning.Decide(rule, [1], entries))
            {
                var at = Array.FindIndex(entries, e => e.TrialId == d.TrialId);
                entries[at] = entries[at] with { Status = d.Promote ? TrialStatus.Running : TrialStatus.Pruned };
                (d.Promote ? promoted : pruned).Add(d.TrialId);
                if (d.Promote) promotedAt.Add((d.TrialId, step + 1));
            }
        }
        return (promoted, pruned, promotedAt);
    }

    private static List<string> Ranked(StageCase c) =>
        [.. Enumerable.Range(0, c.Figures.Length).OrderByDescending(i => c.Figures[i]).ThenBy(i => i).Select(i => Id(i + 1))];

    [Property(Arbitrary = [typeof(RungPruningTests)], MaxTest = 300)]
    public bool Successive_halving_promotes_exactly_the_top_share_whatever_the_arrival_order(StageCase c)
    {
        var (promoted, pruned, _) = Play(Halving with { ReductionFactor = c.Eta }, c);
        var quota = Math.Max(1, c.Figures.Length / c.Eta);
        return promoted.SetEquals(Ranked(c).Take(quota)) && pruned.SetEquals(Ranked(c).Skip(quota));
    }

    [Property(Arbitrary = [typeof(RungPruningTests)], MaxTest = 300)]
    public bool Asha_decides_every_trial_once_and_keeps_at_least_the_halving_survivors(StageCase c)
    {
        var (promoted, pruned, _) = Play(Asha with { ReductionFactor = c.Eta }, c);
        var quota = Math.Max(1, c.Figures.Length / c.Eta);
        return promoted.Count + pruned.Count == c.Figures.Length && !promoted.Overlaps(pruned) &&
               promoted.IsSupersetOf(Ranked(c).Take(quota));
    }

    [Property(Arbitrary = [typeof(RungPruningTests)], MaxTest = 300)]
    public bool Asha_promotes_only_trials_in_the_top_share_of_those_that_had_arrived(StageCase c)
    {
        var (_, _, promotedAt) = Play(Asha with { ReductionFactor = c.Eta }, c);
        var n = c.Figures.Length;
        foreach (var (id, arrived) in promotedAt)
        {
            var seen = c.Arrival.Take(arrived).ToList();
            var quota = arrived == n ? Math.Max(1, n / c.Eta) : arrived / c.Eta;
            var rank = seen.OrderByDescending(i => c.Figures[i]).ThenBy(i => i).Select(i => Id(i + 1)).ToList().IndexOf(id);
            if (rank < 0 || rank >= quota) return false;
        }
        return true;
    }
}
