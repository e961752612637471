using System.CommandLine;
using System.Text;
using Sweep.Contract.Cli;
using Sweep.Worker.Trials;

namespace Sweep.Worker.Isolation;

/// <summary>
/// `trial-host` (hidden): the child process a worker starts for each slot (<see cref="SlotProcess"/>). It loads
/// CIFAR-10 once and serves <see cref="TrialHost"/> on stdin/stdout; everything else it prints goes to stderr,
/// which the worker copies into its own log.
/// </summary>
public static class TrialHostCommand
{
    public const string Name = "trial-host";

    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "the CIFAR-10 folder holding the batches", Required = true };
        var protocol = new Option<int>("--protocol") { Description = "the protocol version the worker speaks", Required = true };
        var command = new Command(Name, "serve one worker slot's trials on stdin/stdout (started by the worker)") { data, protocol };
        command.Hidden = true;
        command.SetAction((result, _) =>
        {
            // stdout carries only protocol lines: anything else that prints (the Solver, libraries) goes to stderr.
            var protocolOut = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = false };
            Console.SetOut(Console.Error);
            var input = new StreamReader(Console.OpenStandardInput(), new UTF8Encoding(false));
            if (result.GetValue(protocol) != TrialHostProtocol.Version)
                return Task.FromResult(Refuse(protocolOut,
                    $"the worker speaks trial-process protocol {result.GetValue(protocol)}, this program {TrialHostProtocol.Version}; use one build for both"));
            TorchTrialRunner runner;
            try
            {
                runner = TorchTrialRunner.Create(result.GetValue(data)!);
            }
            catch (SweepUsageException e)
            {
                return Task.FromResult(Refuse(protocolOut, e.Message));
            }
            return Task.FromResult(new TrialHost(runner, input, protocolOut, Console.Error).Serve());
        });
        return command;
    }

    private static int Refuse(TextWriter protocolOut, string error)
    {
        protocolOut.WriteLine(TrialHostProtocol.Encode(new HostStartFailed(error)));
        protocolOut.Flush();
        return ExitCodes.BadInput;
    }
}
