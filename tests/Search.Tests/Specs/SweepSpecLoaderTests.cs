using Sweep.Search.Parameters;
using Sweep.Search.Planning;
using Sweep.Search.Spaces;
using Sweep.Search.Specs;

namespace Sweep.Search.Tests.Specs;

public class SweepSpecLoaderTests
{
    private const string Minimal = """
        name = t
        seed = 1
        data { directory = "../data" }
        model { family = fc, hidden_dims = [100] }
        space { learning_rate { type = float, low = 1e-4, high = 1e-2, log = true } }
        stages = [ { count = 2, epochs = 1 } ]
        """;

    private static string Env(string _) => null!;

    private static SweepSpec Parse(string text) => SweepSpecLoader.Parse(text, "t.conf", Env);

    private static string ErrorOf(string text) => Assert.Throws<SweepSpecException>(() => Parse(text)).Message;

    internal static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (Directory.Exists(Path.Combine(dir.FullName, "hocon", "sweeps")) && File.Exists(Path.Combine(dir.FullName, "Sweep.sln")))
                return dir.FullName;
        throw new DirectoryNotFoundException("no folder above the test binaries holds hocon/sweeps and Sweep.sln");
    }

    public static TheoryData<string> ExampleSpecs() =>
        [.. Directory.GetFiles(Path.Combine(RepoRoot(), "hocon", "sweeps"), "*.conf").Select(f => Path.GetFileName(f)).Order()];

    [Theory]
    [MemberData(nameof(ExampleSpecs))]
    public void Every_example_spec_loads_and_plans(string file)
    {
        var spec = SweepSpecLoader.LoadFile(Path.Combine(RepoRoot(), "hocon", "sweeps", file), Env);
        Assert.Equal("../shared/data/cifar-10-batches-bin", spec.Data.Directory);
        Assert.NotEmpty(spec.Space.SearchedNames);
        var plan = SweepPlanner.FirstStage(spec);
        Assert.Equal(spec.Stages[0].Count, plan.Trials.Length);
        Assert.All(plan.Trials, t => Assert.True(spec.Space.Contains(t.Params)));
        // Every trial config passes the parameter table (family, names and values), as the worker will check it.
        Assert.All(plan.Trials, t => Assert.Equal(spec.Model, TrialParameters.Validate(t.Params)));
    }

    [Fact]
    public void The_quickstart_is_small_enough_for_two_cpu_cores()
    {
        var spec = SweepSpecLoader.LoadFile(Path.Combine(RepoRoot(), "hocon", "sweeps", "quickstart.conf"), Env);
        Assert.Equal("fc", spec.Model);
        var imageEpochs = spec.Stages.Sum(s => (long)s.MaxTrials * s.Epochs * s.NumTrain);
        // A small FC net trains ~15,000 images/s per CPU worker here: about a minute of training with 2 workers.
        Assert.InRange(imageEpochs, 1, 1_000_000);
        Assert.All(spec.Stages, s => Assert.InRange(s.Epochs * s.NumTrain, 1, 100_000));
    }

    [Fact]
    public void A_minimal_spec_gets_the_documented_defaults()
    {
        var spec = Parse(Minimal);
        Assert.Equal(SamplerKind.CoarseToFine, spec.Sampler);
        Assert.Equal(2, spec.MaxRetries);
        Assert.Equal(TimeSpan.FromHours(1), spec.TrialTimeout);
        Assert.Equal(new DataSpec("../data", 49_000, 1_000), spec.Data);
        Assert.Equal(new StageSpec(2, 1, 49_000, 0, 0, 0.1), spec.Stages[0]);
        Assert.Equal(new FloatRange("learning_rate", 1e-4, 1e-2, log: true), spec.Space.Dimensions.Single());
        Assert.Equal([100], spec.Fixed.GetIntList("hidden_dims").ToArray());
    }

    [Fact]
    public void Every_dimension_kind_and_value_kind_is_read()
    {
        var spec = Parse(Minimal.Replace("space { learning_rate { type = float, low = 1e-4, high = 1e-2, log = true } }", """
            space {
              learning_rate { type = float, low = 1e-4, high = 1e-2, log = true }
              batch_size { type = int, low = 25, high = 200 }
              update_rule { type = choice, values = [adam, "rmsprop"] }
              hidden_dims { type = choice, values = [[100], [100, 100]] }
              reg = 0
              dropout { type = fixed, value = 0.25 }
            }
            """).Replace("hidden_dims = [100]", "normalization = batchnorm"));
        Assert.IsType<IntRange>(spec.Space.Find("batch_size"));
        Assert.Equal(["adam", "rmsprop"], Assert.IsType<Choice>(spec.Space.Find("update_rule")).Values.Select(v => v.AsString()));
        Assert.Equal([[100], [100, 100]], Assert.IsType<Choice>(spec.Space.Find("hidden_dims")).Values.Select(v => v.AsIntList().ToArray()));
        // An int written for a float parameter becomes a float, so configs print and compare consistently.
        Assert.Equal(ParamValue.Of(0.0), Assert.IsType<Fixed>(spec.Space.Find("reg")).Value);
        Assert.Equal(ParamValue.Of(0.25), Assert.IsType<Fixed>(spec.Space.Find("dropout")).Value);
    }

    [Fact]
    public void The_environment_overrides_the_data_directory_only_when_set()
    {
        const string text = """
            name = t
            seed = 1
            data {
              directory = "../shared/data/cifar-10-batches-bin"
              directory = ${?SWEEP_DATA}
            }
            model { family = fc, hidden_dims = [100] }
            space { learning_rate { type = float, low = 1e-4, high = 1e-2 } }
            stages = [ { count = 2, epochs = 1 } ]
            """;
        Assert.Equal("../shared/data/cifar-10-batches-bin", SweepSpecLoader.Parse(text, "t.conf", _ => null).Data.Directory);
        Assert.Equal("/data/cifar", SweepSpecLoader.Parse(text, "t.conf", name => name == "SWEEP_DATA" ? "/data/cifar" : null).Data.Directory);
        Assert.Equal("/my \"odd\" dir", SweepSpecLoader.Parse(text, "t.conf", _ => "/my \"odd\" dir").Data.Directory);
    }

    [Fact]
    public void An_inline_environment_override_is_substituted_when_set_and_an_error_when_not()
    {
        var inline = Minimal.Replace("data { directory = \"../data\" }", "data { directory = ${?SWEEP_DATA} }");
        Assert.Equal("/d", SweepSpecLoader.Parse(inline, "t.conf", _ => "/d").Data.Directory);
        var message = Assert.Throws<SweepSpecException>(() => SweepSpecLoader.Parse(inline, "t.conf", _ => null)).Message;
        Assert.StartsWith("t.conf line 3: ${?SWEEP_DATA} is not set", message);
    }

    [Theory]
    [InlineData("learning_rate { type = float, low = 1e-2, high = 1e-4 }", "space.learning_rate", "low (0.01) must be below high (0.0001)")]
    [InlineData("reg { type = float, low = 0, high = 1e-2, log = true }", "space.reg", "log range needs low > 0")]
    [InlineData("learning_rate { type = float, low = -1, high = 1e-2 }", "space.learning_rate.low = -1", "allowed: a number > 0")]
    [InlineData("dropout { type = float, low = 0, high = 1.0 }", "space.dropout.high = 1.0", "allowed: a number in [0, 1)")]
    [InlineData("update_rule { type = choice, values = [] }", "space.update_rule.values = []", "at least one value")]
    [InlineData("update_rule { type = choice, values = [adam, adamw] }", "space.update_rule.values[1] = adamw", "allowed: one of sgd|sgd_momentum|sgd_nesterov_momentum|rmsprop|adam")]
    [InlineData("learning_rate { type = gaussian, low = 1, high = 2 }", "space.learning_rate.type = gaussian", "allowed: float|int|choice|fixed")]
    [InlineData("learning_rate { low = 1, high = 2 }", "space.learning_rate.type", "missing")]
    [InlineData("learning_rate { type = float, low = 1e-4, hi = 2 }", "space.learning_rate.hi", "unknown key; allowed: type, low, high, log")]
    [InlineData("num_filters { type = int, low = 8, high = 64 }", "space.num_filters", "num_filters does not apply to model fc (only to three_layer_convnet)")]
    [InlineData("learnig_rate { type = float, low = 1e-4, high = 1e-2 }", "space.learnig_rate", "unknown parameter 'learnig_rate'")]
    [InlineData("epochs { type = int, low = 1, high = 3 }", "space.epochs", "set per stage")]
    [InlineData("batch_size { type = float, low = 10, high = 100 }", "space.batch_size", "use type = int")]
    [InlineData("hidden_dims { type = int, low = 10, high = 100 }", "space.hidden_dims.low = 10", "allowed: a non-empty list of integers")]
    [InlineData("reg { type = float, low = 0, high = 1e-2 }\n dropout = 0.2\n learning_rate = 0.01\n reg2 = 1", "space.reg2", "unknown parameter")]
    [InlineData("hidden_dims { type = choice, values = [[100, x]] }", "space.hidden_dims.values[0] = [100, x]", "a list of integers")]
    public void Invalid_spaces_fail_with_one_line_naming_key_value_and_what_is_allowed(string space, string key, string allowed)
    {
        // The model fixes nothing here, so the space may search any fc parameter; the space error comes first.
        var message = ErrorOf(Minimal.Replace("space { learning_rate { type = float, low = 1e-4, high = 1e-2, log = true } }", $"space {{ {space} }}").Replace("model { family = fc, hidden_dims = [100] }", "model { family = fc }"));
        Assert.StartsWith("t.conf: ", message);
        Assert.Contains(key, message);
        Assert.Contains(allowed, message);
        Assert.DoesNotContain('\n', message);
    }

    [Theory]
    [InlineData("stages = [ { count = 2, epochs = 1 } ]", "stages = []", "stages = []", "at least one stage")]
    [InlineData("stages = [ { count = 2, epochs = 1 } ]", "stages = [ { count = 2 } ]", "stages[0].epochs", "missing")]
    [InlineData("stages = [ { count = 2, epochs = 1 } ]", "stages = [ { count = 2, epochs = 0 } ]", "stages[0].epochs = 0", "allowed: an integer in [1, 10000]")]
    [InlineData("stages = [ { count = 2, epochs = 1 } ]", "stages = [ { count = 2, epochs = 1, top_k = 2 } ]", "stages[0].top_k = 2", "stage 1 has no previous stage")]
    [InlineData("stages = [ { count = 2, epochs = 1 } ]", "stages = [ { count = 2, epochs = 1 }, { count = 2, epochs = 2, top_k = 1, carry_over = 2 } ]", "stages[1].carry_over = 2", "allowed: 0..top_k (1)")]
    [InlineData("stages = [ { count = 2, epochs = 1 } ]", "stages = [ { count = 2, epochs = 1, num_train = 60000 } ]", "stages[0].num_train = 60000", "allowed: an integer in [1, 49000]")]
    [InlineData("stages = [ { count = 2, epochs = 1 } ]", "stages = [ { count = 2, epochs = 1, budget = 3 } ]", "stages[0].budget", "unknown key")]
    [InlineData("seed = 1", "seed = one", "seed = one", "allowed: an integer")]
    [InlineData("seed = 1", "", "seed", "missing")]
    [InlineData("name = t", "name = \"my sweep\"", "name = my sweep", "allowed: letters, digits")]
    [InlineData("family = fc", "family = resnet", "model.family = resnet", "allowed: fc|three_layer_convnet|convnet")]
    [InlineData("hidden_dims = [100]", "hidden_dims = [100], groups = 4", "model.groups = 4", "groups does not apply to model fc (only to convnet)")]
    [InlineData("hidden_dims = [100]", "hidden_dims = []", "model.hidden_dims = []", "non-empty list")]
    [InlineData("hidden_dims = [100]", "hidden_dims = [100], normalization = groupnorm", "model.normalization = groupnorm", "allowed: one of none|batchnorm|layernorm")]
    [InlineData("family = fc", "family = convnet\nconv_channels = [32, 64]\nnormalization = groupnorm", "model.groups", "required")]
    [InlineData("family = fc", "family = convnet\nconv_channels = [32, 64]\nnormalization = groupnorm\ngroups = 3", "model.groups = 3", "groupnorm needs groups to divide every layer width, but conv_channels has 32")]
    [InlineData("hidden_dims = [100]", "hidden_dims = [100], num_filters = 3", "model.num_filters = 3", "num_filters does not apply to model fc (only to three_layer_convnet)")]
    [InlineData("seed = 1", "seed = 1\ntraining { epochs = 3 }", "training.epochs = 3", "move it to stages[i].epochs")]
    [InlineData("seed = 1", "seed = 1\ntraining { update_rule = adamw }", "training.update_rule = adamw", "allowed: one of")]
    [InlineData("seed = 1", "seed = 1\ntraining { reg = 0.1 }", "training.reg = 0.1", "reg is a model setting; move it to model.reg")]
    [InlineData("hidden_dims = [100]", "hidden_dims = [100], batch_size = 50", "model.batch_size = 50", "move it to training.batch_size")]
    [InlineData("seed = 1", "seed = 1\nsampler = grid\ngrid_points = 1000\nspace { learning_rate { type = float, low = 1e-4, high = 1e-2 }\n reg { type = float, low = 0, high = 1 } }", "grid_points = 1000", "the grid would hold 1000000 configs")]
    [InlineData("seed = 1", "seed = 1\nsampler = bayes", "sampler = bayes", "allowed: coarse_to_fine|random|grid")]
    [InlineData("seed = 1", "seed = 1\ntrial_timeout = soon", "trial_timeout = soon", "allowed: a positive duration")]
    [InlineData("seed = 1", "seed = 1\nmax_retries = -1", "max_retries = -1", "allowed: an integer in [0, 100]")]
    [InlineData("seed = 1", "seed = 1\nworkers = 3", "workers", "unknown key; allowed: name, seed")]
    [InlineData("seed = 1", "seed = 1\nsampler = random\nstages = [ { count = 2, epochs = 1 }, { count = 2, epochs = 1, top_k = 2 } ]", "stages[1].top_k = 2", "only sampler = coarse_to_fine")]
    [InlineData("data { directory = \"../data\" }", "data { directory = \"../data\", num_train = 49500, num_val = 1000 }", "data.num_train = 49500", "allowed: an integer in [1, 49000]")]
    public void Invalid_settings_fail_with_one_line_naming_key_value_and_what_is_allowed(string find, string replace, string key, string allowed)
    {
        var text = Minimal.Replace(find, replace);
        if (replace.Contains("sampler = random")) text = text.Replace("stages = [ { count = 2, epochs = 1 } ]\n", "").Replace("stages = [ { count = 2, epochs = 1 } ]", "");
        var message = ErrorOf(text);
        Assert.StartsWith("t.conf: ", message);
        Assert.Contains(key, message);
        Assert.Contains(allowed, message);
        Assert.DoesNotContain('\n', message);
    }

    [Theory]
    [InlineData("name = t\nseed = 1\nspace {\n  lr = [1, 2\n}\n", "line 5: '}' does not match the '[' opened on line 4", "")]
    [InlineData("name = t\nseed = 1\nstages = [\n", "line 3: '[' is never closed", "")]
    [InlineData("name = t\nseed = \nmodel { family = fc }\n", "line 2: a key has no value", "")]
    [InlineData("name = t\nseed = 1 }\n", "line 2: '}' closes nothing", "")]
    [InlineData("name = \"t\nseed = 1\n", "line 1: a quoted string is not closed", "")]
    [InlineData("name = t\nmodel { family = fc\n", "line 2: '{' is never closed", "")]
    [InlineData("name == t\nseed = 1\n", "line 1: '==' is not an assignment", "")]
    [InlineData("name = t\nseed\nmodel { family = fc }\n", "line 2: 'seed' has no value (write seed = value", "")]
    [InlineData("name = t\nmodel { family = fc } extra\n", "line 2: 'extra' has no value", "")]
    [InlineData("name = t\nmodel { family = fc, dropout }\n", "line 2: 'dropout' has no value", "")]
    [InlineData("name = t\nspace {\n  a { type = fixed, value = 1 }, b { type = fixed, value = 2 }\n}\n", "line 3: remove the ',' after '}'", "")]
    public void Syntax_errors_name_the_line(string text, string expected, string _)
    {
        var message = ErrorOf(text);
        Assert.StartsWith("t.conf line", message);
        Assert.Contains(expected, message);
    }

    [Fact]
    public void Colons_in_values_need_quotes_and_the_parser_says_so_in_one_line()
    {
        var spec = Parse(Minimal.Replace("data { directory = \"../data\" }", "data {\n  directory = \"c:/data=x\"\n}"));
        Assert.Equal("c:/data=x", spec.Data.Directory);
        Assert.Equal(Path.GetFullPath(Path.Combine("/base", "c:/data=x")), spec.Data.ResolveDirectory("/base"));
        var message = ErrorOf(Minimal.Replace("data { directory = \"../data\" }", "data {\n  directory = c:/data\n}"));
        Assert.StartsWith("t.conf: not valid HOCON: ", message);
        Assert.Contains("enclose the item with double quotes", message);
        Assert.DoesNotContain('\n', message);
    }

    [Fact]
    public void Missing_and_empty_files_fail_clearly()
    {
        var missing = Assert.Throws<SweepSpecException>(() => SweepSpecLoader.LoadFile("no/such/spec.conf"));
        Assert.Contains("'no/such/spec.conf' does not exist", missing.Message);
        Assert.Contains("the spec is empty", ErrorOf("# nothing here\n"));
    }

    [Fact]
    public void A_convnet_spec_checks_pool_indices_and_accepts_kaiming()
    {
        var convnet = Minimal.Replace("model { family = fc, hidden_dims = [100] }",
            "model { family = convnet, conv_channels = [16, 32], pool_after = [1, 2], hidden_dims = [], weight_scale = kaiming }");
        var spec = Parse(convnet);
        Assert.Equal("kaiming", spec.Fixed.GetString("weight_scale"));
        Assert.Empty(spec.Fixed.GetIntList("hidden_dims"));
        Assert.Contains("pool index 3 is past the last of 2 conv layers", ErrorOf(convnet.Replace("pool_after = [1, 2]", "pool_after = [1, 3]")));
        Assert.Contains("allowed: a number > 0", ErrorOf(Minimal.Replace("hidden_dims = [100]", "hidden_dims = [100], weight_scale = kaiming")));
    }
}
