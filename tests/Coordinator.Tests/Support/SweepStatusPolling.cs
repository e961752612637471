using System.Diagnostics;
using Akka.Actor;
using Sweep.Contract.Protocol;
using Sweep.Coordinator.Nodes;

namespace Sweep.Coordinator.Tests.Support;

/// <summary>Polls a coordinator node's status until a condition holds, within a bounded time.</summary>
public static class SweepStatusPolling
{
    public static async Task<SweepStatus> WaitFor(CoordinatorNode node, Func<SweepStatus, bool> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        SweepStatus? last = null;
        while (clock.Elapsed < timeout)
        {
            try
            {
                last = await node.Proxy.Ask<SweepStatus>(new GetSweepStatus(), TimeSpan.FromSeconds(3));
                if (condition(last))
                    return last;
            }
            catch (AskTimeoutException)
            {
                // The singleton is still starting (or moving); ask again.
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"condition not met within {timeout.TotalSeconds} s; last status: {(last is null ? "none" : last.Progress.Counts.ToString())}");
    }
}
