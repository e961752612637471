using Sweep.Search.Specs;

namespace Sweep.Coordinator.Persistence;

/// <summary>
/// Whether two specs describe the same sweep. The data folder is where this machine keeps CIFAR-10 (it differs
/// between machines and with SWEEP_DATA), not part of what the sweep searches, so it is left out.
/// </summary>
public static class SweepIdentity
{
    public static string Of(SweepSpec spec) => (spec with { Data = spec.Data with { Directory = "" } }).Fingerprint;

    public static bool Same(SweepSpec a, SweepSpec b) => Of(a) == Of(b);
}
