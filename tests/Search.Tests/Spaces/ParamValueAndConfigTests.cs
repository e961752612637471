using Sweep.Search.Spaces;

namespace Sweep.Search.Tests.Spaces;

public class ParamValueAndConfigTests
{
    [Fact]
    public void Config_key_is_sorted_by_name_whatever_the_insertion_order()
    {
        var a = TrialConfig.From(("reg", ParamValue.Of(1e-5)), ("learning_rate", ParamValue.Of(0.001)), ("hidden_dims", ParamValue.Of([100, 50])));
        var b = TrialConfig.Empty.With("hidden_dims", ParamValue.Of([100, 50])).With("reg", ParamValue.Of(1e-5)).With("learning_rate", ParamValue.Of(0.001));
        Assert.Equal("hidden_dims=[100,50] learning_rate=0.001 reg=1e-05", a.Key);
        Assert.Equal(a.Key, b.Key);
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
    }

    [Fact]
    public void Floats_always_print_as_floats_and_ints_as_ints()
    {
        Assert.Equal("1.0", ParamValue.Of(1.0).ToString());
        Assert.Equal("1", ParamValue.Of(1).ToString());
        Assert.NotEqual(ParamValue.Of(1.0), ParamValue.Of(1));
        Assert.Equal("0.0", ParamValue.Of(-0.0).ToString());
        Assert.Equal("true", ParamValue.Of(true).ToString());
    }

    [Fact]
    public void Strings_that_are_not_plain_words_are_quoted_in_the_key()
    {
        var config = TrialConfig.From(("update_rule", ParamValue.Of("adam")), ("note", ParamValue.Of("two words")));
        Assert.Equal("note=\"two words\" update_rule=adam", config.Key);
    }

    [Fact]
    public void Typed_getters_convert_and_name_the_parameter_on_a_mismatch()
    {
        var config = TrialConfig.From(("batch_size", ParamValue.Of(100)), ("learning_rate", ParamValue.Of(1e-3)), ("update_rule", ParamValue.Of("adam")),
            ("hidden_dims", ParamValue.Of([100, 100])), ("epochs", ParamValue.Of(2.0)));
        Assert.Equal(100, config.GetInt("batch_size"));
        Assert.Equal(100.0, config.GetDouble("batch_size"));
        Assert.Equal(2, config.GetInt("epochs"));
        Assert.Equal([100, 100], config.GetIntList("hidden_dims").ToArray());
        Assert.Equal("adam", config.GetString("update_rule"));
        Assert.True(config.TryGetDouble("learning_rate", out var lr) && lr == 1e-3);
        Assert.False(config.TryGetInt("learning_rate", out _));
        Assert.False(config.TryGetString("missing", out _));
        var wrongKind = Assert.Throws<InvalidOperationException>(() => config.GetInt("update_rule"));
        Assert.Contains("update_rule", wrongKind.Message);
        var missing = Assert.Throws<KeyNotFoundException>(() => config.GetDouble("momentum"));
        Assert.Contains("momentum", missing.Message);
    }

    [Fact]
    public void Merge_lets_the_argument_win_and_only_keeps_named_entries()
    {
        var a = TrialConfig.From(("a", ParamValue.Of(1)), ("b", ParamValue.Of(2)));
        var b = TrialConfig.From(("b", ParamValue.Of(3)), ("c", ParamValue.Of(4)));
        Assert.Equal("a=1 b=3 c=4", a.Merge(b).Key);
        Assert.Equal("a=1 c=4", a.Merge(b).Only(["a", "c"]).Key);
        Assert.Throws<ArgumentException>(() => TrialConfig.From(("a", ParamValue.Of(1)), ("a", ParamValue.Of(2))));
    }

    [Fact]
    public void Non_finite_numbers_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => ParamValue.Of(double.NaN));
        Assert.Throws<ArgumentException>(() => ParamValue.Of(double.PositiveInfinity));
    }
}
