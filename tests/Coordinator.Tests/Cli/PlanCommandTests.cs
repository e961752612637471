using System.Diagnostics;
using Sweep.Coordinator.Cli;
using Sweep.TestSupport;

namespace Sweep.Coordinator.Tests.Cli;

/// <summary>`sweep plan`: deterministic text per spec and seed, other seeds other configs, bad specs exit 2 with one line.</summary>
public class PlanCommandTests
{
    private static string Quickstart => Path.Combine(RepoPaths.Root(), "hocon", "sweeps", "quickstart.conf");

    private static (int Exit, string Out, string Err) Plan(string spec, long? seed)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = PlanCommand.Run(spec, seed, output, error);
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public void Plan_prints_the_same_text_twice_and_other_configs_for_another_seed()
    {
        var first = Plan(Quickstart, null);
        var second = Plan(Quickstart, null);
        var otherSeed = Plan(Quickstart, 43);
        Assert.Equal(0, first.Exit);
        Assert.Equal(first.Out, second.Out);
        var stage1 = Sweep.Search.Specs.SweepSpecLoader.LoadFile(Quickstart).Stages[0].Count;
        Assert.Contains($"stage 1 of 2: {stage1} trial(s)", first.Out);
        var trials = first.Out.Split('\n').Where(l => l.StartsWith("  s1-t", StringComparison.Ordinal)).ToList();
        Assert.Equal(stage1, trials.Count);
        var otherTrials = otherSeed.Out.Split('\n').Where(l => l.StartsWith("  s1-t", StringComparison.Ordinal)).ToList();
        Assert.Equal(stage1, otherTrials.Count);
        Assert.Empty(trials.Intersect(otherTrials));
    }

    [Fact]
    public void Command_line_parsing_reaches_the_plan_and_honours_seed()
    {
        var root = SweepCli.Build();
        var output = new StringWriter();
        var parse = root.Parse(["plan", Quickstart, "--seed", "43"]);
        parse.InvocationConfiguration.Output = output;
        Assert.Equal(0, parse.Invoke());
        Assert.Equal(Plan(Quickstart, 43).Out, output.ToString());
    }

    [Fact]
    public void A_bad_spec_exits_2_with_one_line_on_stderr()
    {
        var path = Path.Combine(Path.GetTempPath(), $"sweep-plan-{Guid.NewGuid():N}.conf");
        File.WriteAllText(path, File.ReadAllText(Quickstart).Replace("family = fc", "family = resnet"));
        try
        {
            var (exit, stdout, stderr) = Plan(path, null);
            Assert.Equal(2, exit);
            Assert.Empty(stdout);
            Assert.Single(stderr.Trim().Split('\n'));
            Assert.Contains("model.family = resnet", stderr);
            Assert.Contains("allowed: fc|three_layer_convnet|convnet", stderr);
        }
        finally
        {
            File.Delete(path);
        }
        var missing = Plan("no/such.conf", null);
        Assert.Equal(2, missing.Exit);
        Assert.Contains("does not exist", missing.Err);
    }

    [Theory]
    [InlineData("normalization = groupnorm\n  groups = 4", "model.normalization = groupnorm")]
    [InlineData("groups = 4", "groups does not apply to model fc")]
    [InlineData("weight_scale = kaiming", "model.weight_scale = kaiming")]
    public void A_pair_the_parameter_table_rules_out_stops_plan_with_one_line(string addition, string expected)
    {
        var folder = Path.Combine(Path.GetTempPath(), $"sweep-plan-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        try
        {
            var spec = Path.Combine(folder, "fc.conf");
            File.WriteAllText(spec, File.ReadAllText(Quickstart).Replace("  normalization = none\n", "  " + addition + "\n"));
            var (exit, output, error) = Plan(spec, null);
            Assert.Equal(2, exit);
            Assert.Contains(expected, error);
            Assert.Single(error.TrimEnd().Split('\n'));
            Assert.DoesNotContain("s1-t", output);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Two_processes_print_identical_plans()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Sweep.Coordinator.dll");
        Assert.True(File.Exists(Path.ChangeExtension(dll, ".runtimeconfig.json")), "Sweep.Coordinator.runtimeconfig.json is not next to the tests");
        string RunProcess()
        {
            var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
            var start = new ProcessStartInfo(string.IsNullOrEmpty(host) ? "dotnet" : host) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in new[] { dll, "plan", Quickstart, "--seed", "5" }) start.ArgumentList.Add(arg);
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(60))) { process.Kill(); throw new TimeoutException("sweep plan did not finish within 60 s"); }
            Assert.True(process.ExitCode == 0, stderr.Result);
            return stdout.Result;
        }
        var first = RunProcess();
        Assert.Equal(first, RunProcess());
        Assert.Equal(Plan(Quickstart, 5).Out, first);
    }
}
