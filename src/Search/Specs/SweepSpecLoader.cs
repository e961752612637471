using System.Collections.Immutable;
using System.Globalization;
using Akka.Configuration.Hocon;
using Akka.Configuration;
using Sweep.Search.Parameters;
using Sweep.Search.Spaces;

namespace Sweep.Search.Specs;

/// <summary>
/// Reads a sweep spec (HOCON, see <c>hocon/sweeps/*.conf</c>) into a validated <see cref="SweepSpec"/>. Every problem
/// is a <see cref="SweepSpecException"/> with one line naming the key, the value and what is allowed (or the line
/// number for syntax errors). <c>key = ${?ENV_VAR}</c> lines override the key when the variable is set.
/// </summary>
public static class SweepSpecLoader
{
    public static readonly ImmutableArray<string> TopLevelKeys =
        ["name", "seed", "data", "model", "training", "space", "sampler", "grid_points", "stages", "max_retries", "trial_timeout",
         "checkpoints", "tpe", "pruning", "stage_start", "quorum"];

    private static readonly string[] DataKeys = ["directory", "num_train", "num_val"];
    private static readonly string[] StageKeys = ["count", "epochs", "num_train", "top_k", "carry_over", "margin", "pruning"];
    private static readonly string[] DimensionTypes = ["float", "int", "choice", "fixed"];

    /// <summary>CIFAR-10 has 50,000 training images; train and validation images come out of them.</summary>
    public const int CifarTrainImages = 50_000;

    /// <summary>Largest grid a spec may ask for; the grid sampler builds the whole grid in memory.</summary>
    public const long MaxGridPoints = 100_000;

