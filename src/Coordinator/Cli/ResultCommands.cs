using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sweep.Contract.Cli;
using Sweep.Contract.Configuration;
using Sweep.Contract.Protocol;
using Sweep.Coordinator.Actors;
using Sweep.Coordinator.LocalWorkers;
using Sweep.Coordinator.Persistence;
using Sweep.Search.Engine;
using Sweep.Search.Reporting;
using Sweep.Search.Serialization;
using Sweep.Search.Trials;

namespace Sweep.Coordinator.Cli;

/// <summary>
/// `export` and `test`: get a sweep's trained weights out of the coordinator's checkpoint store, and measure the best
/// ones once on the test split. The weights are read and evaluated by the worker program (it owns TorchSharp), in a
/// child process; the test split is used here and nowhere else.
/// </summary>
internal static class ResultCommands
{
    private static readonly TimeSpan JournalTimeout = TimeSpan.FromSeconds(60);

    public static Command Export()
    {
        var journal = RequiredJournal();
        var trial = new Option<string?>("--trial") { Description = "the trial whose best weights to export, e.g. s2-t0003" };
        var best = new Option<bool>("--best") { Description = "export the leaderboard's first completed trial" };
        var output = new Option<string>("--out") { Description = "folder to write TRIAL.pt (the weights) and TRIAL.json (what they are) into", Required = true };
        var command = new Command("export", "write a trial's best weights and a JSON sidecar describing them") { journal, trial, best, output };
        command.SetAction((result, _) => CliRunner.Guard(async () =>
        {
            var location = JournalLocation.Parse(result.GetValue(journal)!);
            var state = await ReadStartedAsync(location);
            var chosen = (result.GetValue(trial), result.GetValue(best)) switch
            {
                (null, false) or (not null, true) => throw new SweepUsageException("pass exactly one of --trial ID and --best"),
                ({ } id, _) => FindTrial(state, id),
                _ => BestCompleted(state, location),
            };
            var checkpoint = StoredCheckpoint(StoreOf(location), chosen);
            var folder = Path.GetFullPath(result.GetValue(output)!);
            try
            {
                Directory.CreateDirectory(folder);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new SweepUsageException($"cannot create output folder '{folder}' ({e.Message.TrimEnd('.')}); pass a writable --out folder");
            }
            var weights = Path.Combine(folder, chosen.TrialId + ".pt");
            var model = WorkerTool.Run(LocalWorkerPool.LocateWorkerDll(), ["export-weights", "--checkpoint", checkpoint, "--out", weights], "export weights");
            var sidecar = Path.Combine(folder, chosen.TrialId + ".json");
            File.WriteAllText(sidecar, Sidecar(state, chosen, Path.GetFileName(weights), model));
            Console.WriteLine($"export: {chosen.TrialId} (best val {Acc(chosen.Result!.BestValAcc)} at epoch {chosen.Result.BestEpoch}) -> {weights}, {sidecar}");
            return ExitCodes.Success;
        }));
        return command;
    }

    public static Command Test()
    {
        var journal = RequiredJournal();
        var top = new Option<int>("--top") { Description = "evaluate the best K completed trials", DefaultValueFactory = _ => 1 };
        var force = new Option<bool>("--force") { Description = "evaluate again trials that were already tested" };
        var data = new Option<string?>("--data") { Description = "CIFAR-10 folder holding the test split (default: the spec's data.directory)" };
        var command = new Command("test", "evaluate the best weights of the top K trials once on the test split, and journal the result") { journal, top, force, data };
        command.SetAction((result, _) => CliRunner.Guard(async () =>
        {
            var k = result.GetValue(top);
            if (k < 1)
                throw new SweepUsageException($"--top {k} must be at least 1");
            var location = JournalLocation.Parse(result.GetValue(journal)!);
            location.CheckReadable();
            // Held from the read to the append: a coordinator starting meanwhile would number its events like ours.
            using var held = JournalLock.Acquire(location);
            var state = await ReadStartedAsync(location);
            var chosen = Leaderboard.From(state).Rows.Where(r => r.Status == TrialStatus.Completed).Take(k).Select(r => state.GetTrial(r.TrialId)).ToList();
            if (chosen.Count == 0)
                throw new SweepUsageException($"journal '{location.Display}' holds no completed trial yet; test after ./sweep run or ./sweep resume has finished some");
            var toMeasure = chosen.Where(t => t.Test is null || result.GetValue(force)).ToList();
            var measured = new List<ISweepEvent>();
            if (toMeasure.Count > 0)
            {
                var workerDll = LocalWorkerPool.LocateWorkerDll();
                var dataDirectory = ClusterCommands.ResolveData(workerDll, result.GetValue(data), state.Spec!.Data.Directory);
                var store = StoreOf(location);
                try
                {
                    foreach (var trial in toMeasure)
                    {
                        var line = WorkerTool.Run(workerDll, ["evaluate", "--checkpoint", StoredCheckpoint(store, trial), "--data", dataDirectory], "evaluate " + trial.TrialId);
                        measured.Add(ParseEvaluation(trial.TrialId, line));
                    }
                }
                catch (SweepUsageException) when (measured.Count > 0)
                {
                    // The trials measured before the one that failed keep their test accuracy; a rerun skips them.
                    await JournalReader.AppendAsync(location, measured, JournalTimeout);
                    throw;
                }
                state = await JournalReader.AppendAsync(location, measured, JournalTimeout);
            }
            Console.WriteLine("trial        best_val  test_acc  images");
            foreach (var trial in chosen.Select(t => state.GetTrial(t.TrialId)))
            {
                var test = trial.Test!;
                var note = measured.Contains(test) ? "" : "  (stored; --force measures again)";
                Console.WriteLine($"{trial.TrialId,-12} {Acc(trial.Result!.BestValAcc),-9} {Acc(test.TestAcc),-9} {test.NumTest}{note}");
            }
            return ExitCodes.Success;
        }));
        return command;
    }

