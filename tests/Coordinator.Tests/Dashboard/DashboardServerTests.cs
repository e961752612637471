using System.Net;
using System.Text.Json;
using Sweep.Coordinator.Dashboard;
using Sweep.Contract.Cli;
using Sweep.Coordinator.Tests.Reporting;

namespace Sweep.Coordinator.Tests.Dashboard;

/// <summary>The dashboard app in process over real HTTP: its page and assets, the JSON view, the event stream, the plots, and nothing but GET.</summary>
public sealed class DashboardServerTests
{
    private static async Task<(DashboardServer Server, HttpClient Http)> StartAsync()
    {
        var state = ReportSweeps.Run(ReportSweeps.Spec());
        var feed = new DashboardFeed(_ => Task.FromResult(state), TimeSpan.FromMilliseconds(200));
        var server = await DashboardServer.StartAsync(DashboardEndpoint.Loopback(0), feed);
        var http = new HttpClient { BaseAddress = server.Url, Timeout = TimeSpan.FromSeconds(30) };
        // The feed publishes its first read in the background.
        for (var i = 0; i < 100 && !(await http.GetStringAsync("/api/state")).Contains("\"figures\""); i++) await Task.Delay(100);
        return (server, http);
    }

    [Fact]
    public async Task Serves_the_page_the_view_the_plots_and_the_event_stream_read_only()
    {
        var (server, http) = await StartAsync();
        await using var _ = server;
        using var __ = http;
        Assert.Equal("127.0.0.1", server.Url.Host);

        var page = await http.GetStringAsync("/");
        Assert.Contains("<script src=\"/dashboard.js\"", page);
        Assert.Contains("EventSource", await http.GetStringAsync("/dashboard.js"));
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/dashboard.css")).StatusCode);

        using var view = JsonDocument.Parse(await http.GetStringAsync("/api/state"));
        var root = view.RootElement.GetProperty("view");
        Assert.True(root.GetProperty("ready").GetBoolean());
        Assert.True(root.GetProperty("completed").GetBoolean());
        Assert.Equal(14, root.GetProperty("leaderboard").GetArrayLength());
        var figures = root.GetProperty("figures").EnumerateArray().ToList();
        Assert.Contains(figures, f => f.GetProperty("key").GetString() == "worker-timeline");

        foreach (var key in figures.Where(f => f.GetProperty("available").GetBoolean()).Select(f => f.GetProperty("key").GetString()))
        {
            using var png = await http.GetAsync($"/plots/{key}.png");
            Assert.Equal(HttpStatusCode.OK, png.StatusCode);
            Assert.Equal("image/png", png.Content.Headers.ContentType!.MediaType);
            Assert.True((await png.Content.ReadAsByteArrayAsync()).Length > 10_000);
        }
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/plots/no-such-plot.png")).StatusCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await http.PostAsync("/api/state", new StringContent("{}"))).StatusCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await http.DeleteAsync("/")).StatusCode);

        using var events = await http.GetAsync("/api/events", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", events.Content.Headers.ContentType!.MediaType);
        using var reader = new StreamReader(await events.Content.ReadAsStreamAsync());
        var first = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.StartsWith("data: {\"version\":", first);
    }

    [Theory]
    [InlineData("8050", "127.0.0.1:8050")]
    [InlineData("0.0.0.0:9000", "0.0.0.0:9000")]
    [InlineData("localhost:9001", "127.0.0.1:9001")]
    [InlineData("[::1]:9002", "[::1]:9002")]
    public void Parses_port_or_host_and_port_loopback_by_default(string text, string expected) =>
        Assert.Equal(expected, DashboardEndpoint.Parse(text, "--dashboard").Display);

    [Theory]
    [InlineData("web", "is not [HOST:]PORT")]
    [InlineData("example.org:80", "is not an IP address")]
    [InlineData("70000", "out of range")]
    public void Rejects_a_bad_endpoint_in_one_line(string text, string expected)
    {
        var error = Assert.Throws<SweepUsageException>(() => DashboardEndpoint.Parse(text, "--dashboard"));
        Assert.Contains(expected, error.Message);
    }
}
