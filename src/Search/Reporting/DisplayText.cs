using System.Globalization;

namespace Sweep.Search.Reporting;

/// <summary>How durations and worker names read in tables and progress lines, the same everywhere.</summary>
public static class DisplayText
{
    /// <summary>1h05m, 3m07s or 42s.</summary>
    public static string Duration(TimeSpan span) =>
        span.TotalHours >= 1 ? string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalHours}h{span.Minutes:00}m") :
        span.TotalMinutes >= 1 ? string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalMinutes}m{span.Seconds:00}s") :
        string.Create(CultureInfo.InvariantCulture, $"{Math.Max(0, (int)Math.Round(span.TotalSeconds))}s");

    /// <summary>
    /// A worker named by an address URI ("akka.tcp://sweep@10.0.0.2:4053/user/worker") as its host:port, which is
    /// what tells workers apart; any other name unchanged, and no worker as "-".
    /// </summary>
    public static string Worker(string? worker) =>
        worker is null ? "-"
        : Uri.TryCreate(worker, UriKind.Absolute, out var uri) && uri.Port > 0 ? $"{uri.Host}:{uri.Port}"
        : worker;
}
