using System.Collections.Immutable;
using MathNet.Numerics.Distributions;
using Sweep.Search.Spaces;
using Sweep.Search.Specs;
using Sweep.Search.Trials;

namespace Sweep.Search.Sampling;

/// <summary>
/// Tree-structured Parzen estimator (Bergstra et al., 2011), multivariate as in Optuna's <c>multivariate=True</c> mode.
/// The finished trials of earlier stages (completed, pruned and diverged, and when asked per free slot also those paused
/// at a rung; failed and cancelled ones say nothing about their config) are ranked best first (<see cref="TrialSnapshot.BestFirst"/>); the best <c>gamma</c> share forms the
/// "good" mixture l(x), the rest the "bad" mixture g(x). Each mixture has one product kernel per trial over all searched
/// dimensions (a truncated Gaussian per float/int dimension, in log space for log ranges; a categorical kernel per choice)
/// plus a flat prior kernel. A config is the best of <c>candidates</c> draws from l(x) by l(x)/g(x).
/// With fewer than <c>n_startup_trials</c> finished trials, a stage samples at random (the same configs as
/// <see cref="RandomSampler"/>). A stage asks once for all its configs: after each pick the picked config joins g(x) as a
/// pending trial (a "constant liar" with the worst score), which pushes the next pick of the same stage elsewhere. With
/// <c>stage_start = eager</c> the engine asks once per free slot instead (<see cref="StageRequest.FirstIndex"/>), with every
/// finished trial so far as evidence and the stage's open trials as liars.
/// </summary>
public sealed class TpeSampler : ISampler
{
    private readonly long _seed;
    private readonly ImmutableArray<Axis> _axes;

    public TpeSampler(SearchSpace space, long seed, TpeSettings settings)
    {
        if (settings.Gamma is <= 0 or >= 1) throw new ArgumentException($"tpe gamma must lie in (0, 1), got {settings.Gamma}");
        if (settings.NStartupTrials < 1 || settings.Candidates < 1) throw new ArgumentException("tpe n_startup_trials and candidates must be at least 1");
        Space = space;
        Settings = settings;
        _seed = seed;
        _axes = [.. space.Dimensions.Where(d => d.IsSearched).Select(Axis.Of)];
    }

    public string Kind => "tpe";

    public SearchSpace Space { get; }

    public TpeSettings Settings { get; }

    public ImmutableArray<TrialConfig> Ask(StageRequest request)
    {
        var random = SeedDerivation.AskRandom(_seed, request.Stage, request.FirstIndex);
        var count = request.StageSpec.Count;
        var observed = Observations(request.History);
        if (observed.Count < Settings.NStartupTrials || _axes.IsEmpty)
            return [.. Enumerable.Range(0, count).Select(_ => Space.Sample(random))];

        var goodCount = Math.Max(1, (int)Math.Ceiling(Settings.Gamma * observed.Count));
        var good = new ParzenEstimator(_axes, observed.Take(goodCount).ToList());
        var bad = observed.Skip(goodCount).ToList();
        // Open trials of the stage are liars from the start, as the picks of this ask become after each pick.
        if (!request.Open.IsDefault)
            bad.AddRange(request.Open.Select(Encode).OfType<double[]>());
        var configs = ImmutableArray.CreateBuilder<TrialConfig>(count);
        for (var i = 0; i < count; i++)
        {
            var badDensity = new ParzenEstimator(_axes, bad);
            double[]? best = null;
            var bestScore = double.NegativeInfinity;
            for (var c = 0; c < Settings.Candidates; c++)
            {
                var candidate = good.Sample(random);
                var score = good.LogDensity(candidate) - badDensity.LogDensity(candidate);
                if (best is null || score > bestScore)
                {
                    best = candidate;
                    bestScore = score;
                }
            }
            var config = Decode(best!);
            configs.Add(config);
            bad.Add(Encode(config)!);
        }
        return configs.MoveToImmutable();
    }

    /// <summary>TPE decides nothing about running trials; pruning is the spec's <c>pruning</c> rule.</summary>
    public TrialDecision Tell(TrialProgress progress, IEnumerable<TrialProgress> stagePeers) => TrialDecision.Continue;

    /// <summary>The informative finished trials, best first, as points in the axes' scales.</summary>
    private List<double[]> Observations(IEnumerable<TrialSnapshot> history) =>
        [.. history
            .Where(t => t.Status is TrialStatus.Completed or TrialStatus.Pruned or TrialStatus.Paused or TrialStatus.Diverged)
            .Order(TrialSnapshot.BestFirst)
            .Select(t => Encode(t.Config))
            .OfType<double[]>()];

    /// <summary>The config as a point (scaled value or choice index per axis); null when it lies outside the space.</summary>
    private double[]? Encode(TrialConfig config)
    {
        var point = new double[_axes.Length];
        for (var i = 0; i < _axes.Length; i++)
        {
            if (!config.TryGetValue(_axes[i].Dimension.Name, out var value) || _axes[i].Encode(value) is not { } x) return null;
            point[i] = x;
        }
        return point;
    }

    private TrialConfig Decode(double[] point)
    {
        var values = Space.Dimensions.Where(d => !d.IsSearched).Select(d => KeyValuePair.Create(d.Name, ((Fixed)d).Value)).ToList();
        values.AddRange(_axes.Select((axis, i) => KeyValuePair.Create(axis.Dimension.Name, axis.Decode(point[i]))));
        return TrialConfig.From(values);
    }

    /// <summary>One searched dimension as TPE sees it: a numeric interval [Low, High] in its scale, or C categories.</summary>
    private sealed record Axis(Dimension Dimension, double Low, double High, int Categories)
    {
        public bool IsCategorical => Categories > 0;

