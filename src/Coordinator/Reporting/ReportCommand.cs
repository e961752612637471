using System.CommandLine;
using Sweep.Coordinator.Cli;
using Sweep.Contract.Cli;
using Sweep.Coordinator.Persistence;
using Sweep.Search.Engine;
using Sweep.Search.Progress;

namespace Sweep.Coordinator.Reporting;

/// <summary>`report`: writes a sweep's HTML report and PNG plots from its journal (during or after the sweep).</summary>
internal static class ReportCommand
{
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(60);

    public static Command Build()
    {
        var journal = ClusterCommands.JournalOption("the sweep's journal, e.g. runs/quickstart.db");
        journal.Required = true;
        var output = new Option<string?>("--out") { Description = "folder for report.html and the PNG plots (default: <journal folder>/<sweep name>-report)" };
        var command = new Command("report", "write an HTML report with plots (and the plots as PNG files) from a sweep's journal") { journal, output };
        command.SetAction((result, _) => CliRunner.Guard(async () =>
        {
            var location = JournalLocation.Parse(result.GetValue(journal)!);
            location.CheckReadable();
            var state = await JournalReader.ReadStateAsync(location, ReadTimeout);
            var facts = SweepFacts.Of(state, DateTimeOffset.UtcNow);
            var folder = result.GetValue(output) ?? DefaultFolder(location, state);
            var (html, pngs) = ReportWriter.Write(facts, folder);
            if (!facts.HasFinishedTrials)
            {
                var message = ReportHtml.NoTrialsMessage(facts);
                await Console.Error.WriteLineAsync($"sweep: {char.ToLowerInvariant(message[0])}{message[1..].TrimEnd('.')} (wrote a page saying so: {html})");
            }
            Console.WriteLine($"report: wrote {html} and {pngs.Count} PNG plot(s) in {Path.GetDirectoryName(html)}");
            return ExitCodes.Success;
        }));
        return command;
    }

    private static string DefaultFolder(JournalLocation location, SweepState state)
    {
        var name = state.Spec?.Name ?? "sweep";
        return location.SqliteFile is { } file
            ? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(file))!, name + "-report")
            : Path.Combine("runs", name + "-report");
    }
}
