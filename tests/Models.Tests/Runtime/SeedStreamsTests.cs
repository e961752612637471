using Sweep.Models.Runtime;

namespace Sweep.Models.Tests.Runtime;

/// <summary>A trial's random streams follow docs/seed-formulas.md §8 and never coincide.</summary>
public class SeedStreamsTests
{
    /// <summary>SplitMix64's next value from state z, written from the published algorithm.</summary>
    private static ulong SplitMix64(ulong z)
    {
        z = unchecked(z + 0x9E3779B97F4A7C15UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return z ^ (z >> 31);
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(42L)]
    [InlineData(-7L)]
    [InlineData(long.MaxValue)]
    public void Each_stream_is_splitmix64_of_the_seed_advanced_by_its_number(long seed)
    {
        foreach (var stream in new[] { SeedStreams.Dropout, SeedStreams.Sampling })
            Assert.Equal(SplitMix64(unchecked((ulong)seed + 0x9E3779B97F4A7C15UL * stream)), SeedStreams.Derive(seed, stream));
        Assert.NotEqual(SeedStreams.Derive(seed, SeedStreams.Dropout), SeedStreams.Derive(seed, SeedStreams.Sampling));
        Assert.NotEqual(unchecked((ulong)seed), SeedStreams.Derive(seed, SeedStreams.Dropout));
    }
}
