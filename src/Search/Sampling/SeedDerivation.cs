namespace Sweep.Search.Sampling;

/// <summary>
/// Derives independent seeds from (sweep seed, stage, stream, index) with SplitMix64 mixing (docs/seed-formulas.md §8), so that every stage
/// and every trial has its own random stream whatever order things happen in.
/// </summary>
public static class SeedDerivation
{
    public const ulong SamplingStream = 0x5A3D_1E55;
    public const ulong TrialStream = 0x7121_A15E;

    public static ulong Mix(ulong value)
    {
        value += 0x9E3779B97F4A7C15UL;
        value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9UL;
        value = (value ^ (value >> 27)) * 0x94D049BB133111EBUL;
        return value ^ (value >> 31);
    }

    public static ulong Derive(long seed, int stage, ulong stream, long index = 0)
    {
        var h = Mix(unchecked((ulong)seed));
        h = Mix(h ^ unchecked((ulong)stage));
        h = Mix(h ^ stream);
        return Mix(h ^ unchecked((ulong)index));
    }

    /// <summary>Seed of the random source a sampler uses for <paramref name="stage"/>.</summary>
    public static int StageSamplingSeed(long seed, int stage) => (int)(Derive(seed, stage, SamplingStream) & 0x7FFF_FFFF);

    /// <summary>Training seed of trial <paramref name="index"/> (1-based) of <paramref name="stage"/>; in [0, 2^31) so it fits every seed API.</summary>
    public static long TrialSeed(long seed, int stage, int index) => (long)(Derive(seed, stage, TrialStream, index) & 0x7FFF_FFFFUL);

    /// <summary>A reproducible random source for <paramref name="stage"/> (xoshiro256** from MathNet.Numerics).</summary>
    public static Random StageRandom(long seed, int stage) => new MathNet.Numerics.Random.Xoshiro256StarStar(StageSamplingSeed(seed, stage), threadSafe: false);

    /// <summary>
    /// The random source of an ask for a stage's configs from index <paramref name="firstIndex"/> on: the stage's own
    /// (<see cref="StageRandom"/>) for a whole stage, another stream for each later ask, so asks never repeat each other.
    /// </summary>
    public static Random AskRandom(long seed, int stage, int firstIndex) => firstIndex <= 1
        ? StageRandom(seed, stage)
        : new MathNet.Numerics.Random.Xoshiro256StarStar((int)(Derive(seed, stage, SamplingStream, firstIndex) & 0x7FFF_FFFF), threadSafe: false);
}
