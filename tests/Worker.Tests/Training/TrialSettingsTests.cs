using Sweep.Models.Data;
using Sweep.Models.Models;
using Sweep.Models.Training.Optim;
using Sweep.Worker.Training;

namespace Sweep.Worker.Tests.Training;

public class TrialSettingsTests
{
    private static TrialSettings From(params (string Name, object? Value)[] values) =>
        TrialSettings.FromValues(values.ToDictionary(v => v.Name, v => v.Value));

    private static string Error(params (string Name, object? Value)[] values) =>
        Assert.Throws<TrialSettingsException>(() => From(values)).Message;

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
        var fromTyped = From(("model", "three_layer_convnet"), ("num_filters", 64L), ("filter_size", 3), ("hidden_dim", 500.0),
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
        var settings = From(("model", "convnet"), ("update_rule", "sgd_nesterov_momentum"), ("batch_size", 64));
        Assert.Equal(ConvNetSpec.Challenge, settings.Model);
        Assert.Equal(CifarNormalization.PerChannel, settings.Data.Normalization);
        Assert.Equal(0.9, settings.Solver.Momentum);
        Assert.Equal(1e-2, settings.Solver.EffectiveLearningRate);

        var custom = Assert.IsType<ConvNetSpec>(From(("model", "convnet"), ("conv_channels", new[] { 16, 32 }), ("pool_after", "[1, 2]"),
            ("hidden_dims", ""), ("normalization", "groupnorm"), ("groups", 4), ("weight_scale", "kaiming"), ("data_normalization", "mean_image")).Model);
        Assert.Equal(new[] { 16, 32 }, custom.ConvChannels);
        Assert.Equal(new[] { 1, 2 }, custom.PoolAfter);
        Assert.Empty(custom.HiddenDims);
        Assert.Null(custom.WeightScale);
        Assert.Equal(4, custom.Groups);
    }

    [Fact]
    public void Model_family_accepts_the_cli_spelling_and_defaults_to_fc()
    {
        Assert.Equal(TrialSettings.ThreeLayerConvNet, From(("model", "three-layer-convnet")).ModelFamily);
        var fc = From();
        Assert.Equal(TrialSettings.Fc, fc.ModelFamily);
        Assert.Equal(new[] { 100, 100 }, Assert.IsType<FullyConnectedNetSpec>(fc.Model).HiddenDims);
        Assert.Null(fc.Data.NumTrain);
        Assert.Equal(UpdateRuleKind.Sgd, fc.Solver.UpdateRule);
    }

    [Theory]
    [InlineData("model", "resnet", "model 'resnet' is unknown")]
    [InlineData("epochs", "ten", "epochs 'ten' is not a whole number")]
    [InlineData("epochs", "0", "epochs 0 is out of range")]
    [InlineData("learning_rate", "-1", "learning_rate -1 is out of range")]
    [InlineData("learning_rate", "fast", "learning_rate 'fast' is not a number")]
    [InlineData("dropout", "1", "dropout 1 is out of range")]
    [InlineData("lr_decay", "1.5", "lr_decay 1.5 is out of range")]
    [InlineData("momentum", "1", "momentum 1 is out of range")]
    [InlineData("update_rule", "adagrad", "update_rule 'adagrad' is unknown")]
    [InlineData("normalization", "instancenorm", "normalization 'instancenorm' is unknown")]
    [InlineData("normalization", "groupnorm", "groupnorm is not available for the fc model")]
    [InlineData("hidden_dims", "100,x", "hidden_dims '100,x' is not a comma-separated list")]
    [InlineData("hidden_dims", "100,0", "has an entry below 1")]
    [InlineData("weight_scale", "kaiming", "only available for the convnet model")]
    [InlineData("num_train", "50000", "num_train 50000 is out of range")]
    [InlineData("batch_size", "2.5", "batch_size '2.5' is not a whole number")]
    [InlineData("num_filters", "8", "parameter 'num_filters' does not apply to model fc")]
    [InlineData("learning_rte", "1e-3", "unknown parameter 'learning_rte'")]
    public void Bad_values_give_one_line_naming_the_parameter(string name, string value, string expected)
    {
        var message = Error((name, value));
        Assert.Contains(expected, message);
        Assert.DoesNotContain('\n', message);
    }

    [Fact]
    public void Model_spec_rules_surface_as_trial_settings_errors()
    {
        var message = Error(("model", "convnet"), ("normalization", "groupnorm"), ("groups", "3"));
        Assert.Contains("groups 3", message);
        Assert.Contains("pool_after", Error(("model", "convnet"), ("pool_after", "5")));
        Assert.Contains("filter_size", Error(("model", "three_layer_convnet"), ("filter_size", "4")));
    }

    [Fact]
    public void Every_documented_name_is_known()
    {
        string[] documented =
        [
            "model", "hidden_dims", "num_filters", "filter_size", "hidden_dim", "conv_channels", "pool_after", "normalization", "groups",
            "dropout", "weight_scale", "reg", "update_rule", "learning_rate", "momentum", "lr_decay", "batch_size", "epochs", "num_train",
        ];
        Assert.All(documented, name => Assert.Contains(name, TrialSettings.KnownNames));
    }
}
