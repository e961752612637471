using Microsoft.Playwright;

namespace Sweep.Coordinator.Tests.Support;

/// <summary>
/// Debian's chromium driven by Playwright (its own browser download cannot run here): launched by executable path,
/// headless, with every background network feature off. SWEEP_CHROMIUM overrides the path.
/// </summary>
public sealed class Chromium : IAsyncDisposable
{
    private readonly IPlaywright _playwright;

    private Chromium(IPlaywright playwright, IBrowser browser)
    {
        _playwright = playwright;
        Browser = browser;
    }

    public IBrowser Browser { get; }

    public static async Task<Chromium> LaunchAsync()
    {
        var path = Environment.GetEnvironmentVariable("SWEEP_CHROMIUM") ?? "/usr/bin/chromium";
        if (!File.Exists(path))
            throw new FileNotFoundException($"chromium not found at {path}; install it with apt-get install -y chromium (.ci/run does) or set SWEEP_CHROMIUM");
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = path,
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"],
        });
        return new Chromium(playwright, browser);
    }

    /// <summary>A page that records every console error and uncaught script error into <paramref name="errors"/>.</summary>
    public async Task<IPage> NewPageAsync(List<string> errors, int width = 1280, int height = 900)
    {
        var page = await Browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
                lock (errors) errors.Add("console: " + message.Text);
        };
        page.PageError += (_, error) => { lock (errors) errors.Add("page error: " + error); };
        return page;
    }

    /// <summary>TestResults/browser/ at the repository root (git-ignored): where screenshots go.</summary>
    public static string ScreenshotFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Sweep.sln")))
            {
                var folder = Path.Combine(dir.FullName, "TestResults", "browser");
                Directory.CreateDirectory(folder);
                return folder;
            }
        }
        return Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "sweep-test-screenshots")).FullName;
    }

    public async ValueTask DisposeAsync()
    {
        await Browser.DisposeAsync();
        _playwright.Dispose();
    }
}
