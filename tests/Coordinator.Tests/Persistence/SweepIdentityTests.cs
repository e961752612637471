using Sweep.Coordinator.Persistence;
using Sweep.Coordinator.Tests.Support;
using Sweep.Search.Specs;

namespace Sweep.Coordinator.Tests.Persistence;

public class SweepIdentityTests
{
    [Fact]
    public void The_data_folder_does_not_change_which_sweep_a_spec_is()
    {
        var here = TestSweeps.TwoStages();
        var elsewhere = here with { Data = here.Data with { Directory = "/mnt/other/cifar" } };
        Assert.True(SweepIdentity.Same(here, elsewhere));
    }

    [Fact]
    public void Seed_stages_or_space_make_another_sweep()
    {
        var spec = TestSweeps.TwoStages();
        Assert.False(SweepIdentity.Same(spec, spec with { Seed = spec.Seed + 1 }));
        Assert.False(SweepIdentity.Same(spec, TestSweeps.TwoStages(firstStage: 5)));
        Assert.False(SweepIdentity.Same(spec, spec with { Data = spec.Data with { NumTrain = 300 } }));
    }
}
