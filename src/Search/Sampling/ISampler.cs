using System.Collections.Immutable;
using Sweep.Search.Spaces;
using Sweep.Search.Specs;
using Sweep.Search.Trials;

namespace Sweep.Search.Sampling;

/// <summary>
/// A search strategy behind a small pure ask/tell interface. It never sees the runtime (workers, actors,
/// clocks): <see cref="Ask"/> gets a snapshot of the finished trials of earlier stages and returns a stage's
/// configs; <see cref="Tell"/> gets a running trial's per-epoch reports and answers continue/stop (the hook for
/// ASHA / successive halving). Given the same construction arguments, both are pure functions of their input.
/// </summary>
public interface ISampler
{
    /// <summary>Stable name, e.g. <c>coarse_to_fine</c>.</summary>
    string Kind { get; }

    /// <summary>
    /// The sampled part of every config stage <see cref="StageRequest.Stage"/> runs, in trial order. A pure function of
    /// (construction arguments, request); the order of <see cref="StageRequest.History"/> does not matter.
    /// </summary>
    ImmutableArray<TrialConfig> Ask(StageRequest request);

    /// <summary>
    /// Whether a running trial should go on after its latest epoch, given its stage peers' progress. The peers are a lazy
    /// sequence over an immutable state (the same every time it is enumerated): enumerate it only when the answer needs it.
    /// </summary>
    TrialDecision Tell(TrialProgress progress, IEnumerable<TrialProgress> stagePeers);
}

/// <summary>What a sampler needs to propose stage <see cref="Stage"/> (1-based).</summary>
/// <param name="Stage">1-based stage number.</param>
/// <param name="StageSpec">The stage's count, top-K, carry-over and margin; <c>Count</c> is how many configs to propose.</param>
/// <param name="History">Finished trials of all earlier stages, in any order (asked per free slot: of this stage too).</param>
/// <param name="FirstIndex">The 1-based index in the stage of the first config asked for: 1 when a stage is proposed whole,
/// later when configs are asked one free slot at a time (each ask then has its own random stream).</param>
/// <param name="Open">Configs of the stage's trials that are planned but not finished (asked per free slot), which a
/// sampler that models results should steer away from; empty otherwise.</param>
public sealed record StageRequest(int Stage, StageSpec StageSpec, ImmutableArray<TrialSnapshot> History, int FirstIndex = 1, ImmutableArray<TrialConfig> Open = default)
{
    public IEnumerable<TrialSnapshot> PreviousStage => History.Where(t => t.Stage == Stage - 1);
}

/// <summary>
/// A finished trial as samplers see it: its sampled config (searched parameters only) and outcome.
/// <see cref="Index"/> is the trial's 1-based position within its stage and breaks ties deterministically.
/// </summary>
/// <see cref="EpochsRun"/> matters only for pruned trials (how far they got); 0 when unknown.
public sealed record TrialSnapshot(string TrialId, int Stage, int Index, TrialConfig Config, TrialStatus Status, double BestValAcc, int BestEpoch, int EpochsRun = 0)
{
    /// <summary>
    /// Order used to pick a stage's top-K: completed trials by best val accuracy (desc), then best epoch (asc), then
    /// index; pruned trials next (<see cref="PrunedRanking"/>); diverged, failed and cancelled trials count as worst.
    /// Independent of arrival order.
    /// </summary>
    public static readonly IComparer<TrialSnapshot> BestFirst = Comparer<TrialSnapshot>.Create((a, b) =>
    {
        var aOk = a.Status == TrialStatus.Completed;
        var bOk = b.Status == TrialStatus.Completed;
        if (aOk != bOk) return aOk ? -1 : 1;
        if (aOk)
        {
            var byAcc = b.BestValAcc.CompareTo(a.BestValAcc);
            if (byAcc != 0) return byAcc;
            var byEpoch = a.BestEpoch.CompareTo(b.BestEpoch);
            if (byEpoch != 0) return byEpoch;
        }
        var byPruned = PrunedRanking.Compare(a.Status, a.BestValAcc, a.EpochsRun, b.Status, b.BestValAcc, b.EpochsRun);
        if (byPruned != 0) return byPruned;
        var byStage = a.Stage.CompareTo(b.Stage);
        return byStage != 0 ? byStage : a.Index.CompareTo(b.Index);
    });
}

/// <summary>A running trial's progress for early-stopping decisions.</summary>
public sealed record TrialProgress(string TrialId, int Stage, TrialConfig Config, int Epoch, int Epochs, ImmutableArray<double> ValAccHistory);

/// <summary>A sampler's answer to a per-epoch report.</summary>
public enum TrialDecision { Continue, Stop }
