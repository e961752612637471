using System.Diagnostics;
using System.Text;
using Sweep.Search.Specs;

namespace Sweep.Search.Tests.Specs;

/// <summary>
/// Issue 9, part 4: the inputs that overflowed the HOCON parser's stack or took 47 s and 5 GB are refused before
/// the parser sees them, fast, with one line naming the limit; quoted spec text is escaped and cut short.
/// </summary>
public sealed class SpecLimitsTests
{
    private const string Minimal = """
        name = t
        seed = 1
        data { directory = "../data" }
        model { family = fc, hidden_dims = [100] }
        space { learning_rate { type = float, low = 1e-4, high = 1e-2, log = true } }
        stages = [ { count = 2, epochs = 1 } ]
        """;

    private static string ErrorOf(string text)
    {
        var clock = Stopwatch.StartNew();
        var message = Assert.Throws<SweepSpecException>(() => SweepSpecLoader.Parse(text, "t.conf", _ => null)).Message;
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.DoesNotContain('\n', message);
        return message;
    }

    public static TheoryData<string, string> Oversized => new()
    {
        { "objects 20,000 deep", Minimal + "\nx = " + string.Concat(Enumerable.Repeat("{ a = ", 20_000)) + "1" + new string('}', 20_000) },
        { "arrays 30,000 deep", Minimal + "\nx = " + new string('[', 30_000) + new string(']', 30_000) },
        { "a 100,000-part dotted key", Minimal + "\n" + string.Concat(Enumerable.Repeat("a.", 99_999)) + "a = 1" },
    };

    [Theory]
    [MemberData(nameof(Oversized))]
    public void Deep_nesting_and_long_dotted_keys_are_refused_before_parsing(string what, string text)
    {
        var message = ErrorOf(text);
        Assert.StartsWith("t.conf line 7: ", message);
        Assert.Contains(what.Contains("key") ? $"more than {SpecLimits.MaxKeyParts} parts" : $"deeper than {SpecLimits.MaxDepth} levels", message);
    }

    [Fact]
    public void A_50_MB_list_is_refused_by_size_in_text_and_as_a_file()
    {
        var list = new StringBuilder(Minimal).Append("\nspace { c { type = choice, values = [");
        while (list.Length < 50 * 1024 * 1024)
            list.Append("\"adam\", ");
        var text = list.Append("\"sgd\"] } }").ToString();
        Assert.Contains($"larger than the {SpecLimits.MaxBytes / (1024 * 1024)} MB", ErrorOf(text));

        var file = Path.Combine(Path.GetTempPath(), $"sweep-big-{Guid.NewGuid():N}.conf");
        File.WriteAllText(file, text);
        try
        {
            var message = Assert.Throws<SweepSpecException>(() => SweepSpecLoader.LoadFile(file)).Message;
            Assert.StartsWith(Path.GetFileName(file) + " is larger than", message);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Specs_within_the_limits_still_load()
    {
        var nested = "extra { " + string.Concat(Enumerable.Repeat("a { ", 20)) + "b = [[1], [\"x.y\"]]" + new string('}', 21) + "\na.b.c.d = 2.5";
        Assert.Null(SpecLimits.Check(nested));
        var dotted = Minimal.Replace("model { family = fc, hidden_dims = [100] }", "model.family = fc\nmodel.hidden_dims = [100]");
        Assert.Equal("t", SweepSpecLoader.Parse(dotted, "t.conf", _ => null).Name);
    }

    [Fact]
    public void Control_characters_and_long_spec_text_are_escaped_and_cut_in_messages()
    {
        var hostile = Minimal.Replace("name = t", "name = \"\u001b[31mred\u0000" + new string('x', 5000) + "\"");
        var message = ErrorOf(hostile);
        Assert.DoesNotContain(message, char.IsControl);
        Assert.Contains("\\u001b", message, StringComparison.OrdinalIgnoreCase);
        Assert.True(message.Length <= SpecMessageText.MaxMessage + 4, $"{message.Length} characters");
    }
}
