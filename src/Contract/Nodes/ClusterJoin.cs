using Akka.Actor;
using Akka.Cluster;
using Sweep.Contract.Cli;

namespace Sweep.Contract.Nodes;

/// <summary>Waits, within a bound, until this node is an Up member of the cluster.</summary>
public static class ClusterJoin
{
    public static async Task WaitUntilUpAsync(ActorSystem system, IReadOnlyList<string> seedNodes, TimeSpan timeout)
    {
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cluster = Cluster.Get(system);
        cluster.RegisterOnMemberUp(() => up.TrySetResult());
        var finished = await Task.WhenAny(up.Task, Task.Delay(timeout), system.WhenTerminated);
        if (finished == up.Task)
            return;
        var seeds = seedNodes.Count == 0 ? cluster.SelfAddress.ToString() : string.Join(",", seedNodes);
        throw new SweepUsageException(
            $"could not join the cluster through seed node(s) {seeds} within {timeout.TotalSeconds:0} s; start the coordinator first and check --seed-nodes (HOST:PORT of a running node) and --host");
    }
}
