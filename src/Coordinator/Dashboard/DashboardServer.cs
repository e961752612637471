using System.Net;
using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sweep.Contract.Cli;
using Sweep.Coordinator.Persistence;
using Sweep.Search.Engine;
using Sweep.Search.Progress;

namespace Sweep.Coordinator.Dashboard;

/// <summary>
/// The live dashboard: a read-only ASP.NET Core app (GET only) serving one page, its script and style from the
/// assembly, the sweep's view as JSON (<c>/api/state</c>) and as server-sent events (<c>/api/events</c>), and the
/// report's figures as PNG (<c>/plots/{key}.png</c>). Nothing is loaded from elsewhere, so it works offline.
/// </summary>
internal sealed class DashboardServer : IAsyncDisposable
{
    /// <summary>How often the sweep's journal is re-read.</summary>
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);

    private readonly WebApplication _app;
    private readonly DashboardFeed _feed;

    private DashboardServer(WebApplication app, DashboardFeed feed, Uri url)
    {
        _app = app;
        _feed = feed;
        Url = url;
    }

    /// <summary>The address the dashboard answers on (with the real port when 0 was asked for).</summary>
    public Uri Url { get; }

    /// <summary>Serves the sweep stored in <paramref name="journal"/>; a port in use is a <see cref="SweepUsageException"/>.</summary>
    public static Task<DashboardServer> StartAsync(DashboardEndpoint endpoint, JournalLocation journal) =>
        StartAsync(endpoint, new DashboardFeed(_ => JournalReader.ReadStateAsync(journal, ReadTimeout), RefreshInterval, () => ChangeToken(journal)));

    /// <summary>
    /// A SQLite journal changes only when its file or write-ahead log does, so the (costly) replay is skipped while their
    /// sizes and times stay the same; other databases are always re-read.
    /// </summary>
    private static string? ChangeToken(JournalLocation journal)
    {
        if (journal.SqliteFile is not { } file) return null;
        static string Stamp(string path) => File.Exists(path) ? $"{new FileInfo(path).Length}@{File.GetLastWriteTimeUtc(path).Ticks}" : "-";
        return Stamp(file) + "|" + Stamp(file + "-wal");
    }

    internal static async Task<DashboardServer> StartAsync(DashboardEndpoint endpoint, DashboardFeed feed)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(endpoint.Address, endpoint.Port));
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(3));
        var app = builder.Build();
        Map(app, feed);
        try
        {
            await app.StartAsync();
        }
        catch (IOException e)
        {
            await feed.DisposeAsync();
            await app.DisposeAsync();
            throw new SweepUsageException(e.InnerException is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.AddressNotAvailable }
                ? $"cannot serve the dashboard on {endpoint.Display}: that address does not belong to this machine; pass one of its addresses, or 127.0.0.1"
                : $"cannot serve the dashboard on {endpoint.Display}: the port is already in use; pick another port (or stop what is using it)");
        }
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var port = new Uri(bound).Port;
        var host = endpoint.Address.Equals(IPAddress.Any) || endpoint.Address.Equals(IPAddress.IPv6Any) ? "127.0.0.1" : endpoint.Address.ToString();
        var url = new UriBuilder("http", host, port, "/").Uri;
        return new DashboardServer(app, feed, url);
    }

    private static void Map(WebApplication app, DashboardFeed feed)
    {
        app.MapGet("/", () => Asset("index.html", "text/html; charset=utf-8"));
        app.MapGet("/dashboard.js", () => Asset("dashboard.js", "text/javascript; charset=utf-8"));
        app.MapGet("/dashboard.css", () => Asset("dashboard.css", "text/css; charset=utf-8"));
        app.MapGet("/api/state", () => Results.Text(feed.Current.Json, "application/json; charset=utf-8"));
        app.MapGet("/api/events", (HttpContext context) => StreamAsync(context, feed));
        app.MapGet("/plots/{key}.png", (string key) =>
            feed.RenderFigure(key) is { } png ? Results.File(png, "image/png") : Results.NotFound());
    }

    private static IResult Asset(string name, string contentType)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Sweep.Dashboard." + name)
            ?? throw new InvalidOperationException($"the dashboard asset {name} is not embedded in the assembly");
        using var reader = new StreamReader(stream);
        return Results.Text(reader.ReadToEnd(), contentType);
    }

    /// <summary>Server-sent events: the current view at once, then each newer one; a comment line keeps idle proxies open.</summary>
    private static async Task StreamAsync(HttpContext context, DashboardFeed feed)
    {
        var stopping = context.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
        var token = linked.Token;
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        var sent = -1L;
        var quiet = TimeSpan.Zero;
        try
        {
            while (!token.IsCancellationRequested)
            {
                var snapshot = feed.Current;
                if (snapshot.Version != sent)
                {
                    await context.Response.WriteAsync($"data: {snapshot.Json}\n\n", token);
                    await context.Response.Body.FlushAsync(token);
                    sent = snapshot.Version;
                    quiet = TimeSpan.Zero;
                }
                else if (quiet >= KeepAlive)
                {
                    await context.Response.WriteAsync(": keep-alive\n\n", token);
                    await context.Response.Body.FlushAsync(token);
                    quiet = TimeSpan.Zero;
                }
                await Task.Delay(250, token);
                quiet += TimeSpan.FromMilliseconds(250);
            }
        }
        catch (OperationCanceledException)
        {
            // the browser went away or the dashboard is stopping
        }
    }

    /// <summary>
    /// At the end of a `run`/`coordinator` session: publishes the sweep's final state and gives open pages a moment to
    /// receive it before the process (and with it the dashboard) goes away.
    /// </summary>
    public async Task PublishFinalStateAsync()
    {
        await _feed.RefreshAsync();
        await Task.Delay(FinalLinger);
    }

    /// <summary>Long enough for the event streams (which look for news every 250 ms) to send the final view.</summary>
    private static readonly TimeSpan FinalLinger = TimeSpan.FromSeconds(1.5);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        await _feed.DisposeAsync();
    }
}
