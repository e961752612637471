using Akka.Actor;
using Akka.Cluster.Tools.Singleton;

namespace Sweep.Contract.Nodes;

/// <summary>
/// Where the coordinator singleton lives in the cluster: the coordinator node hosts its manager under these names,
/// and every node (workers included) reaches it through a proxy made here.
/// </summary>
public static class CoordinatorSingleton
{
    public const string ManagerName = "coordinator";
    public const string ProxyName = "coordinator-proxy";
    public const string SingletonName = "sweep";

    /// <summary>The singleton manager's settings on a coordinator-role node.</summary>
    public static ClusterSingletonManagerSettings ManagerSettings(ActorSystem system) =>
        ClusterSingletonManagerSettings.Create(system).WithRole(ClusterNodeConfig.CoordinatorRole).WithSingletonName(SingletonName);

    /// <summary>Props of a proxy to the coordinator singleton, for any node of the cluster.</summary>
    public static Props CreateProxy(ActorSystem system) =>
        ClusterSingletonProxy.Props(
            $"/user/{ManagerName}",
            ClusterSingletonProxySettings.Create(system).WithRole(ClusterNodeConfig.CoordinatorRole).WithSingletonName(SingletonName));
}
