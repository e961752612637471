using System.Collections.Immutable;
using System.Globalization;
using Sweep.Search.Specs;
using Sweep.Search.Trials;

namespace Sweep.Search.Sampling;

/// <summary>
/// Successive halving and ASHA within one stage. A stage's trials pause at each rung epoch
/// (<see cref="PruningSpec.RungEpochs"/>); a trial's figure at rung k is its best val accuracy over epochs 1..that epoch, and
/// the trials at a rung rank by it (then by index, so ties never depend on arrival order). With η the reduction factor and
/// m the number of trials that got to rung k:
/// <list type="bullet">
/// <item>rung k is <em>closed</em> once no trial of the stage can still get there: each one got there or is terminal;</item>
/// <item><see cref="PruningRule.SuccessiveHalving"/> decides nothing before the rung is closed; then the top max(1, ⌊m/η⌋)
/// paused there are promoted and the others pruned. Every decision is a function of the trials' figures alone, so of
/// (spec, seed, results), whatever the number of workers or the order results came in;</item>
/// <item><see cref="PruningRule.Asha"/> promotes a paused trial as soon as it is among the top ⌊m/η⌋ of the m trials that got
/// to the rung so far (a trial promoted early stays promoted); once the rung is closed it decides as successive halving
/// does for the trials still paused there. Its decisions depend on timing.</item>
/// </list>
/// Rungs are decided in order, each seeing the decisions of the rungs below it. Pure: the engine journals the decisions.
/// </summary>
public static class RungPruning
{
    /// <summary>A trial of the stage as the rule sees it: its status and its figure at each rung it got to.</summary>
    public sealed record Entry(string TrialId, int Index, TrialStatus Status, ImmutableArray<double> RungValues);

    /// <summary>Promote (or prune) <see cref="TrialId"/>, paused at rung <see cref="Rung"/>, for <see cref="Reason"/>.</summary>
    public sealed record Decision(string TrialId, int Rung, bool Promote, string Reason);

    /// <summary>The decisions due now for a stage's trials; empty when the rule has none (or uses no rungs).</summary>
    public static IReadOnlyList<Decision> Decide(PruningSpec rule, ImmutableArray<int> rungEpochs, IEnumerable<Entry> stage)
    {
        var decisions = new List<Decision>();
        if (!rule.UsesRungs) return decisions;
        var eta = rule.ReductionFactor ?? PruningSpec.DefaultReductionFactor;
        var trials = stage.OrderBy(t => t.Index).ToList();
        for (var rung = 0; rung < rungEpochs.Length; rung++)
        {
            var reached = trials.Where(t => t.RungValues.Length > rung)
                .OrderByDescending(t => t.RungValues[rung]).ThenBy(t => t.Index)
                .ToList();
            if (reached.Count == 0) break;
            var closed = trials.All(t => t.RungValues.Length > rung || t.Status.IsTerminal());
            var quota = closed ? Math.Max(1, reached.Count / eta)
                : rule.Rule == PruningRule.Asha ? reached.Count / eta
                : 0;
            for (var rank = 0; rank < reached.Count; rank++)
            {
                var trial = reached[rank];
                if (trial.Status != TrialStatus.Paused || trial.RungValues.Length != rung + 1) continue;
                var promote = rank < quota;
                if (!promote && !closed) continue;
                decisions.Add(new Decision(trial.TrialId, rung, promote, Describe(trial, rung, rungEpochs[rung], rank, reached.Count, quota, closed, promote)));
                var index = trials.IndexOf(trial);
                trials[index] = trial with { Status = promote ? TrialStatus.Pending : TrialStatus.Pruned };
            }
        }
        return decisions;
    }

    private static string Describe(Entry trial, int rung, int epoch, int rank, int reached, int quota, bool closed, bool promote)
    {
        var where = closed ? "there" : "there so far";
        var outcome = promote ? "the top" : "only the top";
        return string.Create(CultureInfo.InvariantCulture,
            $"val {trial.RungValues[rung]:0.0000} at rung {rung} (epoch {epoch}) ranks {rank + 1} of {reached} trial(s) {where}; {outcome} {quota} go on");
    }
}
