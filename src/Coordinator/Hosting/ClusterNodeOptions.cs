using Akka.Actor;
using Akka.Configuration;

namespace Sweep.Coordinator.Hosting;

/// <summary>Where one Sweep node listens, which cluster it joins and which role it plays.</summary>
public sealed record ClusterNodeOptions(string Host, int Port, IReadOnlyList<string> SeedNodes, string Role)
{
    public static ClusterNodeOptions Loopback(string role, params string[] seedNodes) =>
        new("127.0.0.1", 0, seedNodes, role);
}

/// <summary>
/// Builds the Akka configuration of a Sweep node from hocon/cluster.conf (copied next to the executables,
/// or the file named by SWEEP_CLUSTER_CONF) with the command line's host, port, seed nodes and role on top.
/// </summary>
public static class ClusterNodeConfig
{
    public const string SystemName = "sweep";
    public const string CoordinatorRole = "coordinator";
    public const string WorkerRole = "worker";
    public const string ConfigFileName = "cluster.conf";
    public const string ConfigFileVariable = "SWEEP_CLUSTER_CONF";

    /// <summary>The cluster.conf this process uses: SWEEP_CLUSTER_CONF when set, else the copy beside the program.</summary>
    public static string ConfigFilePath()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable(ConfigFileVariable);
        return string.IsNullOrWhiteSpace(fromEnvironment)
            ? Path.Combine(AppContext.BaseDirectory, ConfigFileName)
            : fromEnvironment;
    }

    /// <summary>Parses cluster.conf; a missing or malformed file raises a <see cref="SweepUsageException"/> naming it.</summary>
    public static Config LoadBase()
    {
        var path = ConfigFilePath();
        if (!File.Exists(path))
            throw new SweepUsageException(
                $"cluster configuration '{path}' not found; rebuild (it is copied from hocon/cluster.conf) or set {ConfigFileVariable} to a readable file");
        try
        {
            return ConfigurationFactory.ParseString(File.ReadAllText(path));
        }
        catch (Exception e) when (e is ConfigurationException or FormatException)
        {
            throw new SweepUsageException($"cluster configuration '{path}' is not valid HOCON ({FirstLine(e.Message)}); fix the file or point {ConfigFileVariable} at a valid copy");
        }
    }

    /// <summary>The full node configuration: command-line values, then <paramref name="extra"/>, then cluster.conf.</summary>
    public static Config Build(ClusterNodeOptions options, Config? extra = null)
    {
        var seeds = string.Join(", ", options.SeedNodes.Select(s => Quote(NormalizeSeedNode(s))));
        var overrides = ConfigurationFactory.ParseString($$"""
            akka.remote.dot-netty.tcp.hostname = {{Quote(options.Host)}}
            akka.remote.dot-netty.tcp.public-hostname = {{Quote(options.Host)}}
            akka.remote.dot-netty.tcp.port = {{options.Port}}
            akka.cluster.seed-nodes = [{{seeds}}]
            akka.cluster.roles = [{{Quote(options.Role)}}]
            """);
        var config = overrides;
        if (extra is not null)
            config = config.WithFallback(extra);
        return config.WithFallback(LoadBase());
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

    private static string Quote(string value) => "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";

    private static string FirstLine(string text) => text.Split('\n')[0].Trim();
}
