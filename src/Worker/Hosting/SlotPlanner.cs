using Sweep.Contract.Cli;
using Sweep.Worker.Trials;

namespace Sweep.Worker.Hosting;

/// <summary>
/// Decides a worker's slots: one per CUDA device by default (slot i on cuda:i), or one on CPU; a requested
/// device pins every slot to it. CPU slots share the cores evenly (threads = cores / slots).
/// </summary>
public static class SlotPlanner
{
    /// <param name="slots">--slots, or null for the default.</param>
    /// <param name="device">--device: null/auto, cpu, cuda or cuda:i.</param>
    /// <param name="threads">--threads, or null for cores / slots.</param>
    public static IReadOnlyList<TrialSlot> Plan(int? slots, string? device, int? threads, int cores, int cudaDevices, string checkpointDirectory)
    {
        var wanted = (device ?? "auto").Trim().ToLowerInvariant();
        if (wanted == "auto")
            wanted = cudaDevices > 0 ? "cuda" : "cpu";
        if (slots is < 1 or > 256)
            throw new SweepUsageException($"--slots {slots} is out of range; use 1..256");
        if (threads is < 1)
            throw new SweepUsageException($"--threads {threads} must be at least 1");

        Func<int, string> deviceOf;
        int count;
        if (wanted == "cpu")
        {
            count = slots ?? 1;
            deviceOf = _ => "cpu";
        }
        else if (wanted == "cuda")
        {
            if (cudaDevices == 0)
                throw new SweepUsageException("--device cuda requested but no CUDA device is available; use --device cpu, or a worker built with -p:TorchBackend=cuda on a GPU machine");
            count = slots ?? cudaDevices;
            deviceOf = i => $"cuda:{i % cudaDevices}";
        }
        else if (wanted.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(wanted[5..], out var index) && index >= 0)
        {
            if (index >= cudaDevices)
                throw new SweepUsageException($"--device {wanted} does not exist: this machine has {cudaDevices} CUDA device(s)");
            count = slots ?? 1;
            deviceOf = _ => wanted;
        }
        else
        {
            throw new SweepUsageException($"--device '{device}' is not known; use cpu, cuda or cuda:N");
        }

        var perSlot = threads ?? Math.Max(1, cores / count);
        return Enumerable.Range(0, count)
            .Select(i => new TrialSlot(i, deviceOf(i), perSlot, checkpointDirectory))
            .ToList();
    }
}
