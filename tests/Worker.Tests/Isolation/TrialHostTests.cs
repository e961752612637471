using System.Collections.Concurrent;
using Sweep.Search.Spaces;
using Sweep.Search.Trials;
using Sweep.TestSupport;
using Sweep.Worker.Isolation;
using Sweep.Worker.Trials;

namespace Sweep.Worker.Tests.Isolation;

/// <summary>The trial-process side of the protocol, in this process: trials sent one after another as fast as a worker does.</summary>
public sealed class TrialHostTests
{
    /// <summary>Lines in both directions, as the child's stdin and stdout would carry them.</summary>
    private sealed class LineChannel : TextReader
    {
        private readonly BlockingCollection<string> _lines = [];

        public void Write(string line) => _lines.Add(line);

        public void EndOfInput() => _lines.CompleteAdding();

        public override string? ReadLine() => _lines.TryTake(out var line, Timeout.Infinite) ? line : null;

        public string Take(TimeSpan timeout) =>
            _lines.TryTake(out var line, timeout) ? line : throw new TimeoutException($"no line within {timeout.TotalSeconds} s");

        public TextWriter AsWriter() => new LineWriter(this);

        private sealed class LineWriter(LineChannel channel) : TextWriter
        {
            private readonly System.Text.StringBuilder _line = new();

            public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;

            public override void Write(char value)
            {
                if (value == '\n')
                {
                    channel.Write(_line.ToString());
                    _line.Clear();
                }
                else if (value != '\r')
                {
                    _line.Append(value);
                }
            }
        }
    }

    private static TrialSpec Trial(int index) => new(TrialSpec.MakeId(1, index), 1,
        TrialConfig.From(("model", ParamValue.Of("fc")), ("hidden_dims", ParamValue.Of([10]))), new TrialBudget(1, 100), index);

    [Fact]
    public async Task A_trial_sent_the_moment_the_previous_one_returned_runs_and_is_never_refused_as_still_running()
    {
        // Successive halving sends short runs back to back: the next run arrives while the thread of the last one is
        // still returning from writing its result.
        var toChild = new LineChannel();
        var fromChild = new LineChannel();
        var host = new TrialHost(new ScriptedTrialRunner(TrialScript.Train, TimeSpan.Zero), toChild, fromChild.AsWriter(), TextWriter.Null);
        var serving = Task.Run(host.Serve);
        Assert.IsType<HostReady>(TrialHostProtocol.DecodeFromChild(fromChild.Take(TimeSpan.FromSeconds(10))));
        var slot = new TrialSlot(0, "cpu", 1, Path.Combine(Path.GetTempPath(), "sweep-host-" + Guid.NewGuid().ToString("N")[..8]));
        for (var i = 1; i <= 300; i++)
        {
            toChild.Write(TrialHostProtocol.Encode(new RunTrialRequest(Trial(i), slot, TrialRunOptions.Fresh)));
            ITrialHostMessage outcome;
            do outcome = TrialHostProtocol.DecodeFromChild(fromChild.Take(TimeSpan.FromSeconds(10)));
            while (outcome is TrialEpochDone);
            var returned = Assert.IsType<TrialRunReturned>(outcome);
            Assert.Equal(Trial(i).TrialId, returned.TrialId);
        }
        toChild.EndOfInput();
        Assert.Equal(0, await serving.WaitAsync(TimeSpan.FromSeconds(10)));
        if (Directory.Exists(slot.CheckpointDirectory)) Directory.Delete(slot.CheckpointDirectory, recursive: true);
    }
}
