using Akka.Actor;
using Akka.Configuration;
using Sweep.Contract.Cli;
using Sweep.Contract.Configuration;

namespace Sweep.Contract.Nodes;

/// <summary>
/// Builds the Akka configuration of a Sweep node: the command line's host, port, seed nodes and role, over the
/// caller's extra settings, over the user's configuration file and the embedded defaults (<see cref="SweepConfig"/>).
/// </summary>
public static class ClusterNodeConfig
{
    public const string SystemName = "sweep";
    public const string CoordinatorRole = "coordinator";
    public const string WorkerRole = "worker";

    /// <summary>The full node configuration: command-line values, then <paramref name="extra"/>, then <see cref="SweepConfig.Load"/>.</summary>
    public static Config Build(ClusterNodeOptions options, Config? extra = null)
    {
        var lines = new List<string>
        {
            $"akka.cluster.seed-nodes = {SweepConfig.QuoteList(options.SeedNodes.Select(NormalizeSeedNode))}",
            $"akka.cluster.roles = {SweepConfig.QuoteList([options.Role])}",
        };
        if (options.Host is { } host)
        {
            lines.Add($"akka.remote.dot-netty.tcp.hostname = {SweepConfig.Quote(host)}");
            lines.Add($"akka.remote.dot-netty.tcp.public-hostname = {SweepConfig.Quote(host)}");
        }
        if (options.Port is { } port)
            lines.Add($"akka.remote.dot-netty.tcp.port = {port}");
        var config = ConfigurationFactory.ParseString(string.Join("\n", lines));
        if (extra is not null)
            config = config.WithFallback(extra);
        return config.WithFallback(SweepConfig.Load());
    }

    /// <summary>
    /// Accepts a full address (akka.tcp://sweep@host:port) or the short form host:port, and returns the
    /// full address; anything else raises a <see cref="SweepUsageException"/> naming the value.
    /// </summary>
    public static string NormalizeSeedNode(string seedNode)
    {
        var text = seedNode.Trim();
        if (!text.Contains("://", StringComparison.Ordinal))
            text = $"akka.tcp://{SystemName}@{text}";
        try
        {
            var address = Address.Parse(text);
            if (address.Host is null || address.Port is null or <= 0)
                throw new UriFormatException("host and port are required");
            if (address.System != SystemName)
                throw new UriFormatException($"the actor system must be '{SystemName}'");
            return address.ToString();
        }
        catch (Exception e) when (e is UriFormatException or ArgumentException or FormatException)
        {
            throw new SweepUsageException(
                $"seed node '{seedNode}' is not a valid address ({e.Message}); use HOST:PORT or akka.tcp://{SystemName}@HOST:PORT");
        }
    }

    public static IReadOnlyList<string> ParseSeedNodes(string? commaSeparated) =>
        string.IsNullOrWhiteSpace(commaSeparated)
            ? []
            : commaSeparated.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(NormalizeSeedNode).ToList();

    /// <summary>Checks a --port value: 0 (any free port) to 65535.</summary>
    public static int CheckPort(int port) =>
        port is >= 0 and <= 65535 ? port : throw new SweepUsageException($"--port {port} is out of range; use 0..65535");

    /// <summary>--join-timeout in seconds when given, else the configuration's sweep.node.join-timeout.</summary>
    public static TimeSpan JoinTimeout(double? seconds) => seconds switch
    {
        null => NodeSettings.Create(SweepConfig.Load()).JoinTimeout,
        > 0 and < 1e6 => TimeSpan.FromSeconds(seconds.Value),
        _ => throw new SweepUsageException($"--join-timeout {seconds} must be positive (seconds)"),
    };
}
