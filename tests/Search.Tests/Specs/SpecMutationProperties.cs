using FsCheck.Xunit;
using Sweep.Search.Specs;

namespace Sweep.Search.Tests.Specs;

/// <summary>
/// Damaged specs (a character deleted, duplicated or replaced somewhere in the quickstart) either still load or
/// fail with a one-line <see cref="SweepSpecException"/>: never another exception, never a hang in the parser.
/// </summary>
public class SpecMutationProperties
{
    // Comment lines removed, so that most damage hits keys, values and brackets.
    private static readonly string Quickstart = string.Join('\n', File.ReadAllLines(Path.Combine(SweepSpecLoaderTests.RepoRoot(), "hocon", "sweeps", "quickstart.conf"))
        .Where(line => !line.TrimStart().StartsWith('#')));

    [Property(MaxTest = 400)]
    public void A_damaged_spec_loads_or_fails_with_one_clear_line(int position, byte kind, char replacement)
    {
        var i = (int)((uint)position % (uint)Quickstart.Length);
        var damaged = (kind % 3) switch
        {
            0 => Quickstart.Remove(i, 1),
            1 => Quickstart.Insert(i, Quickstart[i].ToString()),
            _ => Quickstart.Remove(i, 1).Insert(i, "{}[]=,:\"#$ ax1.\n"[replacement % 16].ToString()),
        };
        var parse = Task.Run(() =>
        {
            try { SweepSpecLoader.Parse(damaged, "q.conf", _ => null); return null; }
            catch (SweepSpecException e) { return e.Message; }
        });
        Assert.True(parse.Wait(TimeSpan.FromSeconds(10)), $"parsing hung after damaging offset {i}");
        if (parse.Result is { } message)
        {
            Assert.StartsWith("q.conf", message);
            Assert.DoesNotContain('\n', message);
        }
    }
}
