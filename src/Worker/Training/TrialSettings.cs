using Sweep.Models.Data;
using Sweep.Models.Networks;
using Sweep.Models.Training.Optim;
using Sweep.Models.Training;
using Sweep.Search.Parameters;
using Sweep.Search.Spaces;
using P = Sweep.Search.Parameters.TrialParameters;

namespace Sweep.Worker.Training;

/// <summary>
/// The model spec, solver options and data split of one training run, mapped from a trial config through the
/// parameter table (<see cref="TrialParameters"/>): every value is checked against the table's rule for the config's
/// model family and read in its own type, and a parameter not given takes the table's default. `./sweep train` and
/// the cluster worker both map here, so they agree with the spec loader on names, values and defaults. Any
/// problem is a <see cref="TrialParameterException"/> naming the parameter: a configuration error, never worth a retry.
/// </summary>
public sealed record TrialSettings(
    string ModelFamily,
    ModelSpec Model,
    SolverOptions Solver,
    CifarSplitOptions Data,
    long Seed)
{
    /// <summary>
    /// Maps <paramref name="config"/>; its <c>seed</c> entry, when present, overrides <paramref name="defaultSeed"/>.
    /// </summary>
    /// <exception cref="TrialParameterException">one line naming the parameter and what it allows.</exception>
    public static TrialSettings From(TrialConfig config, long defaultSeed = 0)
    {
        var family = P.Validate(config);
        var reg = P.Reg.Double(config, family)!.Value;
        ModelSpec model = family switch
        {
            ModelFamilies.Fc => new FullyConnectedNetSpec(P.HiddenDims.IntList(config, family)!.Value)
            {
                Normalization = ToNormalization(P.Normalization.Text(config, family)!),
                Dropout = P.Dropout.Double(config, family)!.Value,
                WeightScale = P.WeightScale.Double(config, family)!.Value,
                Reg = reg,
            },
            ModelFamilies.ThreeLayerConvNet => new ThreeLayerConvNetSpec
            {
                NumFilters = P.NumFilters.Int(config, family)!.Value,
                FilterSize = P.FilterSize.Int(config, family)!.Value,
                HiddenDim = P.HiddenDim.Int(config, family)!.Value,
                WeightScale = P.WeightScale.Double(config, family)!.Value,
                Reg = reg,
            },
            _ => new ConvNetSpec(P.ConvChannels.IntList(config, family)!.Value, P.PoolAfter.IntList(config, family)!.Value,
                P.HiddenDims.IntList(config, family)!.Value)
            {
                Normalization = ToNormalization(P.Normalization.Text(config, family)!),
                Groups = P.Groups.Int(config, family)!.Value,
                Dropout = P.Dropout.Double(config, family)!.Value,
                // kaiming (the default) reads as no number: PyTorch's default init.
                WeightScale = P.WeightScale.Double(config, family),
                Reg = reg,
            },
        };
        Checked(() => model.Validate());

        var updateRule = P.UpdateRule.Text(config, family)!;
        var solver = new SolverOptions
        {
            UpdateRule = UpdateRule.TryParse(updateRule, out var kind)
                ? kind
                : throw new TrialParameterException(P.UpdateRule.Name, $"update_rule '{updateRule}' has no Solver update rule"),
            LearningRate = P.LearningRate.Double(config, family),
            Momentum = P.Momentum.Double(config, family)!.Value,
            LrDecay = P.LrDecay.Double(config, family)!.Value,
            BatchSize = P.BatchSize.Int(config, family)!.Value,
            Epochs = P.Epochs.Int(config, family)!.Value,
            Seed = config.Contains(P.Seed.Name) ? P.Seed.Long(config, family)!.Value : defaultSeed,
        };
        Checked(() => solver.Validate());

        var data = CifarSplitOptions.Default with
        {
            NumTrain = P.NumTrain.Int(config, family),
            Normalization = P.DataNormalization.Text(config, family) == "per_channel" ? CifarNormalization.PerChannel : CifarNormalization.MeanImage,
        };
        return new TrialSettings(family, model, solver, data, solver.Seed);
    }

    private static Normalization ToNormalization(string name) => name switch
    {
        "batchnorm" => Normalization.BatchNorm,
        "layernorm" => Normalization.LayerNorm,
        "groupnorm" => Normalization.GroupNorm,
        _ => Normalization.None,
    };

    /// <summary>
    /// The models' and the Solver's own checks (cross-parameter rules such as groups dividing every conv width) with
    /// their message naming the parameter it starts with.
    /// </summary>
    private static void Checked(Action validate)
    {
        try
        {
            validate();
        }
        catch (ArgumentException e)
        {
            var parameter = P.All.Select(p => p.Name).Where(name => e.Message.StartsWith(name, StringComparison.Ordinal))
                .OrderByDescending(name => name.Length).FirstOrDefault() ?? P.Model.Name;
            throw new TrialParameterException(parameter, e.Message.Split('\n')[0]);
        }
    }
}
