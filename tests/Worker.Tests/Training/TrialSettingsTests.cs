using Sweep.Models.Data;
using Sweep.Models.Networks;
using Sweep.Models.Training.Optim;
using Sweep.Search.Parameters;
using Sweep.Search.Spaces;
using Sweep.Worker.Cli;
using Sweep.Worker.Training;

namespace Sweep.Worker.Tests.Training;

public class TrialSettingsTests
{
    /// <summary>Values as typed on the command line, read by each parameter's domain (as `sweep train` does).</summary>
    private static TrialSettings From(params (string Name, string Value)[] values) =>
        TrialSettings.From(TrainCommand.ToConfig(values.ToDictionary(v => v.Name, v => v.Value)));

    private static TrialSettings FromTyped(params (string Name, ParamValue Value)[] values) => TrialSettings.From(TrialConfig.From(values));

    private static TrialParameterException Failure(params (string Name, string Value)[] values) =>
        Assert.Throws<TrialParameterException>(() => From(values));

    private static string Error(params (string Name, string Value)[] values) => Failure(values).Message;

    [Fact]
    public void Strings_as_typed_on_the_command_line_map_onto_the_fc_spec_and_solver_options()
    {
        var settings = From(("model", "fc"), ("hidden_dims", "600,600,600,600"), ("weight_scale", "0.04"), ("dropout", "0.2"),
            ("normalization", "batchnorm"), ("update_rule", "adam"), ("learning_rate", "3e-3"), ("lr_decay", "0.95"),
            ("batch_size", "500"), ("epochs", "10"), ("num_train", "4000"), ("reg", "0"), ("seed", "42"));

        var fc = Assert.IsType<FullyConnectedNetSpec>(settings.Model);
        Assert.Equal(new[] { 600, 600, 600, 600 }, fc.HiddenDims);
        Assert.Equal(0.04, fc.WeightScale);
        Assert.Equal(0.2, fc.Dropout);
        Assert.Equal(Normalization.BatchNorm, fc.Normalization);
        Assert.Equal(UpdateRuleKind.Adam, settings.Solver.UpdateRule);
        Assert.Equal(3e-3, settings.Solver.LearningRate);
        Assert.Equal(0.95, settings.Solver.LrDecay);
        Assert.Equal(500, settings.Solver.BatchSize);
        Assert.Equal(10, settings.Solver.Epochs);
        Assert.Equal(4000, settings.Data.NumTrain);
        Assert.Equal(CifarNormalization.MeanImage, settings.Data.Normalization);
        Assert.Equal(42, settings.Seed);
        Assert.Equal(42, settings.Solver.Seed);
    }

    [Fact]
    public void Typed_values_from_a_sweep_config_map_the_same_way()
    {
        var fromStrings = From(("model", "three_layer_convnet"), ("num_filters", "64"), ("filter_size", "3"), ("hidden_dim", "500"),
            ("weight_scale", "1e-3"), ("reg", "1.5e-3"), ("update_rule", "adam"), ("learning_rate", "1e-3"), ("lr_decay", "0.9"));
        var fromTyped = FromTyped(("model", "three_layer_convnet"), ("num_filters", 64), ("filter_size", 3), ("hidden_dim", 500.0),
            ("weight_scale", 1e-3), ("reg", 1.5e-3), ("update_rule", "adam"), ("learning_rate", 1e-3), ("lr_decay", 0.9));
        Assert.Equal(fromStrings.Model, fromTyped.Model);
        Assert.Equal(fromStrings.Solver, fromTyped.Solver);
        var spec = Assert.IsType<ThreeLayerConvNetSpec>(fromTyped.Model);
        Assert.Equal(64, spec.NumFilters);
        Assert.Equal(3, spec.FilterSize);
        Assert.Equal(1.5e-3, spec.Reg);
    }

    [Fact]
    public void Convnet_defaults_to_the_challenge_cnn_with_per_channel_inputs()
    {
        var settings = FromTyped(("model", "convnet"), ("update_rule", "sgd_nesterov_momentum"), ("batch_size", 64));
        Assert.Equal(ConvNetSpec.Challenge, settings.Model);
        Assert.Equal(CifarNormalization.PerChannel, settings.Data.Normalization);
        Assert.Equal(0.9, settings.Solver.Momentum);
        Assert.Equal(1e-2, settings.Solver.EffectiveLearningRate);

        var custom = Assert.IsType<ConvNetSpec>(From(("model", "convnet"), ("conv_channels", "16,32"), ("pool_after", "[1, 2]"),
            ("hidden_dims", ""), ("normalization", "groupnorm"), ("groups", "4"), ("weight_scale", "kaiming"), ("data_normalization", "mean_image")).Model);
        Assert.Equal(new[] { 16, 32 }, custom.ConvChannels);
        Assert.Equal(new[] { 1, 2 }, custom.PoolAfter);
        Assert.Empty(custom.HiddenDims);
        Assert.Null(custom.WeightScale);
        Assert.Equal(4, custom.Groups);
    }

