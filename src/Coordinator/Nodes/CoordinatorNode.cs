using Akka.Actor;
using Akka.Event;
using Akka.Cluster.Tools.Singleton;
using Akka.Cluster;
using Akka.Configuration;
using Sweep.Contract.Nodes;
using Sweep.Coordinator.Actors;
using Sweep.Coordinator.Persistence;
using Sweep.Search.Specs;

namespace Sweep.Coordinator.Nodes;

/// <summary>
/// A coordinator-role cluster node: an actor system joined to (or founding) the cluster, hosting the
/// coordinator singleton's manager (the singleton is a <see cref="CoordinatorSupervisor"/>, which keeps the
/// coordinator running through journal outages) and a proxy to it. Stopping it leaves the cluster gracefully.
/// </summary>
public sealed class CoordinatorNode : IAsyncDisposable
{
    private CoordinatorNode(ActorSystem system, IActorRef proxy)
    {
        System = system;
        Proxy = proxy;
    }

    public ActorSystem System { get; }

    /// <summary>Talks to the coordinator wherever it currently runs (buffers while it starts or moves).</summary>
    public IActorRef Proxy { get; }

    public Address Address => Cluster.Get(System).SelfAddress;

    /// <summary>
    /// Starts the node and waits until it is a cluster member. Without seed nodes it founds a new cluster;
    /// with seed nodes it joins them (failing after <paramref name="joinTimeout"/>).
    /// </summary>
    public static async Task<CoordinatorNode> StartAsync(
        ClusterNodeOptions options, JournalLocation journal, SweepSpec? spec, CoordinatorSettings settings,
        TimeSpan joinTimeout, Config? extra = null)
    {
        var persistence = journal.ToAkkaConfig(createTables: true);
        var config = ClusterNodeConfig.Build(options with { Role = ClusterNodeConfig.CoordinatorRole },
            extra is null ? persistence : extra.WithFallback(persistence));
        var system = ClusterTls.CreateSystem(config);
        try
        {
            var cluster = Cluster.Get(system);
            if (options.SeedNodes.Count == 0)
                cluster.Join(cluster.SelfAddress);
            await ClusterJoin.WaitUntilUpAsync(system, options.SeedNodes, joinTimeout);
            var checkpoints = new CheckpointStore(CheckpointStore.DirectoryFor(journal, settings.CheckpointStore));
            if (checkpoints.DropUnfinishedUploads() is > 0 and var dropped)
                system.Log.Info("deleted {0} unfinished checkpoint upload(s) a previous coordinator left in {1}", dropped, checkpoints.Directory);
            system.ActorOf(ClusterSingletonManager.Props(
                    CoordinatorSupervisor.Props(spec, settings, CoordinatorRestartSettings.Create(system.Settings.Config), checkpoints),
                    PoisonPill.Instance,
                    CoordinatorSingleton.ManagerSettings(system)),
                CoordinatorSingleton.ManagerName);
            var proxy = system.ActorOf(CoordinatorSingleton.CreateProxy(system), CoordinatorSingleton.ProxyName);
            return new CoordinatorNode(system, proxy);
        }
        catch
        {
            await system.Terminate();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await CoordinatedShutdown.Get(System).Run(CoordinatedShutdown.ClusterLeavingReason.Instance);
        await System.WhenTerminated;
    }
}
