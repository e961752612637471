using Akka.Actor;

namespace Sweep.Coordinator.Actors;

/// <summary>
/// The coordinator's view of the workers registered with it in this incarnation: where each one lives, how
/// many trials it asked for, and how many assignments are on their way to it. Pure bookkeeping: the actor
/// decides, this class only counts, so that a worker is never sent more trials than it asked for.
/// </summary>
public sealed class WorkerRegistry
{
    private readonly Dictionary<string, Entry> _workers = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];

    public sealed class Entry(string workerId, IActorRef actor, string nodeAddress, int slots)
    {
        public string WorkerId { get; } = workerId;
        public IActorRef Actor { get; } = actor;
        public string NodeAddress { get; } = nodeAddress;
        public int Slots { get; } = slots;

        /// <summary>Assignments sent since registration.</summary>
        public long Sent { get; internal set; }

        /// <summary>Trials this worker still wants (its latest request minus what was sent after it).</summary>
        public int Demand { get; internal set; }
    }

    public int Count => _workers.Count;

    public int TotalSlots => _workers.Values.Sum(w => w.Slots);

    /// <summary>Adds or replaces a worker; its counters start at zero (the worker resets its own on the reply).</summary>
    public Entry Register(string workerId, IActorRef actor, string nodeAddress, int slots)
    {
        if (!_workers.ContainsKey(workerId))
            _order.Add(workerId);
        var entry = new Entry(workerId, actor, nodeAddress, slots);
        _workers[workerId] = entry;
        return entry;
    }

    public Entry? Find(string workerId) => _workers.GetValueOrDefault(workerId);

    public Entry? FindByActor(IActorRef actor) => _workers.Values.FirstOrDefault(w => w.Actor.Equals(actor));

    public IReadOnlyList<Entry> OnNode(string nodeAddress) =>
        _workers.Values.Where(w => w.NodeAddress == nodeAddress).ToList();

    /// <summary>
    /// A worker asked for <paramref name="freeSlots"/> trials after receiving <paramref name="assignmentsReceived"/>
    /// assignments: the ones sent but not yet received will fill some of those slots, so they do not count again.
    /// </summary>
    public void UpdateDemand(Entry worker, int freeSlots, long assignmentsReceived)
    {
        var inFlight = Math.Max(0, worker.Sent - assignmentsReceived);
        worker.Demand = (int)Math.Max(0, freeSlots - inFlight);
    }

    public void Assigned(Entry worker, int count)
    {
        worker.Sent += count;
        worker.Demand = Math.Max(0, worker.Demand - count);
    }

    public bool Remove(string workerId)
    {
        _order.Remove(workerId);
        return _workers.Remove(workerId);
    }

    /// <summary>Workers that want trials, in registration order (so the earliest asker is served first).</summary>
    public IReadOnlyList<Entry> WithDemand() =>
        _order.Select(id => _workers[id]).Where(w => w.Demand > 0).ToList();
}
