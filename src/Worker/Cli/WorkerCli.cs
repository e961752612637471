using System.CommandLine;
using Sweep.Contract.Cli;
using Sweep.Worker.Isolation;

namespace Sweep.Worker.Cli;

/// <summary>
/// The `sweep` commands that run TorchSharp in this process: `train`, `worker`, and the checkpoint commands
/// `export-weights` and `evaluate` that the coordinator's `sweep export` and `sweep test` call.
/// </summary>
public static class WorkerCli
{
    public static RootCommand Build()
    {
        var root = new RootCommand("Sweep worker-side commands: train one trial in-process, or join a cluster as a worker.");
        root.Subcommands.Add(TrainCommand.Create());
        root.Subcommands.Add(WorkerCommand.Create());
        root.Subcommands.Add(WorkerCommand.CheckData());
        root.Subcommands.Add(TrialHostCommand.Create());
        root.Subcommands.Add(CheckpointCommands.ExportWeights());
        root.Subcommands.Add(CheckpointCommands.Evaluate());
        return root;
    }

    /// <summary>
    /// Parses and runs; a command-line error (unknown option, missing value) prints one line naming it
    /// and exits with 2 instead of the parser's default help dump.
    /// </summary>
    public static int Run(string[] args, TextWriter? output = null, TextWriter? error = null)
    {
        var configuration = new InvocationConfiguration
        {
            Output = output ?? Console.Out,
            Error = error ?? Console.Error,
        };
        var parseResult = Build().Parse(args);
        if (parseResult.Errors.Count > 0)
        {
            configuration.Error.WriteLine(CliRunner.ParseError(parseResult.CommandResult.Command.Name, parseResult.Errors[0].Message));
            return ExitCodes.BadInput;
        }
        // `worker` handles Ctrl-C and SIGTERM itself (it leaves the cluster, which may outlast the default grace period).
        if (parseResult.CommandResult.Command.Name == "worker")
            configuration.ProcessTerminationTimeout = null;
        return parseResult.Invoke(configuration);
    }
}