    public static SweepSpec LoadFile(string path, Func<string, string?>? environment = null)
    {
        if (!File.Exists(path))
            throw new SweepSpecException($"sweep spec '{path}' does not exist; pass the path of a .conf file, e.g. hocon/sweeps/quickstart.conf");
        if (new FileInfo(path).Length is var size && size > SpecLimits.MaxBytes)
            throw new SweepSpecException($"{Path.GetFileName(path)} {SpecLimits.TooLarge(size)}");
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SweepSpecException($"sweep spec '{path}' cannot be read: {e.Message}", e);
        }
        return Parse(text, Path.GetFileName(path), environment);
    }

    /// <param name="text">HOCON text.</param>
    /// <param name="source">Name used in messages (file name).</param>
    /// <param name="environment">Environment lookup for <c>${?VAR}</c>; the process environment by default.</param>
    public static SweepSpec Parse(string text, string source = "sweep spec", Func<string, string?>? environment = null)
    {
        if (SpecLimits.Check(text) is { } limit) throw new SweepSpecException($"{source} {limit}");
        var reader = new Reader(source);
        string prepared;
        try
        {
            prepared = HoconPrecheck.ApplyEnvironmentOverrides(text, environment ?? Environment.GetEnvironmentVariable);
        }
        catch (SweepSpecException e)
        {
            throw new SweepSpecException($"{source} {e.Message}");
        }
        if (HoconPrecheck.FindSyntaxError(prepared) is { } syntax) throw new SweepSpecException($"{source} {syntax}");
        Config config;
        try
        {
            config = ConfigurationFactory.ParseString(prepared);
        }
        catch (Exception e) when (e is not SweepSpecException)
        {
            throw new SweepSpecException($"{source}: not valid HOCON: {HoconPrecheck.WithLineNumbers(FirstSentence(OneLine(e.Message)), prepared)}", e);
        }
        if (config.IsEmpty || config.Root?.IsObject() != true)
            throw new SweepSpecException($"{source}: the spec is empty; it needs at least name, seed, data, model, space and stages (see hocon/sweeps/quickstart.conf)");
        return reader.Read(config);
    }

    /// <summary>Akka appends the whole text after "Unknown token at position N:"; the position is what matters.</summary>
    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(": ", message.IndexOf("position", StringComparison.Ordinal) is var p and >= 0 ? p : 0, StringComparison.Ordinal);
        return message.Contains("position", StringComparison.Ordinal) && cut > 0 ? message[..cut] : message;
    }

    internal static string OneLine(string message) => string.Join(" ", message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries)).Trim();

    private sealed class Reader(string source)
    {
        private SweepSpecException Error(string key, string? value, string problem) =>
            new(value is null ? $"{source}: {Visible(key)}: {problem}" : $"{source}: {Visible(key)} = {Visible(value)}: {problem}");

        /// <summary>Keeps the message on one line whatever a broken spec put into a key or value.</summary>
        private static string Visible(string text) =>
            text.Any(char.IsControl) ? System.Text.Json.JsonSerializer.Serialize(text) : text;

        public SweepSpec Read(Config config)
        {
            var root = config.Root.GetObject();
            CheckKeys(root, "", TopLevelKeys);
            var name = RequiredString(root, "name", "name");
            if (name.Length == 0 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
                throw Error("name", name, "allowed: letters, digits, '_', '-' and '.' (it names the sweep in the journal)");
            var seed = RequiredLong(root, "seed", "seed");
            var data = ReadData(Required(root, "data", "data"));
            var modelObject = Object(Required(root, "model", "model"), "model");
            var family = RequiredString(modelObject, "family", "model.family");
            if (!ModelFamilies.All.Contains(family))
                throw Error("model.family", family, "allowed: " + string.Join("|", ModelFamilies.All));

            var fixedValues = new List<KeyValuePair<string, ParamValue>>();
            var fixedOrigin = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (key, value) in modelObject.Items.Where(kv => kv.Key != "family"))
            {
                var path = "model." + key;
                CheckPlacement(family, key, path, value, ParameterSection.Model);
                fixedValues.Add(KeyValuePair.Create(key, CheckedValue(family, key, path, value)));
                fixedOrigin[key] = path;
            }
            if (root.Items.TryGetValue("training", out var trainingValue))
            {
                foreach (var (key, value) in Object(trainingValue, "training").Items)
                {
                    var path = "training." + key;
                    CheckPlacement(family, key, path, value, ParameterSection.Training);
                    fixedValues.Add(KeyValuePair.Create(key, CheckedValue(family, key, path, value)));
                    fixedOrigin[key] = path;
                }
            }

            var dimensions = new List<Dimension>();
            foreach (var (key, value) in Object(Required(root, "space", "space"), "space").Items)
            {
                var path = "space." + key;
                CheckPlacement(family, key, path, value, null);
                if (fixedOrigin.TryGetValue(key, out var other))
                    throw Error(path, null, $"{key} is also fixed as {other}; set it in one place");
                dimensions.Add(ReadDimension(family, key, path, value));
            }
            if (dimensions.Count == 0)
                throw Error("space", "{}", "the space needs at least one dimension, e.g. learning_rate { type = float, low = 1e-4, high = 1e-2, log = true }");
            var space = new SearchSpace(dimensions);
            var fixedConfig = TrialConfig.From(fixedValues);
            CheckCrossParameter(family, fixedConfig, space);

            var sampler = SamplerKind.CoarseToFine;
            if (root.Items.TryGetValue("sampler", out var samplerValue))
            {
                var text = String(samplerValue, "sampler");
                sampler = text switch
                {
                    "coarse_to_fine" => SamplerKind.CoarseToFine,
                    "random" => SamplerKind.Random,
                    "grid" => SamplerKind.Grid,
                    "tpe" => SamplerKind.Tpe,
                    _ => throw Error("sampler", text, "allowed: coarse_to_fine|random|grid|tpe"),
                };
            }
            var gridPoints = root.Items.TryGetValue("grid_points", out var gp) ? Int(gp, "grid_points", min: 1, max: 1000) : 3;
            if (sampler == SamplerKind.Grid && space.GridSize(gridPoints) > MaxGridPoints)
                throw Error("grid_points", gridPoints.ToString(CultureInfo.InvariantCulture),
                    $"the grid would hold {space.GridSize(gridPoints)} configs (more than {MaxGridPoints}); lower grid_points, fix some dimensions or use sampler = random");
            var stages = ReadStages(root, data, sampler);
            var maxRetries = root.Items.TryGetValue("max_retries", out var mr) ? Int(mr, "max_retries", min: 0, max: 100) : 2;
            var timeout = TimeSpan.FromHours(1);
            if (root.Items.TryGetValue("trial_timeout", out var to))
            {
                var text = String(to, "trial_timeout");
                try { timeout = config.GetTimeSpan("trial_timeout", null, allowInfinite: false); }
                catch (Exception) { timeout = TimeSpan.Zero; }
                if (timeout <= TimeSpan.Zero) throw Error("trial_timeout", text, "allowed: a positive duration such as 30s, 10m or 2h");
            }
            var spec = new SweepSpec
            {
                Name = name,
                Seed = seed,
                Data = data,
                Model = family,
                Fixed = fixedConfig,
                Space = space,
                Sampler = sampler,
                GridPoints = gridPoints,
                Stages = stages,
                MaxRetries = maxRetries,
                TrialTimeout = timeout,
                Checkpoints = root.Items.TryGetValue("checkpoints", out var checkpoints) ? ReadCheckpoints(checkpoints) : null,
                Tpe = ReadTpe(root, sampler),
                Pruning = root.Items.TryGetValue("pruning", out var pruning) ? ReadPruning(pruning, "pruning") : null,
                StageStart = ReadStageStart(root),
            };
            CheckRungsCanResume(spec);
            return spec;
        }

        /// <summary>Successive halving and ASHA pause trials at rungs and resume them from their checkpoints, so a spec that keeps none cannot use them.</summary>
        private void CheckRungsCanResume(SweepSpec spec)
        {
            if (spec.CheckpointPolicy.Enabled) return;
            for (var stage = 1; stage <= spec.Stages.Length; stage++)
            {
                if (!spec.PruningOf(stage).UsesRungs) continue;
                var path = spec.Stages[stage - 1].Pruning is not null ? $"stages[{stage - 1}].pruning.rule" : "pruning.rule";
                throw Error(path, spec.PruningOf(stage).Rule == PruningRule.Asha ? "asha" : "successive_halving",
                    "pauses trials at rungs and resumes them from their checkpoints, but checkpoints.every = 0 keeps none; set checkpoints.every = 1");
            }
        }

        private void CheckCrossParameter(string family, TrialConfig fixedConfig, SearchSpace space)
        {
            var normalizations = fixedConfig.TryGetValue("normalization", out var n) ? [n] :
                space.Find("normalization") is { } d ? d.GridValues(1) : ImmutableArray<ParamValue>.Empty;
            var groupnorm = normalizations.Any(v => v.Kind == ParamKind.String && v.AsString() == "groupnorm");
            if (groupnorm && !fixedConfig.Contains("groups") && space.Find("groups") is null)
                throw Error("model.groups", null, "normalization can be groupnorm, so model.groups (the number of groups, e.g. 4) is required");
            if (groupnorm && fixedConfig.TryGetInt("groups", out var groups))
            {
                var widthsName = family == ModelFamilies.ConvNet ? "conv_channels" : "hidden_dims";
                if (fixedConfig.TryGetIntList(widthsName, out var widths) && widths.FirstOrDefault(w => w % groups != 0) is var bad and > 0)
                    throw Error("model.groups", groups.ToString(CultureInfo.InvariantCulture), $"groupnorm needs groups to divide every layer width, but {widthsName} has {bad}; allowed: a divisor of every width");
            }
            if (family == ModelFamilies.ConvNet && !fixedConfig.Contains("conv_channels") && space.Find("conv_channels") is null)
                throw Error("model.conv_channels", null, "a convnet needs conv_channels, e.g. [32, 64]");
            if (family == ModelFamilies.Fc && !fixedConfig.Contains("hidden_dims") && space.Find("hidden_dims") is null)
                throw Error("model.hidden_dims", null, "an fc net needs hidden_dims, e.g. [100, 100]");
            // A pool_after left out takes the table's default, which the worker checks against conv_channels just the same.
            if (family == ModelFamilies.ConvNet && fixedConfig.TryGetIntList("conv_channels", out var channels) && space.Find("pool_after") is null &&
                TrialParameters.PoolAfter.IntList(fixedConfig, family) is { } pools)
            {
                var bad = pools.FirstOrDefault(p => p > channels.Length);
                if (bad > 0) throw Error("model.pool_after", ParamValue.Of(pools).ToString(), $"pool index {bad} is past the last of {channels.Length} conv layers; allowed 1..{channels.Length}");
            }
        }

        private DataSpec ReadData(HoconValue value)
        {
            var data = Object(value, "data");
            CheckKeys(data, "data.", DataKeys);
            var directory = RequiredString(data, "directory", "data.directory");
            if (directory.Length == 0)
                throw Error("data.directory", "\"\"", "allowed: the folder holding data_batch_1.bin..data_batch_5.bin (set it, or export SWEEP_DATA)");
            var numVal = data.Items.TryGetValue("num_val", out var nv) ? Int(nv, "data.num_val", 1, CifarTrainImages - 1) : 1_000;
            var numTrain = data.Items.TryGetValue("num_train", out var nt) ? Int(nt, "data.num_train", 1, CifarTrainImages - numVal) : CifarTrainImages - numVal;
            return new DataSpec(directory, numTrain, numVal);
        }

        private CheckpointSpec ReadCheckpoints(HoconValue value)
        {
            var block = Object(value, "checkpoints");
            CheckKeys(block, "checkpoints.", CheckpointSpec.Keys);
            var every = block.Items.TryGetValue("every", out var e) ? Int(e, "checkpoints.every", 0, CheckpointSpec.MaxEvery) : CheckpointSpec.DefaultEvery;
            var keep = Choice(block, "keep", "checkpoints.keep", CheckpointKeep.Latest, ("latest", CheckpointKeep.Latest), ("none", CheckpointKeep.None));
            var carry = Choice(block, "carry_over", "checkpoints.carry_over", true, ("continue", true), ("retrain", false));
            return new CheckpointSpec(every, keep, carry);
        }

        /// <summary>An optional key that takes one of a few words: <paramref name="fallback"/> when absent, a one-line error naming the words when another.</summary>
        private T Choice<T>(HoconObject block, string key, string path, T fallback, params (string Word, T Value)[] choices)
        {
            if (!block.Items.TryGetValue(key, out var value)) return fallback;
            var text = String(value, path);
            foreach (var (word, chosen) in choices)
                if (word == text) return chosen;
            throw Error(path, text, "allowed: " + string.Join("|", choices.Select(c => c.Word)));
        }

        private ImmutableArray<StageSpec> ReadStages(HoconObject root, DataSpec data, SamplerKind sampler)
        {
            var value = Required(root, "stages", "stages");
            if (!IsArray(value)) throw Error("stages", Text(value), "allowed: a list of stage objects, e.g. [ { count = 6, epochs = 1 } ]");
            var items = value.GetArray();
            if (items.Count == 0) throw Error("stages", "[]", "a sweep needs at least one stage");
            var stages = ImmutableArray.CreateBuilder<StageSpec>();
            for (var i = 0; i < items.Count; i++)
            {
                var prefix = $"stages[{i}]";
                if (!items[i].IsObject()) throw Error(prefix, Text(items[i]), "allowed: an object such as { count = 6, epochs = 1 }");
                var stage = items[i].GetObject();
                CheckKeys(stage, prefix + ".", StageKeys);
                var count = stage.Items.TryGetValue("count", out var c) ? Int(c, prefix + ".count", 0, 100_000) : throw Error(prefix + ".count", null, "missing; how many new configs the stage samples, e.g. count = 6");
                var epochs = stage.Items.TryGetValue("epochs", out var e) ? Int(e, prefix + ".epochs", 1, 10_000) : throw Error(prefix + ".epochs", null, "missing; epochs each trial of the stage trains, e.g. epochs = 1");
                var numTrain = stage.Items.TryGetValue("num_train", out var nt) ? Int(nt, prefix + ".num_train", 1, data.NumTrain) : data.NumTrain;
                var topK = stage.Items.TryGetValue("top_k", out var tk) ? Int(tk, prefix + ".top_k", 0, 100_000) : 0;
                var carry = stage.Items.TryGetValue("carry_over", out var co) ? Int(co, prefix + ".carry_over", 0, 100_000) : 0;
                var margin = stage.Items.TryGetValue("margin", out var m) ? Double(m, prefix + ".margin") : 0.1;
                if (margin is < 0 or > 10) throw Error(prefix + ".margin", Text(m!), "allowed: a number in [0, 10] (fraction of each dimension's full width added on each side)");
                if (i == 0 && (topK > 0 || carry > 0))
                    throw Error(prefix + (topK > 0 ? ".top_k" : ".carry_over"), (topK > 0 ? topK : carry).ToString(CultureInfo.InvariantCulture), "stage 1 has no previous stage to narrow around; allowed: 0 (or leave it out)");
                if (sampler != SamplerKind.CoarseToFine && (topK > 0 || carry > 0))
                    throw Error(prefix + (topK > 0 ? ".top_k" : ".carry_over"), (topK > 0 ? topK : carry).ToString(CultureInfo.InvariantCulture), "only sampler = coarse_to_fine narrows and carries over; remove it or use coarse_to_fine");
                if (carry > topK)
                    throw Error(prefix + ".carry_over", carry.ToString(CultureInfo.InvariantCulture), $"allowed: 0..top_k ({topK}); carried configs come from the top-K");
                if (count + carry == 0)
                    throw Error(prefix + ".count", "0", "the stage would run no trial; allowed: count >= 1 (or carry_over >= 1)");
                var stagePruning = stage.Items.TryGetValue("pruning", out var sp) ? ReadPruning(sp, prefix + ".pruning") : null;
                stages.Add(new StageSpec(count, epochs, numTrain, topK, carry, margin, stagePruning));
            }
            return stages.ToImmutable();
        }

        private static readonly string[] TpeKeys = ["n_startup_trials", "gamma", "candidates"];
        private static readonly string[] PruningKeys = ["rule", "min_epochs", "min_peers", "reduction_factor"];

        private TpeSettings? ReadTpe(HoconObject root, SamplerKind sampler)
        {
            if (!root.Items.TryGetValue("tpe", out var value)) return sampler == SamplerKind.Tpe ? TpeSettings.Default : null;
            if (sampler != SamplerKind.Tpe) throw Error("tpe", null, "only sampler = tpe reads it; remove it or set sampler = tpe");
            var tpe = Object(value, "tpe");
            CheckKeys(tpe, "tpe.", TpeKeys);
            var defaults = TpeSettings.Default;
            var startup = tpe.Items.TryGetValue("n_startup_trials", out var n) ? Int(n, "tpe.n_startup_trials", 1, 100_000) : defaults.NStartupTrials;
            var gamma = tpe.Items.TryGetValue("gamma", out var g) ? Double(g, "tpe.gamma") : defaults.Gamma;
            if (gamma is <= 0 or >= 1) throw Error("tpe.gamma", Text(g!), "allowed: a fraction in (0, 1), e.g. 0.25 (the share of trials that count as good)");
            var candidates = tpe.Items.TryGetValue("candidates", out var c) ? Int(c, "tpe.candidates", 1, 10_000) : defaults.Candidates;
            return new TpeSettings(startup, gamma, candidates);
        }

        private PruningSpec ReadPruning(HoconValue value, string path)
        {
            const string allowed = "allowed: none|median|successive_halving|asha";
            var pruning = Object(value, path);
            CheckKeys(pruning, path + ".", PruningKeys);
            var ruleText = pruning.Items.TryGetValue("rule", out var r) ? String(r, path + ".rule") : throw Error(path + ".rule", null, "missing; " + allowed);
            var rule = ruleText switch
            {
                "none" => PruningRule.None,
                "median" => PruningRule.Median,
                "successive_halving" => PruningRule.SuccessiveHalving,
                "asha" => PruningRule.Asha,
                _ => throw Error(path + ".rule", ruleText, allowed),
            };
            var rungs = rule is PruningRule.SuccessiveHalving or PruningRule.Asha;
            var minEpochs = pruning.Items.TryGetValue("min_epochs", out var me) ? Int(me, path + ".min_epochs", 1, 10_000) : 1;
            if (pruning.Items.TryGetValue("min_peers", out var mp) && rungs)
                throw Error(path + ".min_peers", Text(mp), "only rule = median reads it; successive_halving and asha rank every trial at a rung (see reduction_factor)");
            var minPeers = mp is not null ? Int(mp, path + ".min_peers", 1, 100_000) : 3;
            int? reductionFactor = null;
            if (pruning.Items.TryGetValue("reduction_factor", out var rf))
            {
                if (!rungs) throw Error(path + ".reduction_factor", Text(rf), "only rule = successive_halving or asha reads it");
                reductionFactor = Int(rf, path + ".reduction_factor", 2, 100);
            }
            else if (rungs)
            {
                reductionFactor = PruningSpec.DefaultReductionFactor;
            }
            return new PruningSpec(rule, minEpochs, minPeers, reductionFactor);
        }

        private StageStartSpec? ReadStageStart(HoconObject root)
        {
            var mode = Choice(root, "stage_start", "stage_start", StageStartMode.Barrier, ("barrier", StageStartMode.Barrier), ("eager", StageStartMode.Eager));
            if (!root.Items.TryGetValue("quorum", out var q)) return mode == StageStartMode.Eager ? new StageStartSpec(mode, 0.75) : null;
            if (mode != StageStartMode.Eager) throw Error("quorum", Text(q), "only stage_start = eager reads it; remove it or set stage_start = eager");
            var quorum = Double(q, "quorum");
            if (quorum is <= 0 or > 1) throw Error("quorum", Text(q), "allowed: a fraction in (0, 1], e.g. 0.75 (the share of a stage that must finish before the next is planned)");
            return new StageStartSpec(mode, quorum);
        }

        private Dimension ReadDimension(string family, string name, string path, HoconValue value)
        {
            if (!value.IsObject()) return new Fixed(name, CheckedValue(family, name, path, value));
            var dim = value.GetObject();
            var type = dim.Items.TryGetValue("type", out var t) ? String(t, path + ".type") : throw Error(path + ".type", null, "missing; allowed: " + string.Join("|", DimensionTypes));
            try
            {
                switch (type)
                {
                    case "float":
                    {
                        CheckKeys(dim, path + ".", ["type", "low", "high", "log"]);
                        var low = Bound(family, name, path + ".low", Required(dim, "low", path + ".low"));
                        var high = Bound(family, name, path + ".high", Required(dim, "high", path + ".high"));
                        if (low.Kind != ParamKind.Float) throw Error(path + ".type", "float", $"{name} takes {KindOf(low)}; use type = int, choice or fixed");
                        var log = dim.Items.TryGetValue("log", out var l) && Bool(l, path + ".log");
                        return new FloatRange(name, low.AsDouble(), high.AsDouble(), log);
                    }
                    case "int":
                    {
                        CheckKeys(dim, path + ".", ["type", "low", "high", "log"]);
                        var low = Bound(family, name, path + ".low", Required(dim, "low", path + ".low"));
                        var high = Bound(family, name, path + ".high", Required(dim, "high", path + ".high"));
                        if (low.Kind != ParamKind.Int) throw Error(path + ".type", "int", $"{name} takes {KindOf(low)}; use type = {(low.Kind == ParamKind.Float ? "float" : "choice")}");
                        var log = dim.Items.TryGetValue("log", out var l) && Bool(l, path + ".log");
                        return new IntRange(name, low.AsInt(), high.AsInt(), log);
                    }
                    case "choice":
                    {
                        CheckKeys(dim, path + ".", ["type", "values"]);
                        var values = Required(dim, "values", path + ".values");
                        if (!IsArray(values)) throw Error(path + ".values", Text(values), "allowed: a non-empty list, e.g. [adam, sgd_momentum]");
                        var items = values.GetArray();
                        if (items.Count == 0) throw Error(path + ".values", "[]", "a choice needs at least one value");
                        return new Choice(name, [.. items.Select((v, i) => CheckedValue(family, name, $"{path}.values[{i}]", v))]);
                    }
                    case "fixed":
                        CheckKeys(dim, path + ".", ["type", "value"]);
                        return new Fixed(name, CheckedValue(family, name, path + ".value", Required(dim, "value", path + ".value")));
                    default:
                        throw Error(path + ".type", type, "unknown dimension type; allowed: " + string.Join("|", DimensionTypes));
                }
            }
            catch (ArgumentException e)
            {
                throw Error(path, Text(value), e.Message.StartsWith(name + ": ", StringComparison.Ordinal) ? e.Message[(name.Length + 2)..] : e.Message);
            }
        }

        private static string KindOf(ParamValue v) => ParamValue.KindName(v.Kind);

        /// <summary>A range bound: checked like a value, except string/list bounds which make no range.</summary>
        private ParamValue Bound(string family, string name, string path, HoconValue value)
        {
            var v = CheckedValue(family, name, path, value);
            if (!v.IsNumber) throw Error(path, v.ToString(), $"a range bound must be a number; for {name} use type = choice");
            return v;
        }

        private ParamValue CheckedValue(string family, string name, string path, HoconValue value)
        {
            var raw = Literal(value, path);
            var rule = TrialParameters.Find(name)!.RuleFor(family);
            return rule.Domain.Normalize(raw) ?? throw Error(path, raw.ToString(), "allowed: " + rule.Domain.Describe());
        }

        private ParamValue Literal(HoconValue value, string path)
        {
            if (IsArray(value))
            {
                var items = value.GetArray();
                var ints = new List<int>();
                foreach (var item in items)
                {
                    if (!item.IsString() || !int.TryParse(item.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n))
                        throw Error(path, Text(value), "allowed: a list of integers, e.g. [100, 100]");
                    ints.Add(n);
                }
                return ParamValue.Of(ints);
            }
            if (value.IsObject()) throw Error(path, "{...}", "allowed: a number, string, boolean or integer list here, not an object");
            return ParamValue.Parse(value.GetString() ?? "");
        }


        private static bool IsArray(HoconValue value) =>
            value.IsArray() || (!value.IsString() && !value.IsObject() && value.Values.Count > 0 && value.Values[0] is HoconArray);

        private static string Text(HoconValue value)
        {
            if (IsArray(value)) return "[" + string.Join(", ", value.GetArray().Select(Text)) + "]";
            if (value.IsObject()) return "{...}";
            return value.GetString() ?? "";
        }

        /// <summary>
        /// Checks that <paramref name="key"/> is a trial parameter that applies to <paramref name="family"/> and belongs in
        /// <paramref name="section"/> (null: space, which takes model and training parameters), with the fix in the message.
        /// </summary>
        private void CheckPlacement(string family, string key, string path, HoconValue value, ParameterSection? section)
        {
            var searchable = new[] { ParameterSection.Model, ParameterSection.Training };
            var allowedHere = section is { } only ? TrialParameters.Of(family, only) : [.. searchable.SelectMany(s => TrialParameters.Of(family, s))];
            var allowedText = string.Join(", ", allowedHere.Select(p => p.Name));
            var where = section switch { ParameterSection.Model => "model", ParameterSection.Training => "training", _ => "space" };
            if (TrialParameters.Find(key) is not { } parameter || parameter.Section == ParameterSection.Family)
                throw Error(path, null, $"unknown parameter '{key}' for model {family} in {where}; allowed: {allowedText}");
            if (!parameter.AppliesTo(family))
                throw Error(path, Text(value), $"{key} does not apply to model {family} (only to {string.Join(", ", parameter.Families)}); allowed in {where}: {allowedText}");
            switch (parameter.Section)
            {
                case ParameterSection.Budget:
                    throw Error(path, Text(value), section is null ? $"{key} is set per stage (stages[i].{key}), it cannot be searched" : $"{key} is set per stage; move it to stages[i].{key}");
                case ParameterSection.Seed:
                    throw Error(path, Text(value), "each trial's seed is derived from the sweep's seed; set the top-level seed instead");
                case ParameterSection.Model when section == ParameterSection.Training:
                    throw Error(path, Text(value), $"{key} is a model setting; move it to model.{key}");
                case ParameterSection.Training when section == ParameterSection.Model:
                    throw Error(path, Text(value), $"{key} is a training setting; move it to training.{key}");
            }
        }

        private void CheckKeys(HoconObject obj, string prefix, IEnumerable<string> allowed)
        {
            var set = allowed.ToList();
            foreach (var key in obj.Items.Keys)
                if (!set.Contains(key))
                    throw Error(prefix + key, null, "unknown key; allowed: " + string.Join(", ", set));
        }

        private HoconValue Required(HoconObject obj, string key, string path) =>
            obj.Items.TryGetValue(key, out var v) ? v : throw Error(path, null, "missing (required); see hocon/sweeps/quickstart.conf for an example");

        private HoconObject Object(HoconValue value, string path) =>
            value.IsObject() ? value.GetObject() : throw Error(path, Text(value), "allowed: an object { ... }");

        private string String(HoconValue value, string path) =>
            value.IsString() ? value.GetString() : throw Error(path, Text(value), "allowed: a single value, not a list or object");

        private string RequiredString(HoconObject obj, string key, string path) => String(Required(obj, key, path), path);

        private long RequiredLong(HoconObject obj, string key, string path)
        {
            var text = RequiredString(obj, key, path);
            return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? n : throw Error(path, text, "allowed: an integer");
        }

        private int Int(HoconValue value, string path, int min, int max)
        {
            var text = String(value, path);
            return int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
                ? n
                : throw Error(path, text, $"allowed: an integer in [{min}, {max}]");
        }

        private double Double(HoconValue value, string path)
        {
            var text = String(value, path);
            return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) ? d : throw Error(path, text, "allowed: a number");
        }

        private bool Bool(HoconValue value, string path)
        {
            var text = String(value, path);
            return text switch
            {
                "true" or "on" or "yes" => true,
                "false" or "off" or "no" => false,
                _ => throw Error(path, text, "allowed: true|false"),
            };
        }
    }
}
