using Akka.Configuration;
using Sweep.Contract.Cli;

namespace Sweep.Contract.Configuration;

/// <summary>
/// Where a Sweep node's configuration comes from: the embedded reference.conf holds every default; a user file
/// (SWEEP_CLUSTER_CONF, else a cluster.conf beside the executable, when present) overrides any of them.
/// </summary>
public static class SweepConfig
{
    public const string ConfigFileName = "cluster.conf";
    public const string ConfigFileVariable = "SWEEP_CLUSTER_CONF";
    private const string ReferenceResource = "Sweep.Contract.reference.conf";

    /// <summary>Every default, as documented in src/Contract/reference.conf.</summary>
    public static Config Reference() => ConfigurationFactory.FromResource(ReferenceResource, typeof(SweepConfig).Assembly);

    /// <summary>
    /// The user's file with <see cref="Reference"/> under it. SWEEP_CLUSTER_CONF must name a readable, valid file;
    /// the cluster.conf beside the executable is optional. Problems raise a <see cref="SweepUsageException"/> naming the file.
    /// </summary>
    public static Config Load()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable(ConfigFileVariable);
        string path;
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            path = fromEnvironment;
            if (!File.Exists(path))
                throw new SweepUsageException($"cluster configuration '{path}' (from {ConfigFileVariable}) not found; point {ConfigFileVariable} at a readable file or unset it to use the defaults");
        }
        else
        {
            path = Path.Combine(AppContext.BaseDirectory, ConfigFileName);
            if (!File.Exists(path))
                return Reference();
        }
        try
        {
            return ConfigurationFactory.ParseString(File.ReadAllText(path)).WithFallback(Reference());
        }
        catch (Exception e) when (e is ConfigurationException or FormatException)
        {
            throw new SweepUsageException($"cluster configuration '{path}' is not valid HOCON ({e.Message.Split('\n')[0].Trim()}); fix the file or point {ConfigFileVariable} at a valid copy");
        }
    }

    /// <summary>
    /// <paramref name="value"/> as a HOCON quoted string, so that a value from the command line or a connection string
    /// can never end the string and inject keys. The one place Sweep writes HOCON text.
    /// </summary>
    public static string Quote(string value) =>
        "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n").Replace("\r", "\\r").Replace("\t", "\\t") + "\"";

    /// <summary>A HOCON list of quoted strings.</summary>
    public static string QuoteList(IEnumerable<string> values) => "[" + string.Join(", ", values.Select(Quote)) + "]";
}
