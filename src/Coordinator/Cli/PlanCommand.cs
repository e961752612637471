using System.CommandLine;
using Sweep.Search.Planning;
using Sweep.Search.Specs;

namespace Sweep.Coordinator.Cli;

/// <summary>`sweep plan SPEC.conf [--seed S]`: prints the trials stage 1 would run, without training anything.</summary>
public static class PlanCommand
{
    public static Command Build()
    {
        var spec = new Argument<string>("spec") { Description = "sweep spec (HOCON), e.g. hocon/sweeps/quickstart.conf" };
        var seed = new Option<long?>("--seed") { Description = "override the spec's seed" };
        var command = new Command("plan", "Print the configs stage 1 of a sweep would run (deterministic for a spec and seed), without training.");
        command.Arguments.Add(spec);
        command.Options.Add(seed);
        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            return Run(parse.GetValue(spec)!, parse.GetValue(seed), output, error);
        });
        return command;
    }

    /// <summary>Exit 0 with the plan on <paramref name="output"/>, or 2 with a one-line error on <paramref name="error"/>.</summary>
    public static int Run(string specPath, long? seed, TextWriter output, TextWriter error)
    {
        SweepSpec spec;
        try
        {
            spec = SweepSpecLoader.LoadFile(specPath);
        }
        catch (SweepSpecException e)
        {
            error.WriteLine("sweep plan: " + e.Message);
            return 2;
        }
        if (seed is { } s) spec = spec with { Seed = s };
        output.Write(SweepPlanner.Describe(spec, SweepPlanner.FirstStage(spec)));
        return 0;
    }
}
