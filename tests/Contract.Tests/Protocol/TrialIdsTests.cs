using Sweep.Contract.Protocol;
using Sweep.Contract.Security;
using Sweep.Search.Trials;

namespace Sweep.Contract.Tests.Protocol;

public sealed class TrialIdsTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 9999)]
    [InlineData(12, 123456)]
    public void Every_id_the_planner_makes_is_valid(int stage, int index) =>
        Assert.True(TrialIds.IsValid(TrialSpec.MakeId(stage, index)));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("/etc/passwd")]
    [InlineData("a/b")]
    [InlineData("a\\b")]
    [InlineData("-rf")]
    [InlineData("s1-t0001\0")]
    [InlineData("s1 t0001")]
    public void Unsafe_ids_are_invalid(string? trialId) => Assert.False(TrialIds.IsValid(trialId));

    [Fact]
    public void An_overlong_id_is_invalid_and_described_escaped_and_short()
    {
        Assert.False(TrialIds.IsValid(new string('a', TrialIds.MaxLength + 1)));
        var described = TrialIds.Describe("\u001b[31mred\n" + new string('x', 500));
        Assert.DoesNotContain('\u001b', described);
        Assert.DoesNotContain('\n', described);
        Assert.True(described.Length < 100, described);
    }

    [Fact]
    public void A_checkpoint_folder_stays_inside_the_checkpoint_directory()
    {
        var root = Path.Combine(Path.GetTempPath(), "sweep-checkpoints");
        Assert.Equal(Path.Combine(root, "s1-t0001"), TrialCheckpoints.FolderOf(root, "s1-t0001"));
        Assert.Throws<ArgumentException>(() => TrialCheckpoints.FolderOf(root, "/tmp/elsewhere"));
        Assert.Throws<ArgumentException>(() => TrialCheckpoints.FolderOf(root, ".."));
    }
}
