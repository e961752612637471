using Sweep.Contract.Cli;
using Sweep.Worker.Hosting;

namespace Sweep.Worker.Tests.Hosting;

public class SlotPlannerTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(8, 8)]
    public void Cpu_defaults_to_one_single_threaded_slot_per_core(int cores, int expectedSlots)
    {
        var slots = SlotPlanner.Plan(null, null, null, cores, cudaDevices: 0, "ckpt");
        Assert.Equal(expectedSlots, slots.Count);
        Assert.All(slots, s => Assert.Equal("cpu", s.Device));
        Assert.All(slots, s => Assert.Equal(SlotPlanner.CpuThreadsPerSlot, s.Threads));
        Assert.Equal(cores, slots.Sum(s => s.Threads));
    }

    [Fact]
    public void Threads_alone_give_as_many_cpu_slots_as_fit_the_cores()
    {
        var slots = SlotPlanner.Plan(null, "cpu", 4, cores: 8, cudaDevices: 0, "ckpt");
        Assert.Equal(2, slots.Count);
        Assert.All(slots, s => Assert.Equal(4, s.Threads));
        Assert.Single(SlotPlanner.Plan(null, "cpu", 16, cores: 8, cudaDevices: 0, "ckpt"));
    }

    [Fact]
    public void Cpu_slots_share_the_cores()
    {
        var slots = SlotPlanner.Plan(3, "cpu", null, cores: 8, cudaDevices: 0, "ckpt");
        Assert.Equal(3, slots.Count);
        Assert.All(slots, s => Assert.Equal(2, s.Threads));
        Assert.Equal([0, 1, 2], slots.Select(s => s.Index));
    }

    [Fact]
    public void Cuda_defaults_to_one_slot_per_device_each_pinned_sharing_the_cores()
    {
        var slots = SlotPlanner.Plan(null, null, null, cores: 16, cudaDevices: 4, "ckpt");
        Assert.Equal(["cuda:0", "cuda:1", "cuda:2", "cuda:3"], slots.Select(s => s.Device));
        Assert.All(slots, s => Assert.Equal(4, s.Threads));
    }

    [Fact]
    public void A_named_cuda_device_pins_every_slot()
    {
        var slots = SlotPlanner.Plan(2, "cuda:1", null, cores: 4, cudaDevices: 2, "ckpt");
        Assert.All(slots, s => Assert.Equal("cuda:1", s.Device));
    }

    [Theory]
    [InlineData(null, "cuda", 0)]
    [InlineData(null, "cuda:2", 2)]
    [InlineData(null, "tpu", 0)]
    [InlineData(0, "cpu", 0)]
    public void Impossible_requests_fail_with_a_message_naming_the_flag(int? slots, string device, int cudaDevices)
    {
        var error = Assert.Throws<SweepUsageException>(() => SlotPlanner.Plan(slots, device, null, 4, cudaDevices, "ckpt"));
        Assert.Matches("--(device|slots)", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }
}
