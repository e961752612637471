using System.CommandLine;
using Sweep.Contract.Cli;
using Sweep.Coordinator.Persistence;
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
        var journal = new Option<string?>("--journal") { Description = "a journal of this sweep: print the stage it runs next, from the results so far" };
        var command = new Command("plan", "Print the configs stage 1 of a sweep would run (deterministic for a spec and seed), without training.");
        command.Arguments.Add(spec);
        command.Options.Add(seed);
        command.Options.Add(journal);
        command.SetAction((parse, _) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            return parse.GetValue(journal) is { } journalPath
                ? RunFromJournalAsync(parse.GetValue(spec)!, journalPath, output, error)
                : Task.FromResult(Run(parse.GetValue(spec)!, parse.GetValue(seed), output, error));
        });
        return command;
    }

    /// <summary>The stage a journaled sweep of this spec runs next (read-only); exit 2 with one line on bad input.</summary>
    public static async Task<int> RunFromJournalAsync(string specPath, string journalPath, TextWriter output, TextWriter error)
    {
        try
        {
            var spec = SweepSpecLoader.LoadFile(specPath);
            var location = JournalLocation.Parse(journalPath);
            var state = await JournalReader.ReadStateAsync(location, TimeSpan.FromSeconds(60));
            if (!state.IsStarted)
                throw new SweepUsageException($"journal '{location.Display}' holds no sweep yet; drop --journal to see stage 1");
            if (!SweepIdentity.Same(state.Spec!, spec))
                throw new SweepUsageException($"journal '{location.Display}' holds sweep '{state.Spec!.Name}', not this spec ('{spec.Name}'); pass the spec the journal was started with");
            output.Write(SweepPlanner.DescribeNext(state));
            return 0;
        }
        catch (Exception e) when (e is SweepSpecException or SweepUsageException)
        {
            error.WriteLine("sweep plan: " + e.Message);
            return 2;
        }
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
