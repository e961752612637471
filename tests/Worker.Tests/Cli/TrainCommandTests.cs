using Sweep.TestSupport;
using System.Text.Json;
using Sweep.Search.Parameters;
using Sweep.Worker.Cli;

namespace Sweep.Worker.Tests.Cli;

public class TrainCommandTests
{
    private static (int Exit, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = WorkerCli.Run(args, output, error);
        return (exit, output.ToString(), error.ToString());
    }

    private static void AssertBadInput((int Exit, string Output, string Error) result, string expected)
    {
        Assert.Equal(2, result.Exit);
        Assert.Contains(expected, result.Error);
        Assert.Single(result.Error.TrimEnd().Split('\n'));
        Assert.StartsWith("sweep train: ", result.Error);
    }

    [Theory]
    [InlineData(new[] { "train", "--epochs", "abc" }, "epochs 'abc' is not allowed for model fc; allowed: an integer")]
    [InlineData(new[] { "train", "--model", "resnet" }, "model 'resnet' is unknown")]
    [InlineData(new[] { "train", "--update-rule", "adagrad" }, "update_rule 'adagrad' is not allowed")]
    [InlineData(new[] { "train", "--model", "fc", "--normalization", "groupnorm" }, "normalization 'groupnorm' is not allowed for model fc")]
    [InlineData(new[] { "train", "--model", "fc", "--conv-channels", "32,32" }, "'conv_channels' does not apply to model fc")]
    [InlineData(new[] { "train", "--hidden-dims", "100,-1" }, "hidden_dims")]
    [InlineData(new[] { "train", "--threads", "0" }, "threads '0'")]
    [InlineData(new[] { "train", "--device", "tpu" }, "unknown device 'tpu'")]
    [InlineData(new[] { "train", "--bogus", "1" }, "--bogus")]
    [InlineData(new[] { "train", "--epochs" }, "--epochs")]
    public void Bad_input_gives_one_line_and_exit_code_2(string[] args, string expected) =>
        AssertBadInput(Run(args), expected);

