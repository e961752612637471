using System.Security.Cryptography;
using Sweep.Contract.Cli;
using Sweep.Coordinator.Tests.Support;
using Sweep.TestSupport;

namespace Sweep.Coordinator.Tests.Cli;

/// <summary>
/// Issue 9: with a corrupt data folder `run` printed only "every local worker exited; see .../worker-1.log", exited 1 and
/// left a started sweep in the journal. The data folder is now read before anything is journaled: the trial process's
/// one-line error, exit 2, and the journal as it was.
/// </summary>
public sealed class CorruptDataTests : IDisposable
{
    private readonly TempJournal _temp = new();
    private readonly string _data;

    public CorruptDataTests()
    {
        // The real CIFAR-10 files, linked, except one training batch cut short mid-record.
        _data = Path.Combine(_temp.Folder, "corrupt-cifar");
        Directory.CreateDirectory(_data);
        var real = RepoPaths.CifarDirectory();
        foreach (var file in Directory.GetFiles(real))
            File.CreateSymbolicLink(Path.Combine(_data, Path.GetFileName(file)), file);
        var truncated = Path.Combine(_data, "data_batch_3.bin");
        File.Delete(truncated);
        using (var source = File.OpenRead(Path.Combine(real, "data_batch_3.bin")))
        using (var target = File.Create(truncated))
        {
            var part = new byte[3073 * 100 + 17];
            source.ReadExactly(part);
            target.Write(part);
        }
    }

    public void Dispose() => _temp.Dispose();

    private string WriteSpec()
    {
        var spec = Path.Combine(_temp.Folder, "tiny.conf");
        File.WriteAllText(spec, TinySpecs.Text("tiny", _data, family: "fc"));
        return spec;
    }

    private (int Code, string Stdout, string Stderr) Sweep(params string[] args) =>
        SweepProcess.Run(SweepProcess.CoordinatorDll, _temp.Folder, TimeSpan.FromSeconds(120), null, args);

    private static void AssertDataError(int code, string stderr)
    {
        Assert.Equal(ExitCodes.BadInput, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("sweep: cannot load CIFAR-10 from ", line);
        Assert.Contains("data_batch_3.bin has 307317 bytes", line);
        Assert.Contains("replace it with the official file", line);
    }

    [Fact]
    public void Run_prints_the_data_error_exits_2_and_creates_no_journal()
    {
        var journal = Path.Combine(_temp.Folder, "runs", "corrupt.db");

        var (code, _, stderr) = Sweep("run", WriteSpec(), "--journal", journal, "--local-workers", "1");

        AssertDataError(code, stderr);
        Assert.False(Directory.Exists(Path.GetDirectoryName(journal)), "nothing was written under runs/");
    }

    [Fact]
    public async Task Resume_prints_the_data_error_exits_2_and_leaves_the_journal_byte_for_byte()
    {
        await StartedJournal.WriteAsync(_temp);
        var before = SHA256.HashData(File.ReadAllBytes(_temp.FilePath));

        var (code, _, stderr) = Sweep("resume", "--journal", _temp.FilePath, "--local-workers", "1", "--data", _data);

        AssertDataError(code, stderr);
        Assert.Equal(before, SHA256.HashData(File.ReadAllBytes(_temp.FilePath)));
        Assert.Equal(["sweep.db"], Directory.GetFiles(_temp.Folder).Select(Path.GetFileName).Order());
    }
}
