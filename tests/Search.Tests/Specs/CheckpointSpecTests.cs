using Sweep.Search.Serialization;
using Sweep.Search.Specs;

namespace Sweep.Search.Tests.Specs;

/// <summary>The spec's <c>checkpoints</c> block: defaults, every key, and a one-line error for each bad value.</summary>
public class CheckpointSpecTests
{
    private const string Minimal = """
        name = t
        seed = 1
        data { directory = "../data" }
        model { family = fc, hidden_dims = [100] }
        space { learning_rate { type = float, low = 1e-4, high = 1e-2, log = true } }
        stages = [ { count = 2, epochs = 1 } ]
        """;

    private static SweepSpec Parse(string text) => SweepSpecLoader.Parse(text, "t.conf", _ => null);

    [Fact]
    public void Without_the_block_the_defaults_apply_and_the_fingerprint_is_that_of_older_specs()
    {
        var spec = Parse(Minimal);
        Assert.Null(spec.Checkpoints);
        Assert.Equal(new CheckpointSpec(1, CheckpointKeep.Latest, ContinueCarryOver: true), spec.CheckpointPolicy);
        Assert.DoesNotContain("checkpoints", SweepJson.Serialize(spec));
    }

    [Fact]
    public void Every_key_is_read()
    {
        var spec = Parse(Minimal + "\ncheckpoints { every = 3, keep = none, carry_over = retrain }");
        Assert.Equal(new CheckpointSpec(3, CheckpointKeep.None, ContinueCarryOver: false), spec.CheckpointPolicy);
        Assert.NotEqual(Parse(Minimal).Fingerprint, spec.Fingerprint);
        var back = SweepJson.Deserialize<SweepSpec>(SweepJson.Serialize(spec));
        Assert.Equal(spec.CheckpointPolicy, back.CheckpointPolicy);
        Assert.False(Parse(Minimal + "\ncheckpoints { every = 0 }").CheckpointPolicy.Enabled);
    }

    [Theory]
    [InlineData("checkpoints { every = -1 }", "t.conf: checkpoints.every = -1: allowed: an integer in [0, 10000]")]
    [InlineData("checkpoints { every = often }", "t.conf: checkpoints.every = often: allowed: an integer in [0, 10000]")]
    [InlineData("checkpoints { keep = best }", "t.conf: checkpoints.keep = best: allowed: latest|none")]
    [InlineData("checkpoints { carry_over = yes }", "t.conf: checkpoints.carry_over = yes: allowed: continue|retrain")]
    [InlineData("checkpoints { evry = 1 }", "t.conf: checkpoints.evry: unknown key; allowed: every, keep, carry_over")]
    [InlineData("checkpoints = 1", "t.conf: checkpoints = 1: allowed: an object { ... }")]
    public void A_bad_value_is_a_one_line_error_naming_the_key_and_what_is_allowed(string block, string message) =>
        Assert.Equal(message, Assert.Throws<SweepSpecException>(() => Parse(Minimal + "\n" + block)).Message);
}
