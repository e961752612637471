using Akka.Configuration;

namespace Sweep.Contract.Configuration;

/// <summary>
/// The <c>sweep.node</c> section: how every Sweep node starts. Created from config (defaults in reference.conf),
/// validated in the constructor; change a copy with the With... methods.
/// </summary>
public sealed class NodeSettings
{
    public NodeSettings(TimeSpan joinTimeout, string logFile)
    {
        if (joinTimeout <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(joinTimeout), joinTimeout, "sweep.node.join-timeout must be positive");
        if (string.IsNullOrWhiteSpace(logFile))
            throw new ArgumentException("sweep.node.log-file must name a file", nameof(logFile));
        JoinTimeout = joinTimeout;
        LogFile = logFile;
    }

    /// <summary>How long a node waits to become an Up cluster member.</summary>
    public TimeSpan JoinTimeout { get; }

    /// <summary>The file the file logger appends to.</summary>
    public string LogFile { get; }

    /// <summary>From a whole node configuration (its <c>sweep.node</c> section).</summary>
    public static NodeSettings Create(Config config)
    {
        var section = config.GetConfig("sweep.node") ?? throw new ArgumentException("the configuration has no sweep.node section", nameof(config));
        return new NodeSettings(section.GetTimeSpan("join-timeout", null, allowInfinite: false), section.GetString("log-file"));
    }

    public NodeSettings WithJoinTimeout(TimeSpan joinTimeout) => new(joinTimeout, LogFile);

    public NodeSettings WithLogFile(string logFile) => new(JoinTimeout, logFile);
}
