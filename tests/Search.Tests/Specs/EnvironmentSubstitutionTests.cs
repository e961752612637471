using Sweep.Search.Specs;

namespace Sweep.Search.Tests.Specs;

/// <summary>Issue 9: <c>${HOME}</c> was reported as unresolved although it was set.</summary>
public sealed class EnvironmentSubstitutionTests
{
    private const string Spec = """
        name = t
        seed = 1
        data { directory = ${HOME}/cifar }
        model { family = fc, hidden_dims = [100] }
        space { learning_rate { type = float, low = 1e-4, high = 1e-2, log = true } }
        stages = [ { count = 2, epochs = 1 } ]
        """;

    [Fact]
    public void A_set_environment_variable_resolves_a_substitution()
    {
        var spec = SweepSpecLoader.Parse(Spec, "t.conf", name => name == "HOME" ? "/home/ml" : null);
        Assert.Equal("/home/ml/cifar", spec.Data.Directory);
    }

    [Fact]
    public void An_unset_variable_is_still_an_error_naming_it()
    {
        var message = Assert.Throws<SweepSpecException>(() => SweepSpecLoader.Parse(Spec, "t.conf", _ => null)).Message;
        Assert.Contains("HOME", message);
    }

    [Fact]
    public void A_key_of_the_spec_wins_over_the_environment()
    {
        var spec = SweepSpecLoader.Parse(Spec.Replace("${HOME}", "${name}"), "t.conf", name => name == "name" ? "/env" : null);
        Assert.Equal("t/cifar", spec.Data.Directory);
    }
}