    private static Option<string?> RequiredJournal()
    {
        var journal = ClusterCommands.JournalOption("the sweep's journal, e.g. runs/quickstart.db");
        journal.Required = true;
        return journal;
    }

    private static async Task<SweepState> ReadStartedAsync(JournalLocation location)
    {
        location.CheckReadable();
        var state = await JournalReader.ReadStateAsync(location, JournalTimeout);
        if (!state.IsStarted)
            throw new SweepUsageException($"journal '{location.Display}' holds no sweep yet; start one with ./sweep run SPEC.conf --journal {location.Argument}");
        return state;
    }

    private static TrialState FindTrial(SweepState state, string trialId)
    {
        if (!TrialIds.IsValid(trialId))
            throw new SweepUsageException($"--trial {TrialIds.Describe(trialId)} is not a trial id; ids look like s2-t0003 (see ./sweep leaderboard)");
        var trial = state.FindTrial(trialId)
                    ?? throw new SweepUsageException($"the sweep has no trial {trialId}; pick one from ./sweep leaderboard");
        return trial.Status == TrialStatus.Completed
            ? trial
            : throw new SweepUsageException($"trial {trialId} is {trial.Status.ToWireName()}, not completed, so it has no best weights to export; pick a completed one from ./sweep leaderboard");
    }

    private static TrialState BestCompleted(SweepState state, JournalLocation location) =>
        Leaderboard.From(state).Rows.FirstOrDefault(r => r.Status == TrialStatus.Completed) is { } row
            ? state.GetTrial(row.TrialId)
            : throw new SweepUsageException($"journal '{location.Display}' holds no completed trial yet; export after ./sweep run or ./sweep resume has finished some");

    /// <summary>The store the coordinator of this journal wrote its checkpoints to (the same configuration decides where).</summary>
    private static CheckpointStore StoreOf(JournalLocation location) =>
        new(CheckpointStore.DirectoryFor(location, CoordinatorSettings.Create(SweepConfig.Load()).CheckpointStore));

    /// <summary>The trial's verified latest checkpoint in <paramref name="store"/>.</summary>
    private static string StoredCheckpoint(CheckpointStore store, TrialState trial)
    {
        // Only the file the journal recorded: a store folder reused by another sweep may hold others under the same id.
        var path = trial.Checkpoint is { } recorded ? store.VerifiedPath(trial.TrialId, recorded.Epoch, recorded.Sha256) : null;
        return path
               ?? throw new SweepUsageException(
                   $"trial {trial.TrialId} has no intact stored checkpoint in {store.Directory} (the sweep ran with checkpoints.keep = none or every = 0, or the file is gone or corrupt); train its config again with ./sweep train");
    }

    private static TrialTested ParseEvaluation(string trialId, string line)
    {
        try
        {
            var json = JsonNode.Parse(line)!.AsObject();
            var testAcc = (double)json["test_acc"]!;
            var numTest = (int)json["num_test"]!;
            if (testAcc is >= 0 and <= 1 && numTest > 0)
                return new TrialTested(trialId, testAcc, numTest, DateTimeOffset.UtcNow);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException or FormatException)
        {
        }
        throw new SweepUsageException($"the worker program's evaluation of {trialId} printed {TrialIds.Describe(line)}, not a test accuracy; rebuild with ./sweep");
    }

    /// <summary>What the exported weights are: enough to rebuild the model (`params` and `model`) and to know where they came from.</summary>
    private static string Sidecar(SweepState state, TrialState trial, string weightsFile, string exportLine)
    {
        var document = new JsonObject
        {
            ["weights"] = weightsFile,
            ["sweep"] = state.Spec!.Name,
            ["sweep_seed"] = state.Seed,
            ["trial_id"] = trial.TrialId,
            ["stage"] = trial.Stage,
            ["trial_seed"] = trial.Spec.Seed,
            ["params"] = JsonSerializer.SerializeToNode(trial.Spec.Params, SweepJson.Options),
            ["model"] = ModelOf(exportLine),
            ["best_val_acc"] = trial.Result!.BestValAcc,
            ["best_epoch"] = trial.Result.BestEpoch,
            ["test_acc"] = trial.Test?.TestAcc,
        };
        return document.ToJsonString(SweepJson.IndentedOptions) + "\n";
    }

    /// <summary>The model description in the worker's export line ({"weights", "best_epoch", "best_val_acc", "model"}).</summary>
    private static JsonNode ModelOf(string exportLine)
    {
        try
        {
            if (JsonNode.Parse(exportLine)?["model"] is JsonObject model)
                return model.DeepClone();
        }
        catch (JsonException)
        {
        }
        throw new SweepUsageException($"the worker program's export printed {TrialIds.Describe(exportLine)}, not a model description; rebuild with ./sweep");
    }

    private static string Acc(double value) => value.ToString("0.0000", CultureInfo.InvariantCulture);
}
