namespace Sweep.Coordinator.Tests.Support;

/// <summary>
/// A network namespace joined to this machine by a veth pair (`ip netns`, `ip link`; needs root), on a private /24:
/// this side is .1, the namespace's side .2. <see cref="Partition"/> takes this side's link down, so that nothing
/// passes in either direction, until <see cref="Heal"/>. Deleted (with the pair) on dispose.
/// </summary>
public sealed class NetworkNamespace : IDisposable
{
    private readonly string _hostLink;

    private NetworkNamespace(string id, int subnet)
    {
        Name = "sweep-" + id;
        _hostLink = "swp" + id + "h";
        HostAddress = $"10.213.{subnet}.1";
        NamespaceAddress = $"10.213.{subnet}.2";
    }

    /// <summary>Why namespaces cannot be made here (not root, no iproute2, a container without the capability); null when they can.</summary>
    public static string? Unavailable { get; } = Probe();

    public string Name { get; }
    public string HostAddress { get; }
    public string NamespaceAddress { get; }

    public static NetworkNamespace Create()
    {
        var id = Guid.NewGuid().ToString("N")[..8];
        var created = new NetworkNamespace(id, Random.Shared.Next(1, 255));
        var peer = "swp" + id + "n";
        try
        {
            Ip("netns", "add", created.Name);
            Ip("link", "add", created._hostLink, "type", "veth", "peer", "name", peer);
            Ip("link", "set", peer, "netns", created.Name);
            Ip("addr", "add", created.HostAddress + "/24", "dev", created._hostLink);
            Ip("link", "set", created._hostLink, "up");
            Ip("netns", "exec", created.Name, "ip", "addr", "add", created.NamespaceAddress + "/24", "dev", peer);
            Ip("netns", "exec", created.Name, "ip", "link", "set", peer, "up");
            Ip("netns", "exec", created.Name, "ip", "link", "set", "lo", "up");
            return created;
        }
        catch
        {
            created.Dispose();
            throw;
        }
    }

    /// <summary>Cuts the namespace off: every packet between it and this side is dropped.</summary>
    public void Partition() => Ip("link", "set", _hostLink, "down");

    public void Heal() => Ip("link", "set", _hostLink, "up");

    public void Dispose()
    {
        SystemCommand.Run("ip", "link", "del", _hostLink);
        SystemCommand.Run("ip", "netns", "del", Name);
    }

    private static string? Probe()
    {
        try
        {
            using var probe = Create();
            return null;
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return $"network namespaces cannot be made here ({e.Message.Split('\n')[0]}); the partition test needs root and iproute2";
        }
    }

    private static void Ip(params string[] args)
    {
        var (code, output) = SystemCommand.Run("ip", args);
        if (code != 0)
            throw new InvalidOperationException($"`ip {string.Join(' ', args)}` failed ({code}): {output.Trim()}");
    }
}

/// <summary>A fact that is skipped, with the reason, where <see cref="NetworkNamespace"/> cannot make namespaces.</summary>
public sealed class NetworkNamespaceFactAttribute : FactAttribute
{
    public NetworkNamespaceFactAttribute()
    {
        if (NetworkNamespace.Unavailable is { } reason)
            Skip = reason;
    }
}