        public static Axis Of(Dimension dimension) => dimension switch
        {
            FloatRange f => new Axis(f, Scale(f.Low, f.Log), Scale(f.High, f.Log), 0),
            // Each integer owns the interval [n - 0.5, n + 0.5] (in log space for log ranges), so rounding a draw is fair.
            IntRange r => new Axis(r, Scale(r.Low - 0.5, r.Log), Scale(r.High + 0.5, r.Log), 0),
            Choice c => new Axis(c, 0, 0, c.Values.Length),
            _ => throw new ArgumentException($"{dimension.Name}: TPE cannot search a {dimension.GetType().Name} dimension"),
        };

        private static double Scale(double v, bool log) => log ? Math.Log(v) : v;

        public double? Encode(ParamValue value)
        {
            if (!Dimension.Contains(value)) return null;
            return Dimension switch
            {
                FloatRange f => Scale(value.AsDouble(), f.Log),
                IntRange r => Scale(value.AsInt(), r.Log),
                Choice c => c.Values.IndexOf(value),
                _ => null,
            };
        }

        public ParamValue Decode(double x) => Dimension switch
        {
            FloatRange f => ParamValue.Of(Math.Clamp(Dimension.RoundSignificant(f.Log ? Math.Exp(x) : x), f.Low, f.High)),
            IntRange r => ParamValue.Of(Math.Clamp((int)Math.Round(r.Log ? Math.Exp(x) : x, MidpointRounding.AwayFromZero), r.Low, r.High)),
            Choice c => c.Values[(int)x],
            _ => throw new InvalidOperationException(),
        };
    }

    /// <summary>
    /// A mixture of product kernels, one per observation plus a prior kernel of the same weight: the prior is a Gaussian
    /// centred on the interval with the interval's width as sigma (numeric) or uniform (categorical). Numeric bandwidths
    /// follow Scott's rule for d dimensions, 0.2 x width x n^(-1/(d+4)) (Optuna's choice), kept within [width/100, width].
    /// A categorical kernel keeps 1 - eps on its own category and spreads eps = 1/(n+1) evenly.
    /// </summary>
    private sealed class ParzenEstimator
    {
        private readonly ImmutableArray<Axis> _axes;
        private readonly IReadOnlyList<double[]> _centres;
        private readonly double[] _sigma;
        private readonly double _eps;

        public ParzenEstimator(ImmutableArray<Axis> axes, IReadOnlyList<double[]> observations)
        {
            _axes = axes;
            _centres = observations;
            var n = Math.Max(1, observations.Count);
            _sigma = [.. axes.Select(a => a.IsCategorical ? 0 :
                Math.Clamp(0.2 * (a.High - a.Low) * Math.Pow(n, -1.0 / (axes.Length + 4)), (a.High - a.Low) / 100, a.High - a.Low))];
            _eps = 1.0 / (observations.Count + 1);
        }

        private int Kernels => _centres.Count + 1;

        public double[] Sample(Random random)
        {
            var kernel = random.Next(Kernels);
            var point = new double[_axes.Length];
            for (var i = 0; i < _axes.Length; i++)
            {
                var axis = _axes[i];
                if (axis.IsCategorical)
                {
                    var own = kernel < _centres.Count ? (int)_centres[kernel][i] : -1;
                    point[i] = own >= 0 && random.NextDouble() >= _eps ? own : random.Next(axis.Categories);
                }
                else
                {
                    var (mu, sigma) = Gaussian(kernel, i);
                    point[i] = TruncatedSample(random, mu, sigma, axis.Low, axis.High);
                }
            }
            return point;
        }

        public double LogDensity(double[] point)
        {
            var terms = new double[Kernels];
            for (var k = 0; k < Kernels; k++)
            {
                var log = 0.0;
                for (var i = 0; i < _axes.Length; i++)
                {
                    var axis = _axes[i];
                    if (axis.IsCategorical)
                    {
                        var uniform = 1.0 / axis.Categories;
                        log += k < _centres.Count
                            ? Math.Log((_centres[k][i] == point[i] ? 1 - _eps : 0) + _eps * uniform)
                            : Math.Log(uniform);
                    }
                    else
                    {
                        var (mu, sigma) = Gaussian(k, i);
                        log += Normal.PDFLn(mu, sigma, point[i]) - Math.Log(Mass(mu, sigma, axis.Low, axis.High));
                    }
                }
                terms[k] = log;
            }
            // log(sum_k exp(term_k) / K), computed stably.
            var max = terms.Max();
            return max + Math.Log(terms.Sum(t => Math.Exp(t - max))) - Math.Log(Kernels);
        }

        private (double Mu, double Sigma) Gaussian(int kernel, int axis)
        {
            var a = _axes[axis];
            return kernel < _centres.Count ? (_centres[kernel][axis], _sigma[axis]) : ((a.Low + a.High) / 2, a.High - a.Low);
        }

        private static double Mass(double mu, double sigma, double low, double high) =>
            Math.Max(Normal.CDF(mu, sigma, high) - Normal.CDF(mu, sigma, low), 1e-300);

        /// <summary>A draw from N(mu, sigma) truncated to [low, high] by inverting the CDF over the interval's share.</summary>
        private static double TruncatedSample(Random random, double mu, double sigma, double low, double high)
        {
            var from = Normal.CDF(mu, sigma, low);
            var to = Normal.CDF(mu, sigma, high);
            if (to - from < 1e-12) return Math.Clamp(mu, low, high);
            return Math.Clamp(Normal.InvCDF(mu, sigma, from + random.NextDouble() * (to - from)), low, high);
        }
    }
}
