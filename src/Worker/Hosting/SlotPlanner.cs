using Sweep.Contract.Cli;
using Sweep.Worker.Trials;

namespace Sweep.Worker.Hosting;

/// <summary>
/// Decides a worker's slots x threads layout for N cores and M CUDA devices. With M > 0 (device auto or
/// cuda): one slot per device (slot i on cuda:i), the cores shared among them. On CPU: one single-threaded
/// slot per core, because concurrent trials beat intra-op threads for a sweep's throughput (README,
/// "Benchmarks": on 2 cores, 2 slots x 1 thread trained more trial-images per second than 1 x 2). A
/// requested device pins every slot to it; --slots or --threads alone derive the other from the cores.
/// </summary>
public static class SlotPlanner
{
    /// <summary>Torch threads per CPU slot when neither --slots nor --threads is given (the measured best).</summary>
    public const int CpuThreadsPerSlot = 1;

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
            count = slots ?? Math.Max(1, cores / (threads ?? CpuThreadsPerSlot));
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
