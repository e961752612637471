using Xunit.Abstractions;

namespace Sweep.Coordinator.Tests.Support;

/// <summary>Stops the cluster nodes a test started, newest first, each within a bounded time.</summary>
public static class NodeShutdown
{
    public static async Task DisposeAllAsync(IEnumerable<IAsyncDisposable> nodes, ITestOutputHelper output)
    {
        foreach (var node in nodes.Reverse())
        {
            try
            {
                await node.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(15));
            }
            catch (Exception e) when (e is TimeoutException or ObjectDisposedException)
            {
                output.WriteLine($"node shutdown: {e.Message}");
            }
        }
    }
}
