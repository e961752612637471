using Akka.Actor;
using Akka.Cluster;

namespace Sweep.Contract.Nodes;

/// <summary>
/// Which node a message came from, and whether that node may send it: the sender must be a real actor (not
/// "no sender") on a current member of this cluster with the expected role. A process that is not a member can
/// still reach an actor path over the wire; this is what keeps its messages from being acted on. In an actor
/// system without a cluster (unit tests) only local senders exist, and they are trusted.
/// </summary>
public static class SenderNodes
{
    /// <summary>The node <paramref name="actor"/> lives on; actors of this process report this node's address.</summary>
    public static Address NodeOf(ActorSystem system, IActorRef actor) =>
        actor.Path.Address.HasLocalScope && IsCluster(system)
            ? Cluster.Get(system).SelfAddress
            : actor.Path.Address;

    /// <summary>True when <paramref name="sender"/> is an actor on a cluster member with <paramref name="role"/> (any role when null).</summary>
    public static bool IsMember(ActorSystem system, IActorRef? sender, string? role)
    {
        if (sender is null || sender.IsNobody() || sender.Equals(system.DeadLetters))
            return false;
        if (!IsCluster(system))
            return sender.Path.Address.HasLocalScope;
        var node = NodeOf(system, sender);
        return Cluster.Get(system).State.Members.Any(member =>
            member.Address.Equals(node) && (role is null || member.HasRole(role)) &&
            member.Status is MemberStatus.Up or MemberStatus.WeaklyUp or MemberStatus.Leaving or MemberStatus.Exiting);
    }

    private static bool IsCluster(ActorSystem system) =>
        system is ExtendedActorSystem { Provider: IClusterActorRefProvider };

    /// <summary>True when both actors live on the same node.</summary>
    public static bool SameNode(ActorSystem system, IActorRef a, IActorRef b) => NodeOf(system, a).Equals(NodeOf(system, b));
}
