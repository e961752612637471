using Akka.Actor;
using Sweep.Contract.Nodes;
using Sweep.Contract.Protocol;
using Sweep.Coordinator.Actors;
using Sweep.Coordinator.Nodes;

namespace Sweep.Coordinator.Tests.Support;

/// <summary>Writes a real, started but unfinished sweep into a journal: a coordinator node starts it and leaves.</summary>
public static class StartedJournal
{
    public static async Task WriteAsync(TempJournal journal, string name = "started-sweep")
    {
        journal.Location.CreateIfMissing();
        var node = await CoordinatorNode.StartAsync(ClusterNodeOptions.Loopback(ClusterNodeConfig.CoordinatorRole), journal.Location,
            TestSweeps.TwoStages(name, firstStage: 3), new CoordinatorSettings(500, TimeSpan.FromSeconds(5)), TimeSpan.FromSeconds(20));
        try
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while ((await node.Proxy.Ask<SweepStatus>(new GetSweepStatus(), TimeSpan.FromSeconds(20))).Progress.Counts.Pending < 3)
            {
                if (DateTime.UtcNow > deadline)
                    throw new TimeoutException("the coordinator did not start the sweep");
                await Task.Delay(100);
            }
        }
        finally
        {
            await node.DisposeAsync();
        }
    }
}