    [Fact]
    public void A_missing_data_folder_is_a_clear_error()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"sweep-missing-{Guid.NewGuid():N}");
        AssertBadInput(Run("train", "--data", missing, "--num-train", "100", "--epochs", "1"), "does not exist");
    }

    [Fact]
    public void Help_lists_one_flag_per_table_parameter_with_its_defaults_and_the_run_flags()
    {
        var (exit, output, _) = Run("train", "--help");
        Assert.Equal(0, exit);
        foreach (var parameter in TrialParameters.All)
        {
            Assert.Contains(parameter.FlagName, output);
            Assert.Contains(parameter.Rules[0].DefaultText, output);
        }
        foreach (var flag in new[] { "--data", "--device", "--threads", "--json", "--checkpoint-dir", "--checkpoint-every", "--resume" })
            Assert.Contains(flag, output);
        // Every trial flag maps back to a table parameter of the same name.
        var trialFlags = TrainCommand.Create().Options.Select(o => o.Name)
            .Where(n => n is not ("--data" or "--device" or "--threads" or "--json" or "--checkpoint-dir" or "--checkpoint-every" or "--resume")).Order();
        Assert.Equal(TrialParameters.All.Select(p => p.FlagName).Order(), trialFlags);
    }

    [Fact]
    public void A_cancelled_run_reports_status_cancelled_and_exit_code_130()
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var request = new TrainCommand.TrainRequest(
            new Dictionary<string, string> { ["model"] = "fc", ["hidden_dims"] = "20", ["num_train"] = "100", ["epochs"] = "3" },
            RepoPaths.CifarDirectory(), "cpu", Threads: null, Json: true, CheckpointDirectory: null);

        var exit = TrainCommand.Run(request, output, error, new CancellationToken(canceled: true));

        Assert.Equal(130, exit);
        using var json = JsonDocument.Parse(output.ToString().TrimEnd().Split('\n')[^1]);
        Assert.Equal("cancelled", json.RootElement.GetProperty("status").GetString());
        Assert.Equal(0, json.RootElement.GetProperty("val_acc_history").GetArrayLength());
    }

    [Fact]
    public void A_tiny_run_prints_the_solver_lines_and_ends_with_the_outcome_json()
    {
        var (exit, output, error) = Run("train", "--data", RepoPaths.CifarDirectory(), "--model", "fc", "--hidden-dims", "50",
            "--num-train", "200", "--epochs", "2", "--batch-size", "50", "--update-rule", "adam", "--learning-rate", "1e-3",
            "--seed", "3", "--threads", "1", "--json");

        Assert.True(exit == 0, error);
        var lines = output.TrimEnd().Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        Assert.StartsWith("device cpu", lines[0]);
        Assert.Contains(lines, l => l.StartsWith("(Iteration 1 / 8) loss: "));
        Assert.Contains(lines, l => l.StartsWith("(Epoch 0 / 2) train acc: "));
        Assert.Contains(lines, l => l.StartsWith("(Epoch 2 / 2) train acc: "));

        using var json = JsonDocument.Parse(lines[^1]);
        var root = json.RootElement;
        Assert.Equal("completed", root.GetProperty("status").GetString());
        var val = root.GetProperty("val_acc_history").EnumerateArray().Select(e => e.GetDouble()).ToList();
        Assert.Equal(3, val.Count);
        Assert.Equal(3, root.GetProperty("train_acc_history").GetArrayLength());
        Assert.Equal(val.Max(), root.GetProperty("best_val_acc").GetDouble());
        Assert.InRange(root.GetProperty("best_epoch").GetInt32(), 0, 2);
        Assert.True(root.GetProperty("final_loss").GetDouble() > 0);
        Assert.True(root.GetProperty("seconds").GetDouble() > 0);
    }

    [Fact]
    public void A_run_resumed_from_its_checkpoint_ends_with_the_same_outcome_and_bad_checkpoint_flags_are_one_line_errors()
    {
        var folder = Directory.CreateTempSubdirectory("sweep-train-resume-").FullName;
        try
        {
            string[] flags = ["--data", RepoPaths.CifarDirectory(), "--model", "fc", "--hidden-dims", "40", "--normalization", "batchnorm",
                "--dropout", "0.2", "--num-train", "200", "--epochs", "3", "--batch-size", "50", "--update-rule", "adam", "--seed", "3",
                "--threads", "1", "--json"];
            var whole = Run(["train", .. flags, "--checkpoint-dir", Path.Combine(folder, "whole"), "--checkpoint-every", "2"]);
            Assert.True(whole.Exit == 0, whole.Error);
            Assert.Contains("; checkpoint " + Path.Combine(folder, "whole", "epoch-2.ckpt"), whole.Output);
            Assert.True(File.Exists(Path.Combine(folder, "whole", "epoch-3.ckpt")));
            Assert.False(File.Exists(Path.Combine(folder, "whole", "epoch-1.ckpt")));

            var resumed = Run(["train", .. flags, "--checkpoint-dir", Path.Combine(folder, "resumed"), "--resume", Path.Combine(folder, "whole", "epoch-2.ckpt")]);
            Assert.True(resumed.Exit == 0, resumed.Error);
            Assert.Contains("resumed from ", resumed.Output);
            static string Outcome(string output) => string.Join(",", JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]).RootElement
                .EnumerateObject().Where(p => p.Name is not ("seconds" or "checkpoint_path")).Select(p => p.ToString()));
            Assert.Equal(Outcome(whole.Output), Outcome(resumed.Output));

            AssertBadInput(Run(["train", .. flags, "--checkpoint-every", "1"]), "--checkpoint-every needs --checkpoint-dir");
            AssertBadInput(Run(["train", .. flags, "--checkpoint-every", "-1", "--checkpoint-dir", folder]), "checkpoint-every '-1'");
            AssertBadInput(Run(["train", .. flags, "--resume", Path.Combine(folder, "none.ckpt")]), "cannot be read");
            var otherSeed = (string[])flags.Clone();
            otherSeed[Array.IndexOf(flags, "--seed") + 1] = "4";
            AssertBadInput(Run(["train", .. otherSeed, "--resume", Path.Combine(folder, "whole", "epoch-2.ckpt")]),
                "was written by another run (seed 3 (this run: 4))");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
