namespace Sweep.Models.Runtime;

/// <summary>
/// The independent random streams of one trial, all derived from its seed (docs/seed-formulas.md §8): the weight
/// init draws from the seed itself, the others from SplitMix64 of (seed, stream), so that no stream replays the
/// numbers another drew.
/// </summary>
public static class SeedStreams
{
    /// <summary>Dropout masks.</summary>
    public const ulong Dropout = 1;

    /// <summary>The Solver's minibatch sampling.</summary>
    public const ulong Sampling = 2;

    /// <summary>SplitMix64 of (seed, stream): reproducible, and independent of the other streams of the same seed.</summary>
    public static ulong Derive(long seed, ulong stream)
    {
        var z = unchecked((ulong)seed + 0x9E3779B97F4A7C15UL * (stream + 1));
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
