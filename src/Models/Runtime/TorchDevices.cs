using TorchSharp;

namespace Sweep.Models.Runtime;

/// <summary>
/// The one place that decides which torch device a process trains on, so that every entry point
/// (trainer, worker slots, benchmarks) agrees and says so in its log.
/// </summary>
public static class TorchDevices
{
    /// <summary>
    /// Resolves a user's device request: null, empty or "auto" picks cuda when available, else cpu;
    /// "cpu", "cuda" or "cuda:N" are taken as given, failing clearly when CUDA is asked for but absent.
    /// </summary>
    public static torch.Device Resolve(string? request)
    {
        var wanted = (request ?? "auto").Trim().ToLowerInvariant();
        if (wanted is "" or "auto")
            return torch.cuda.is_available() ? torch.CUDA : torch.CPU;
        if (wanted == "cpu")
            return torch.CPU;
        if (wanted == "cuda" || wanted.StartsWith("cuda:", StringComparison.Ordinal))
        {
            if (!torch.cuda.is_available())
                throw new ArgumentException(
                    $"device '{request}' requested but CUDA is not available in this build or machine; use --device cpu, or build with -p:TorchBackend=cuda on a GPU node");
            var device = torch.device(wanted);
            if (device.index >= torch.cuda.device_count())
                throw new ArgumentException(
                    $"device '{request}' does not exist: this machine has {torch.cuda.device_count()} CUDA device(s)");
            return device;
        }
        throw new ArgumentException($"unknown device '{request}'; use auto, cpu, cuda or cuda:N");
    }

    /// <summary>Number of CUDA devices, 0 when the CPU build of libtorch is loaded.</summary>
    public static int CudaDeviceCount => torch.cuda.is_available() ? torch.cuda.device_count() : 0;

    /// <summary>A one-line description for logs, e.g. "device cpu (cuda available: False, torch threads: 2)".</summary>
    public static string Describe(torch.Device device) =>
        $"device {device} (cuda available: {torch.cuda.is_available()}, torch threads: {torch.get_num_threads()})";

    /// <summary>
    /// A name that is equal for two devices exactly when they are the same device ("cpu", "cuda:0", ...):
    /// plain "cuda" is CUDA's first device, as torch allocates on it.
    /// </summary>
    public static string Key(torch.Device device) => device.type switch
    {
        DeviceType.CPU => "cpu",
        DeviceType.CUDA => $"cuda:{Math.Max(device.index, 0)}",
        _ => device.index < 0 ? $"{device.type}".ToLowerInvariant() : $"{device.type}:{device.index}".ToLowerInvariant(),
    };
}
