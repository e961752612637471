using Akka.Actor;
using Akka.Configuration;
using Sweep.Contract.Configuration;

namespace Sweep.Coordinator.Actors;

/// <summary>
/// The <c>sweep.coordinator</c> section: how often the coordinator snapshots and checks for timed-out trials.
/// Created from config (defaults in the contract library's reference.conf), validated in the constructor; change a
/// copy with the With... methods.
/// </summary>
public sealed class CoordinatorSettings
{
    public CoordinatorSettings(int snapshotEvery, TimeSpan timeoutCheckInterval, string checkpointStore = "")
    {
        if (snapshotEvery < 1)
            throw new ArgumentOutOfRangeException(nameof(snapshotEvery), snapshotEvery, "sweep.coordinator.snapshot-every must be at least 1");
        if (timeoutCheckInterval <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(timeoutCheckInterval), timeoutCheckInterval, "sweep.coordinator.timeout-check-interval must be positive");
        SnapshotEvery = snapshotEvery;
        TimeoutCheckInterval = timeoutCheckInterval;
        CheckpointStore = checkpointStore?.Trim() ?? "";
    }

    /// <summary>The folder trial checkpoints are stored in; empty: beside the journal (see Persistence.CheckpointStore.DirectoryFor).</summary>
    public string CheckpointStore { get; }

    /// <summary>Journal events between two snapshots of the sweep state.</summary>
    public int SnapshotEvery { get; }

    /// <summary>How often running trials are checked against the spec's trial_timeout.</summary>
    public TimeSpan TimeoutCheckInterval { get; }

    /// <summary>From an actor system's configuration.</summary>
    public static CoordinatorSettings Create(ActorSystem system) => Create(system.Settings.Config);

    /// <summary>From a whole node configuration (its <c>sweep.coordinator</c> section), e.g. <see cref="SweepConfig.Load"/>.</summary>
    public static CoordinatorSettings Create(Config config)
    {
        var section = config.GetConfig("sweep.coordinator") ?? throw new ArgumentException("the configuration has no sweep.coordinator section", nameof(config));
        return new CoordinatorSettings(section.GetInt("snapshot-every"), section.GetTimeSpan("timeout-check-interval", null, allowInfinite: false),
            section.GetString("checkpoint-store", ""));
    }

    public CoordinatorSettings WithSnapshotEvery(int snapshotEvery) => new(snapshotEvery, TimeoutCheckInterval, CheckpointStore);

    public CoordinatorSettings WithTimeoutCheckInterval(TimeSpan interval) => new(SnapshotEvery, interval, CheckpointStore);

    public CoordinatorSettings WithCheckpointStore(string folder) => new(SnapshotEvery, TimeoutCheckInterval, folder);
}
