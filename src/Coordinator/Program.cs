using System.CommandLine;
using Sweep.Coordinator.Cli;

var parseResult = SweepCli.Build().Parse(args);
if (parseResult.Errors.Count > 0)
{
    // One line naming the problem instead of the parser's help dump.
    var command = parseResult.CommandResult.Command.Name;
    Console.Error.WriteLine($"sweep {command}: {parseResult.Errors[0].Message.ReplaceLineEndings(" ")} (see ./sweep {command} --help)");
    return CliRunner.BadInput;
}
// The run/resume/coordinator commands handle Ctrl-C and SIGTERM themselves (workers and node leave cleanly,
// which takes longer than System.CommandLine's default grace period before it kills the process).
return await parseResult.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
