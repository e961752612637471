using Sweep.Search.Parameters;
using Sweep.Search.Spaces;
using Sweep.Search.Tests.Specs;

namespace Sweep.Search.Tests.Parameters;

/// <summary>The parameter table is consistent with itself, and docs/parameters.md is generated from it.</summary>
public sealed class TrialParametersTests
{
    [Fact]
    public void Names_are_unique_snake_case_and_each_family_has_at_most_one_rule_per_parameter()
    {
        Assert.Equal(TrialParameters.All.Length, TrialParameters.All.Select(p => p.Name).Distinct().Count());
        foreach (var parameter in TrialParameters.All)
        {
            Assert.Matches("^[a-z]+(_[a-z]+)*$", parameter.Name);
            Assert.Equal(parameter.Families.Count(), parameter.Families.Distinct().Count());
            Assert.All(parameter.Families, f => Assert.Contains(f, ModelFamilies.All));
            Assert.False(string.IsNullOrWhiteSpace(parameter.Help));
        }
    }

    [Fact]
    public void Every_default_is_allowed_by_its_own_rule_and_every_example_too()
    {
        foreach (var parameter in TrialParameters.All)
            foreach (var rule in parameter.Rules)
            {
                if (rule.Default is { } value)
                    Assert.Equal(value, rule.Domain.Normalize(value));
                Assert.NotEmpty(rule.Domain.Examples());
                Assert.All(rule.Domain.Examples(), example => Assert.NotNull(rule.Domain.Normalize(example)));
            }
    }

    [Fact]
    public void A_config_is_checked_against_its_familys_rules_with_the_parameter_named()
    {
        Assert.Equal("convnet", TrialParameters.Validate(TrialConfig.From(("model", ParamValue.Of("convnet")), ("groups", ParamValue.Of(4)))));
        var notForFc = Assert.Throws<TrialParameterException>(() => TrialParameters.Validate(TrialConfig.From(("groups", ParamValue.Of(4)))));
        Assert.Equal("groups", notForFc.Parameter);
        var badValue = Assert.Throws<TrialParameterException>(() =>
            TrialParameters.Validate(TrialConfig.From(("model", ParamValue.Of("convnet")), ("weight_scale", ParamValue.Of(-1)))));
        Assert.Equal("weight_scale", badValue.Parameter);
        Assert.Contains("allowed: a number > 0 or kaiming", badValue.Message);
        Assert.Equal(0.9, TrialParameters.Momentum.Double(TrialConfig.Empty, "fc"));
        Assert.Null(TrialParameters.LearningRate.Double(TrialConfig.Empty, "fc"));
    }

    [Fact]
    public void Docs_parameters_md_is_the_table()
    {
        var path = Path.Combine(SweepSpecLoaderTests.RepoRoot(), "docs", "parameters.md");
        var generated = TrialParameters.ToMarkdown();
        // SWEEP_WRITE_DOCS=1 dotnet test tests/Search.Tests --filter Docs_parameters_md_is_the_table rewrites the page.
        if (Environment.GetEnvironmentVariable("SWEEP_WRITE_DOCS") == "1")
            File.WriteAllText(path, generated);
        Assert.True(File.Exists(path), $"{path} is missing; generate it with SWEEP_WRITE_DOCS=1");
        Assert.Equal(generated, File.ReadAllText(path));
    }
}