    [Fact]
    public void Model_family_accepts_the_cli_spelling_and_defaults_to_fc()
    {
        Assert.Equal(ModelFamilies.ThreeLayerConvNet, From(("model", "three-layer-convnet")).ModelFamily);
        var fc = From();
        Assert.Equal(ModelFamilies.Fc, fc.ModelFamily);
        Assert.Equal(new[] { 100, 100 }, Assert.IsType<FullyConnectedNetSpec>(fc.Model).HiddenDims);
        Assert.Null(fc.Data.NumTrain);
        Assert.Equal(UpdateRuleKind.Sgd, fc.Solver.UpdateRule);
    }

    [Theory]
    [InlineData("model", "resnet", "model 'resnet' is unknown")]
    [InlineData("epochs", "ten", "epochs 'ten' is not allowed for model fc; allowed: an integer in [1, 10000]")]
    [InlineData("epochs", "0", "epochs '0' is not allowed")]
    [InlineData("learning_rate", "-1", "learning_rate '-1' is not allowed for model fc; allowed: a number > 0")]
    [InlineData("learning_rate", "fast", "learning_rate 'fast' is not allowed")]
    [InlineData("dropout", "1", "dropout '1' is not allowed for model fc; allowed: a number in [0, 1)")]
    [InlineData("lr_decay", "1.5", "lr_decay '1.5' is not allowed")]
    [InlineData("momentum", "1", "momentum '1' is not allowed")]
    [InlineData("update_rule", "adagrad", "update_rule 'adagrad' is not allowed for model fc; allowed: one of sgd|")]
    [InlineData("normalization", "instancenorm", "normalization 'instancenorm' is not allowed")]
    [InlineData("normalization", "groupnorm", "normalization 'groupnorm' is not allowed for model fc; allowed: one of none|batchnorm|layernorm")]
    [InlineData("hidden_dims", "100,x", "hidden_dims '100,x' is not allowed")]
    [InlineData("hidden_dims", "100,0", "hidden_dims '[100,0]' is not allowed")]
    [InlineData("weight_scale", "kaiming", "weight_scale 'kaiming' is not allowed for model fc")]
    [InlineData("num_train", "50000", "num_train '50000' is not allowed")]
    [InlineData("batch_size", "2.5", "batch_size '2.5' is not allowed")]
    [InlineData("num_filters", "8", "parameter 'num_filters' does not apply to model fc")]
    [InlineData("groups", "2", "parameter 'groups' does not apply to model fc; it applies to convnet")]
    [InlineData("learning_rte", "1e-3", "unknown parameter 'learning_rte'")]
    public void Bad_values_give_one_line_naming_the_parameter(string name, string value, string expected)
    {
        var failure = Failure((name, value));
        Assert.Contains(expected, failure.Message);
        Assert.DoesNotContain('\n', failure.Message);
        Assert.Equal(name, failure.Parameter);
    }

    [Fact]
    public void Model_spec_rules_surface_as_trial_settings_errors()
    {
        var groups = Failure(("model", "convnet"), ("normalization", "groupnorm"), ("groups", "3"));
        Assert.Contains("groups 3", groups.Message);
        Assert.Equal("groups", groups.Parameter);
        Assert.Contains("pool_after", Error(("model", "convnet"), ("pool_after", "5")));
        Assert.Contains("filter_size", Error(("model", "three_layer_convnet"), ("filter_size", "4")));
    }

    [Fact]
    public void The_tables_defaults_are_the_models_and_the_solvers_own()
    {
        var fc = From();
        Assert.Equal(new FullyConnectedNetSpec([100, 100]), fc.Model);
        var solver = new Sweep.Models.Training.SolverOptions();
        Assert.Equal(solver.Momentum, fc.Solver.Momentum);
        Assert.Equal(solver.LrDecay, fc.Solver.LrDecay);
        Assert.Equal(solver.BatchSize, fc.Solver.BatchSize);
        Assert.Equal(solver.Epochs, fc.Solver.Epochs);
        Assert.Equal(solver.UpdateRule, fc.Solver.UpdateRule);
        Assert.Equal(solver.LearningRate, fc.Solver.LearningRate);
        Assert.Equal(new ThreeLayerConvNetSpec(), From(("model", "three_layer_convnet")).Model);
    }
}
