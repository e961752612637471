using Akka.Actor;
using Akka.Configuration;

namespace Sweep.Worker.Actors;

/// <summary>
/// The <c>sweep.worker</c> section: how often an idle worker asks again for work and re-sends unacknowledged
/// outcomes. Created from config (defaults in the contract library's reference.conf), validated in the constructor;
/// change a copy with the With... methods.
/// </summary>
public sealed class WorkerSettings
{
    public WorkerSettings(TimeSpan retryInterval)
    {
        if (retryInterval <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(retryInterval), retryInterval, "sweep.worker.retry-interval must be positive");
        RetryInterval = retryInterval;
    }

    public TimeSpan RetryInterval { get; }

    /// <summary>From an actor system's configuration.</summary>
    public static WorkerSettings Create(ActorSystem system) => Create(system.Settings.Config);

    /// <summary>From a whole node configuration (its <c>sweep.worker</c> section).</summary>
    public static WorkerSettings Create(Config config)
    {
        var section = config.GetConfig("sweep.worker") ?? throw new ArgumentException("the configuration has no sweep.worker section", nameof(config));
        return new WorkerSettings(section.GetTimeSpan("retry-interval", null, allowInfinite: false));
    }

    public WorkerSettings WithRetryInterval(TimeSpan retryInterval) => new(retryInterval);
}
