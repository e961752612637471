using System.CommandLine;
using Sweep.Contract.Cli;
using Sweep.Coordinator.Cli;

var parseResult = SweepCli.Build().Parse(args);
if (parseResult.Errors.Count > 0)
{
    // One line naming the problem instead of the parser's help dump.
    Console.Error.WriteLine(CliRunner.ParseError(parseResult.CommandResult.Command.Name, parseResult.Errors[0].Message));
    return ExitCodes.BadInput;
}
// The run/resume/coordinator commands handle Ctrl-C and SIGTERM themselves (workers and node leave cleanly,
// which takes longer than System.CommandLine's default grace period before it kills the process).
return await parseResult.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
