using System.Globalization;
using System.Net;
using Sweep.Contract.Cli;

namespace Sweep.Coordinator.Dashboard;

/// <summary>Where the dashboard listens: loopback unless a host is named, since it shows the sweep to anyone who can reach it.</summary>
internal sealed record DashboardEndpoint(IPAddress Address, int Port)
{
    public const int DefaultPort = 8050;

    public static DashboardEndpoint Loopback(int port) => new(IPAddress.Loopback, CheckPort(port, "--port"));

    /// <summary>Parses <c>PORT</c>, <c>HOST:PORT</c> or <c>[IPv6]:PORT</c>; HOST is an IP address or <c>localhost</c>.</summary>
    public static DashboardEndpoint Parse(string text, string flag)
    {
        var trimmed = text.Trim();
        var colon = trimmed.LastIndexOf(':');
        var hostText = colon < 0 ? null : trimmed[..colon].Trim('[', ']');
        var portText = colon < 0 ? trimmed : trimmed[(colon + 1)..];
        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port))
            throw new SweepUsageException($"{flag} '{text}' is not [HOST:]PORT; pass e.g. {flag} {DefaultPort} or {flag} 127.0.0.1:{DefaultPort}");
        if (hostText is null) return new(IPAddress.Loopback, CheckPort(port, flag));
        var address = hostText.Equals("localhost", StringComparison.OrdinalIgnoreCase) ? IPAddress.Loopback
            : IPAddress.TryParse(hostText, out var parsed) ? parsed
            : throw new SweepUsageException($"{flag} host '{hostText}' is not an IP address; pass an address of this machine such as 127.0.0.1 or 0.0.0.0");
        return new(address, CheckPort(port, flag));
    }

    private static int CheckPort(int port, string flag) =>
        port is >= 0 and <= 65535 ? port : throw new SweepUsageException($"{flag} port {port} is out of range; use 1..65535 (0 picks a free one)");

    public string Display => Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{Address}]:{Port}" : $"{Address}:{Port}";
}
