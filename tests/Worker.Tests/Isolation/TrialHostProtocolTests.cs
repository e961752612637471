using Sweep.Contract.Protocol;
using Sweep.Search.Spaces;
using Sweep.Search.Trials;
using Sweep.Worker.Isolation;
using Sweep.Worker.Trials;

namespace Sweep.Worker.Tests.Isolation;

/// <summary>The worker <-> trial-process line protocol: every message round-trips, and bad lines are refused.</summary>
public sealed class TrialHostProtocolTests
{
    private static readonly TrialSpec Trial = new("s2-t0003", 2,
        TrialConfig.From(("model", ParamValue.Of("fc")), ("hidden_dims", ParamValue.Of([100, 50])), ("learning_rate", ParamValue.Of(1e-3)),
            ("update_rule", ParamValue.Of("adam")), ("batchnorm", ParamValue.Of(true))),
        new TrialBudget(3, 500), 1234567890123);

    private static readonly TrialResult Result = new(TrialStatus.Completed, 0.42, 2, [0.1, 0.3, 0.5, 0.6], [0.1, 0.35, 0.42, 0.4], 1.25, 12.5,
        "/tmp/ckpt/s2-t0003/best.bin");

    public static TheoryData<string, string> ChildMessages => new()
    {
        { "hello", TrialHostProtocol.Encode(new HostReady(TrialHostProtocol.Version, 4242)) },
        { "start-failed", TrialHostProtocol.Encode(new HostStartFailed("cannot load CIFAR-10 from 'x': missing")) },
        { "epoch", TrialHostProtocol.Encode(new TrialEpochDone("s2-t0003", new TrialEpochProgress(1, 1.9, 0.3, 0.35, 4.5, "/tmp/ckpt/s2-t0003/epoch-1.ckpt"))) },
        { "result", TrialHostProtocol.Encode(new TrialRunReturned("s2-t0003", Result)) },
        { "error", TrialHostProtocol.Encode(new TrialRunThrew("s2-t0003", "InvalidOperationException: boom")) },
    };

    [Theory]
    [MemberData(nameof(ChildMessages))]
    public void Every_child_message_round_trips_with_its_kind_as_the_type_field(string kind, string line)
    {
        Assert.StartsWith($"{{\"type\":\"{kind}\"", line);
        Assert.DoesNotContain("Sweep.", line);
        var decoded = TrialHostProtocol.DecodeFromChild(line);
        Assert.Equal(line, TrialHostProtocol.Encode(decoded));
    }

    [Fact]
    public void Run_and_cancel_round_trip_with_the_whole_trial_slot_and_options()
    {
        var run = new RunTrialRequest(Trial, new TrialSlot(1, "cuda:1", 4, "/tmp/ckpt"), new TrialRunOptions("/tmp/ckpt/s2-t0003/epoch-3.ckpt", 2));
        var decoded = Assert.IsType<RunTrialRequest>(TrialHostProtocol.DecodeFromWorker(TrialHostProtocol.Encode(run)));
        Assert.Equal(run.Trial, decoded.Trial);
        Assert.Equal(run.Slot, decoded.Slot);
        Assert.Equal(run.Options, decoded.Options);
        var cancel = Assert.IsType<CancelTrialRequest>(TrialHostProtocol.DecodeFromWorker(TrialHostProtocol.Encode(new CancelTrialRequest("s2-t0003"))));
        Assert.Equal("s2-t0003", cancel.TrialId);
    }

    [Fact]
    public void A_diverged_result_keeps_its_non_finite_loss()
    {
        var diverged = Result with { Status = TrialStatus.Diverged, FinalLoss = double.NaN };
        var decoded = Assert.IsType<TrialRunReturned>(TrialHostProtocol.DecodeFromChild(TrialHostProtocol.Encode(new TrialRunReturned("s2-t0003", diverged))));
        Assert.Equal(TrialStatus.Diverged, decoded.Result.Status);
        Assert.True(double.IsNaN(decoded.Result.FinalLoss));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("{\"type\":\"hello\"")]
    [InlineData("[1,2,3]")]
    [InlineData("{\"protocol\":1,\"process_id\":3}")]
    [InlineData("{\"type\":\"System.Object\",\"protocol\":1}")]
    [InlineData("{\"type\":\"hello\",\"protocol\":1}")]
    [InlineData("{\"type\":\"epoch\",\"trial_id\":\"s1-t0001\",\"progress\":{\"epoch\":1,\"loss\":1,\"train_acc\":7,\"val_acc\":0.1,\"seconds\":1}}")]
    [InlineData("{\"type\":\"result\",\"trial_id\":\"s1-t0001\",\"result\":{\"status\":\"running\",\"best_val_acc\":0.1,\"best_epoch\":0,\"train_acc_history\":[],\"val_acc_history\":[],\"final_loss\":1,\"seconds\":1,\"checkpoint_path\":null,\"worker\":null,\"error\":null}}")]
    [InlineData("{\"type\":\"run\",\"trial\":null,\"slot\":null}")]
    public void Garbage_incomplete_out_of_range_or_wrong_direction_lines_are_refused_by_the_worker(string line) =>
        Assert.Throws<TrialHostProtocolException>(() => TrialHostProtocol.DecodeFromChild(line));

    [Fact]
    public void The_child_refuses_what_only_a_child_may_send_and_overlong_lines()
    {
        Assert.Throws<TrialHostProtocolException>(() => TrialHostProtocol.DecodeFromWorker(TrialHostProtocol.Encode(new HostReady(1, 1))));
        Assert.Throws<TrialHostProtocolException>(() => TrialHostProtocol.DecodeFromWorker(new string(' ', TrialHostProtocol.MaxLineLength + 1)));
    }

    [Fact]
    public void A_hello_of_another_version_decodes_so_the_worker_can_name_both_versions()
    {
        var hello = Assert.IsType<HostReady>(TrialHostProtocol.DecodeFromChild("{\"type\":\"hello\",\"protocol\":99,\"process_id\":3}"));
        Assert.Equal(99, hello.Protocol);
    }

    [Theory]
    [InlineData(139, "trial process crashed (signal 11)")]
    [InlineData(134, "trial process crashed (signal 6)")]
    [InlineData(137, "trial process killed (signal 9; out of memory?)")]
    [InlineData(3, "trial process exited with code 3")]
    public void Exit_codes_read_as_the_signal_that_ended_the_process(int exitCode, string reason)
    {
        Assert.Equal(reason, TrialProcessFailure.Exited(exitCode));
        Assert.True(TrialProcessFailure.IsProcessFailure(reason));
    }

    [Fact]
    public void The_result_history_keeps_its_values()
    {
        var decoded = Assert.IsType<TrialRunReturned>(TrialHostProtocol.DecodeFromChild(TrialHostProtocol.Encode(new TrialRunReturned("s2-t0003", Result))));
        Assert.Equal(Result, decoded.Result);
        Assert.Equal([0.1, 0.35, 0.42, 0.4], decoded.Result.ValAccHistory.ToArray());
    }
}
