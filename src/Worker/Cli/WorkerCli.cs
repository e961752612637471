using System.CommandLine;

namespace Sweep.Worker.Cli;

/// <summary>The `sweep` commands that run TorchSharp in this process: `train` and `worker`.</summary>
public static class WorkerCli
{
    public static RootCommand Build()
    {
        var root = new RootCommand("Sweep worker-side commands: train one trial in-process, or join a cluster as a worker.");
        root.Subcommands.Add(WorkerCommand.Create());
        return root;
    }
}
