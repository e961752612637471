using Sweep.Contract.Cli;

namespace Sweep.Coordinator.Reporting;

/// <summary>Writes a report folder: <c>report.html</c> (self-contained) and every drawable figure as <c>{key}.png</c>.</summary>
internal static class ReportWriter
{
    public const string HtmlFileName = "report.html";

    /// <summary>Writes the report and returns the paths of the page and of the PNG files.</summary>
    public static (string Html, IReadOnlyList<string> Pngs) Write(SweepFacts facts, string folder)
    {
        var figures = facts.HasFinishedTrials ? ReportPlots.All(facts) : [];
        var rendered = figures.Select(f => (Figure: f, Png: f.Plot is null ? null : f.RenderPng())).ToList();
        var html = ReportHtml.Build(facts, rendered);
        try
        {
            Directory.CreateDirectory(folder);
            var pngs = new List<string>();
            foreach (var (figure, png) in rendered.Where(r => r.Png is not null))
            {
                var path = Path.Combine(folder, figure.Key + ".png");
                File.WriteAllBytes(path, png!);
                pngs.Add(path);
            }
            var page = Path.Combine(folder, HtmlFileName);
            File.WriteAllText(page, html);
            return (page, pngs);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SweepUsageException($"cannot write the report to '{folder}' ({e.Message.Split('\n')[0].TrimEnd('.')}); pass --out a folder you can write");
        }
    }
}
