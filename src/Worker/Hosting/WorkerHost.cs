using Akka.Actor;
using Akka.Cluster;
using Akka.Configuration;
using Sweep.Contract.Cli;
using Sweep.Contract.Nodes;
using Sweep.Worker.Actors;
using Sweep.Worker.Trials;

namespace Sweep.Worker.Hosting;

/// <summary>
/// A worker-role cluster node: an actor system joined through the seed nodes, a proxy to the coordinator
/// singleton and the <see cref="WorkerNode"/> that owns the slots. Disposing it leaves the cluster.
/// </summary>
public sealed class WorkerHost : IAsyncDisposable
{
    public const string WorkerActorName = "worker";

    private WorkerHost(ActorSystem system, IActorRef worker, string workerId)
    {
        System = system;
        Worker = worker;
        WorkerId = workerId;
    }

    public ActorSystem System { get; }
    public IActorRef Worker { get; }
    public string WorkerId { get; }

    public static async Task<WorkerHost> StartAsync(
        ClusterNodeOptions options, IReadOnlyList<TrialSlot> slots, ITrialRunner runner, TimeSpan joinTimeout, Config? extra = null)
    {
        if (options.SeedNodes.Count == 0)
            throw new SweepUsageException("a worker needs --seed-nodes HOST:PORT of the coordinator (or of another node of its cluster)");
        var config = ClusterNodeConfig.Build(options with { Role = ClusterNodeConfig.WorkerRole }, extra);
        var system = ClusterTls.CreateSystem(config);
        try
        {
            await ClusterJoin.WaitUntilUpAsync(system, options.SeedNodes, joinTimeout);
            var self = Cluster.Get(system).SelfAddress;
            var retry = WorkerSettings.Create(system).RetryInterval;
            var proxy = system.ActorOf(CoordinatorSingleton.CreateProxy(system), CoordinatorSingleton.ProxyName);
            var workerId = $"{self}/user/{WorkerActorName}";
            var settings = new WorkerNodeSettings(workerId, self.ToString(), slots, retry);
            var worker = system.ActorOf(WorkerNode.Props(settings, proxy, runner), WorkerActorName);
            return new WorkerHost(system, worker, workerId);
        }
        catch
        {
            await system.Terminate();
            throw;
        }
    }

    /// <summary>Stops taking work (running trials are cancelled), then leaves the cluster.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await Worker.GracefulStop(TimeSpan.FromSeconds(5));
        }
        catch (Exception e) when (e is TaskCanceledException or AskTimeoutException)
        {
            // Still stopping; the shutdown below stops it anyway.
        }
        await CoordinatedShutdown.Get(System).Run(CoordinatedShutdown.ClusterLeavingReason.Instance);
        await System.WhenTerminated;
    }
}
