using System.CommandLine;
using Sweep.Coordinator.Cli;
using Sweep.Contract.Cli;
using Sweep.Coordinator.Persistence;

namespace Sweep.Coordinator.Dashboard;

/// <summary>
/// `dashboard`: serves the live dashboard of any sweep from its journal, running or finished, without joining a
/// cluster; and the <c>--dashboard [HOST:]PORT</c> option that `run` and `coordinator` take to serve it beside the sweep.
/// </summary>
internal static class DashboardCommand
{
    public static Command Build()
    {
        var journal = ClusterCommands.JournalOption("the sweep's journal, e.g. runs/quickstart.db (running or finished)");
        journal.Required = true;
        var port = new Option<int>("--port") { Description = $"port to serve on (default {DashboardEndpoint.DefaultPort}; 0 picks a free one)", DefaultValueFactory = _ => DashboardEndpoint.DefaultPort };
        var host = new Option<string?>("--host") { Description = "address to listen on (default 127.0.0.1: this machine only)" };
        var command = new Command("dashboard", "serve a live, read-only web dashboard of a sweep from its journal (no cluster needed)") { journal, port, host };
        command.SetAction((result, _) => CliRunner.Guard(async () =>
        {
            var location = JournalLocation.Parse(result.GetValue(journal)!);
            location.CheckReadable();
            var endpoint = result.GetValue(host) is { } h
                ? DashboardEndpoint.Parse($"{h}:{result.GetValue(port)}", "--host/--port")
                : DashboardEndpoint.Loopback(result.GetValue(port));
            using var stop = new StopSignals();
            await using var server = await DashboardServer.StartAsync(endpoint, location);
            Console.WriteLine($"dashboard: serving {server.Url} for {location.Display} (read-only; Ctrl-C stops)");
            try
            {
                await Task.Delay(Timeout.Infinite, stop.Token);
            }
            catch (OperationCanceledException)
            {
                // Ctrl-C or SIGTERM
            }
            return ExitCodes.Success;
        }));
        return command;
    }

    /// <summary>The <c>--dashboard [HOST:]PORT</c> option of `run` and `coordinator`.</summary>
    public static Option<string?> Option() =>
        new("--dashboard") { Description = $"also serve the live, read-only dashboard on [HOST:]PORT (HOST defaults to 127.0.0.1), e.g. --dashboard {DashboardEndpoint.DefaultPort}" };

    /// <summary>
    /// Runs a `run`/`coordinator` session, with the dashboard beside it when <paramref name="option"/> is given: started
    /// before the session (a port in use stops the command before any work), given the final state when it ends.
    /// </summary>
    public static async Task<int> WithDashboardAsync(string? option, JournalLocation journal, Func<Task<int>> session)
    {
        if (option is null) return await session();
        await using var server = await DashboardServer.StartAsync(DashboardEndpoint.Parse(option, "--dashboard"), journal);
        Console.WriteLine($"dashboard: serving {server.Url} (read-only)");
        var exitCode = await session();
        await server.PublishFinalStateAsync();
        return exitCode;
    }
}
