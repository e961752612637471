using Akka.Configuration;

namespace Sweep.Coordinator.Actors;

/// <summary>
/// The <c>sweep.coordinator.restart</c> section: how the coordinator is restarted through a journal outage, how long a
/// restarted coordinator waits for the workers of in-flight trials, and when the CLI gives up on the journal. Created
/// from config (defaults in the contract library's reference.conf), validated in the constructor.
/// </summary>
public sealed class CoordinatorRestartSettings
{
    public CoordinatorRestartSettings(TimeSpan minBackoff, TimeSpan maxBackoff, TimeSpan inFlightGrace, TimeSpan giveUpAfter)
    {
        if (minBackoff <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(minBackoff), minBackoff, "sweep.coordinator.restart.min-backoff must be positive");
        if (maxBackoff < minBackoff)
            throw new ArgumentOutOfRangeException(nameof(maxBackoff), maxBackoff, "sweep.coordinator.restart.max-backoff must be at least min-backoff");
        if (inFlightGrace <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(inFlightGrace), inFlightGrace, "sweep.coordinator.restart.in-flight-grace must be positive");
        if (giveUpAfter <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(giveUpAfter), giveUpAfter, "sweep.coordinator.restart.give-up-after must be positive");
        MinBackoff = minBackoff;
        MaxBackoff = maxBackoff;
        InFlightGrace = inFlightGrace;
        GiveUpAfter = giveUpAfter;
    }

    /// <summary>The delay before the first restart after a failure; it doubles up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan MinBackoff { get; }

    public TimeSpan MaxBackoff { get; }

    /// <summary>How long a restarted coordinator keeps in-flight trials of workers still in the cluster.</summary>
    public TimeSpan InFlightGrace { get; }

    /// <summary>How long a journal outage may last before the CLI stops the sweep.</summary>
    public TimeSpan GiveUpAfter { get; }

    /// <summary>From a whole node configuration (its <c>sweep.coordinator.restart</c> section), e.g. <see cref="Contract.Configuration.SweepConfig.Load"/>.</summary>
    public static CoordinatorRestartSettings Create(Config config)
    {
        var section = config.GetConfig("sweep.coordinator.restart") ?? throw new ArgumentException("the configuration has no sweep.coordinator.restart section", nameof(config));
        return new CoordinatorRestartSettings(
            section.GetTimeSpan("min-backoff", null, allowInfinite: false),
            section.GetTimeSpan("max-backoff", null, allowInfinite: false),
            section.GetTimeSpan("in-flight-grace", null, allowInfinite: false),
            section.GetTimeSpan("give-up-after", null, allowInfinite: false));
    }
}
