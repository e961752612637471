using System.CommandLine;

namespace Sweep.Coordinator.Cli;

/// <summary>The user-facing `sweep` commands that run on the coordinator side (no TorchSharp here).</summary>
public static class SweepCli
{
    public static RootCommand Build()
    {
        var root = new RootCommand("Sweep: distributed coarse-to-fine hyperparameter search on CIFAR-10.");
        root.Subcommands.Add(ClusterCommands.Run());
        root.Subcommands.Add(ClusterCommands.Resume());
        root.Subcommands.Add(ClusterCommands.Coordinator());
        root.Subcommands.Add(JournalCommands.Status());
        root.Subcommands.Add(JournalCommands.Leaderboard());
        root.Subcommands.Add(PlanCommand.Build());
        root.Subcommands.Add(Reporting.ReportCommand.Build());
        root.Subcommands.Add(Dashboard.DashboardCommand.Build());
        root.Subcommands.Add(ResultCommands.Export());
        root.Subcommands.Add(ResultCommands.Test());
        return root;
    }
}
