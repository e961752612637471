using Akka.Actor;
using Sweep.Coordinator.Actors;

namespace Sweep.Coordinator.Tests.Actors;

public class WorkerRegistryTests
{
    private static readonly IActorRef Nobody = ActorRefs.Nobody;

    [Fact]
    public void Assignments_still_in_flight_do_not_count_as_free_slots_again()
    {
        var registry = new WorkerRegistry();
        var worker = registry.Register("w1", Nobody, "node-1", 3);
        registry.UpdateDemand(worker, freeSlots: 3, assignmentsReceived: 0);
        Assert.Equal(3, worker.Demand);

        registry.Assigned(worker, 2);
        Assert.Equal(1, worker.Demand);

        // A repeated request written before the two assignments arrived still says 3 free slots.
        registry.UpdateDemand(worker, freeSlots: 3, assignmentsReceived: 0);
        Assert.Equal(1, worker.Demand);

        // Both arrived and are running: one slot left.
        registry.UpdateDemand(worker, freeSlots: 1, assignmentsReceived: 2);
        Assert.Equal(1, worker.Demand);
    }

    [Fact]
    public void Registering_again_resets_the_counters_and_keeps_the_serving_order()
    {
        var registry = new WorkerRegistry();
        var first = registry.Register("w1", Nobody, "node-1", 1);
        var second = registry.Register("w2", Nobody, "node-2", 1);
        registry.UpdateDemand(first, 1, 0);
        registry.UpdateDemand(second, 1, 0);
        registry.Assigned(first, 1);

        var again = registry.Register("w1", Nobody, "node-1", 2);
        Assert.Equal(0, again.Sent);
        registry.UpdateDemand(again, 2, 0);
        Assert.Equal(["w1", "w2"], registry.WithDemand().Select(w => w.WorkerId));
        Assert.Equal(3, registry.TotalSlots);
    }

    [Fact]
    public void Workers_are_found_by_node_and_removed()
    {
        var registry = new WorkerRegistry();
        registry.Register("a/user/worker", Nobody, "node-a", 1);
        registry.Register("b/user/worker", Nobody, "node-b", 1);
        Assert.Equal("a/user/worker", Assert.Single(registry.OnNode("node-a")).WorkerId);
        Assert.True(registry.Remove("a/user/worker"));
        Assert.Empty(registry.OnNode("node-a"));
        Assert.Equal(1, registry.Count);
    }
}
