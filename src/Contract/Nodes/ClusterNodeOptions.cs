namespace Sweep.Contract.Nodes;

/// <summary>
/// Where one Sweep node listens, which cluster it joins and which role it plays, as the command line gives them.
/// A null <paramref name="Host"/> or <paramref name="Port"/> keeps the configuration's value (reference.conf: loopback, any free port).
/// </summary>
public sealed record ClusterNodeOptions(string? Host, int? Port, IReadOnlyList<string> SeedNodes, string Role)
{
    /// <summary>A node on this machine only (the configuration's loopback address and a free port).</summary>
    public static ClusterNodeOptions Loopback(string role, params string[] seedNodes) => new(null, null, seedNodes, role);
}
