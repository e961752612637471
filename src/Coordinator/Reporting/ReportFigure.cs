using ScottPlot;

namespace Sweep.Coordinator.Reporting;

/// <summary>
/// One figure of the report: <see cref="Key"/> names its PNG file (<c>{Key}.png</c>) and its dashboard URL. A figure
/// that cannot be drawn yet (too few trials) has no plot and a <see cref="Message"/> saying why.
/// </summary>
internal sealed record ReportFigure(string Key, string Title, string Caption, Plot? Plot, string? Message = null)
{
    public const int Width = 900;
    public const int Height = 500;

    public byte[] RenderPng() =>
        Plot?.GetImageBytes(Width, Height, ImageFormat.Png) ?? throw new InvalidOperationException($"figure '{Key}' has no plot: {Message}");
}
