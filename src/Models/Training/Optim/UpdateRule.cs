using Sweep.Models.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace Sweep.Models.Training.Optim;

/// <summary>The seeds' update rules (docs/seed-formulas.md §4), by their snake_case names.</summary>
public enum UpdateRuleKind { Sgd, SgdMomentum, SgdNesterovMomentum, RmsProp, Adam }

/// <summary>
/// One parameter's update rule and its state (the seeds keep one config dict per parameter): updates
/// the weight in place from its gradient, exactly as docs/seed-formulas.md §4 writes it. State tensors are created on
/// the first update (zeros, like the seeds' setdefault) unless preset, and are owned by the rule.
/// Number arguments go through <see cref="KeptScalars"/> (a TorchSharp Scalar-lifetime defect).
/// </summary>
public abstract class UpdateRule : IDisposable
{
    protected UpdateRule(double learningRate) => LearningRate = learningRate;

    /// <summary>The current learning rate; the Solver multiplies it by lr_decay after every epoch.</summary>
    public double LearningRate { get; set; }

    /// <summary>w is changed in place; no autograd history is recorded.</summary>
    public void Update(Tensor w, Tensor dw)
    {
        using var _ = torch.no_grad();
        using var scope = NewDisposeScope(); // owns every temporary, whatever scope the caller has
        Apply(w, dw);
    }

    protected abstract void Apply(Tensor w, Tensor dw);

    public abstract void Dispose();

    /// <summary>
    /// The rule's per-parameter state by the seeds' config names (velocity, cache, m, v; Adam's t as a 0-dim int64
    /// tensor): the rule's own tensors, not copies, and none before the first update. A trial checkpoint saves them.
    /// </summary>
    public virtual IReadOnlyList<(string Name, Tensor Value)> State() => [];

    /// <summary>
    /// Replaces the state with copies of <paramref name="state"/> (names as <see cref="State"/> gives them, tensors on
    /// the parameter's device), so that the next update continues exactly where the saved rule stopped.
    /// </summary>
    /// <exception cref="ArgumentException">a name this rule does not keep.</exception>
    public void RestoreState(IReadOnlyDictionary<string, Tensor> state)
    {
        foreach (var name in state.Keys)
            if (!StateNames.Contains(name))
                throw new ArgumentException($"update rule {GetType().Name} keeps no state '{name}'");
        foreach (var name in StateNames)
            SetState(name, state.TryGetValue(name, out var value) ? value : null);
    }

    /// <summary>The names <see cref="State"/> may hold.</summary>
    protected virtual IReadOnlyList<string> StateNames => [];

    /// <summary>Sets (a copy of) one state entry, or clears it when <paramref name="value"/> is null.</summary>
    protected virtual void SetState(string name, Tensor? value) { }

    /// <summary>Replaces <paramref name="current"/> with a copy of <paramref name="value"/> (or nothing), disposing the old one.</summary>
    protected static Tensor? Replace(Tensor? current, Tensor? value)
    {
        current?.Dispose();
        return value is null ? null : Own(value);
    }

    /// <summary>Adam's step count as a state tensor (int64, 0-dim, on the CPU).</summary>
    protected static Tensor CountTensor(long count) => torch.tensor(count).DetachFromDisposeScope();

    /// <summary>
    /// A fresh rule with the seeds' defaults for everything but the learning rate and momentum
    /// (momentum is used by sgd_momentum and sgd_nesterov_momentum only).
    /// </summary>
    public static UpdateRule Create(UpdateRuleKind kind, double learningRate, double momentum = 0.9) => kind switch
    {
        UpdateRuleKind.Sgd => new Sgd(learningRate),
        UpdateRuleKind.SgdMomentum => new SgdMomentum(learningRate, momentum),
        UpdateRuleKind.SgdNesterovMomentum => new SgdNesterovMomentum(learningRate, momentum),
        UpdateRuleKind.RmsProp => new RmsProp(learningRate),
        UpdateRuleKind.Adam => new Adam(learningRate),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown update rule"),
    };

    /// <summary>Parses sgd | sgd_momentum | sgd_nesterov_momentum | rmsprop | adam.</summary>
    public static UpdateRuleKind Parse(string name) => TryParse(name, out var kind)
        ? kind
        : throw new ArgumentException($"unknown update_rule '{name}'; use sgd, sgd_momentum, sgd_nesterov_momentum, rmsprop or adam");

    public static bool TryParse(string? name, out UpdateRuleKind kind)
    {
        switch (name?.Trim().ToLowerInvariant())
        {
            case "sgd": kind = UpdateRuleKind.Sgd; return true;
            case "sgd_momentum": kind = UpdateRuleKind.SgdMomentum; return true;
            case "sgd_nesterov_momentum": kind = UpdateRuleKind.SgdNesterovMomentum; return true;
            case "rmsprop": kind = UpdateRuleKind.RmsProp; return true;
            case "adam": kind = UpdateRuleKind.Adam; return true;
            default: kind = default; return false;
        }
    }

    public static string Name(UpdateRuleKind kind) => kind switch
    {
        UpdateRuleKind.Sgd => "sgd",
        UpdateRuleKind.SgdMomentum => "sgd_momentum",
        UpdateRuleKind.SgdNesterovMomentum => "sgd_nesterov_momentum",
        UpdateRuleKind.RmsProp => "rmsprop",
        UpdateRuleKind.Adam => "adam",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown update rule"),
    };

    /// <summary>A state tensor that lives as long as the rule, whatever dispose scope the first update runs in.</summary>
    protected static Tensor ZerosState(Tensor like) => zeros_like(like).DetachFromDisposeScope();

    protected static Tensor Own(Tensor preset)
    {
        using var _ = torch.no_grad();
        return preset.clone().DetachFromDisposeScope();
    }
}

/// <summary>w -= lr * dw.</summary>
public sealed class Sgd(double learningRate = 1e-2) : UpdateRule(learningRate)
{
    protected override void Apply(Tensor w, Tensor dw) => w.Accumulate_(dw, -LearningRate);

    public override void Dispose() { }
}

/// <summary>v = mu * v - lr * dw; w += v.</summary>
public sealed class SgdMomentum : UpdateRule
{
    private Tensor? _velocity;

    public SgdMomentum(double learningRate = 1e-2, double momentum = 0.9, Tensor? velocity = null) : base(learningRate)
    {
        Momentum = momentum;
        _velocity = velocity is null ? null : Own(velocity);
    }

    public double Momentum { get; }

    /// <summary>The seeds' config['velocity']; null before the first update.</summary>
    public Tensor? Velocity => _velocity;

    protected override void Apply(Tensor w, Tensor dw)
    {
        _velocity ??= ZerosState(w);
        _velocity.Scale_(Momentum).Accumulate_(dw, -LearningRate);
        w.Accumulate_(_velocity);
    }

    public override void Dispose() => _velocity?.Dispose();

    public override IReadOnlyList<(string Name, Tensor Value)> State() => _velocity is null ? [] : [("velocity", _velocity)];

    protected override IReadOnlyList<string> StateNames => ["velocity"];

    protected override void SetState(string name, Tensor? value) => _velocity = Replace(_velocity, value);
}

/// <summary>v_old = v; v = mu * v - lr * dw; w += -mu * v_old + (1 + mu) * v (the ECE rule).</summary>
public sealed class SgdNesterovMomentum : UpdateRule
{
    private Tensor? _velocity;

    public SgdNesterovMomentum(double learningRate = 1e-2, double momentum = 0.9, Tensor? velocity = null) : base(learningRate)
    {
        Momentum = momentum;
        _velocity = velocity is null ? null : Own(velocity);
    }

    public double Momentum { get; }

    public Tensor? Velocity => _velocity;

    protected override void Apply(Tensor w, Tensor dw)
    {
        _velocity ??= ZerosState(w);
        w.Accumulate_(_velocity, -Momentum);
        _velocity.Scale_(Momentum).Accumulate_(dw, -LearningRate);
        w.Accumulate_(_velocity, 1 + Momentum);
    }

    public override void Dispose() => _velocity?.Dispose();

    public override IReadOnlyList<(string Name, Tensor Value)> State() => _velocity is null ? [] : [("velocity", _velocity)];

    protected override IReadOnlyList<string> StateNames => ["velocity"];

    protected override void SetState(string name, Tensor? value) => _velocity = Replace(_velocity, value);
}

/// <summary>cache = beta * cache + (1 - beta) * dw^2; w -= lr * dw / (sqrt(cache) + eps).</summary>
public sealed class RmsProp : UpdateRule
{
    private Tensor? _cache;

    public RmsProp(double learningRate = 1e-2, double decayRate = 0.99, double epsilon = 1e-8, Tensor? cache = null) : base(learningRate)
    {
        DecayRate = decayRate;
        Epsilon = epsilon;
        _cache = cache is null ? null : Own(cache);
    }

    public double DecayRate { get; }
    public double Epsilon { get; }

    public Tensor? Cache => _cache;

    protected override void Apply(Tensor w, Tensor dw)
    {
        _cache ??= ZerosState(w);
        _cache.Scale_(DecayRate).AddProduct_(dw, dw, 1 - DecayRate);
        using var denominator = _cache.sqrt().Shift_(Epsilon);
        w.AddQuotient_(dw, denominator, -LearningRate);
    }

    public override void Dispose() => _cache?.Dispose();

    public override IReadOnlyList<(string Name, Tensor Value)> State() => _cache is null ? [] : [("cache", _cache)];

    protected override IReadOnlyList<string> StateNames => ["cache"];

    protected override void SetState(string name, Tensor? value) => _cache = Replace(_cache, value);
}

/// <summary>
/// t += 1 first; m = b1 m + (1 - b1) dw; v = b2 v + (1 - b2) dw^2; w -= lr * m̂ / (sqrt(v̂) + eps)
/// with the bias corrections m̂ = m / (1 - b1^t), v̂ = v / (1 - b2^t).
/// </summary>
public sealed class Adam : UpdateRule
{
    private Tensor? _m;
    private Tensor? _v;
    private Tensor? _t; // T as a tensor, made for State() and kept until the next call or Dispose

    public Adam(double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8,
        Tensor? m = null, Tensor? v = null, long t = 0) : base(learningRate)
    {
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        _m = m is null ? null : Own(m);
        _v = v is null ? null : Own(v);
        T = t;
    }

    public double Beta1 { get; }
    public double Beta2 { get; }
    public double Epsilon { get; }

    /// <summary>First moment (CS231n 'm', ECE 'v').</summary>
    public Tensor? M => _m;

    /// <summary>Second moment (CS231n 'v', ECE 'a').</summary>
    public Tensor? V => _v;

    /// <summary>Number of updates so far.</summary>
    public long T { get; private set; }

    protected override void Apply(Tensor w, Tensor dw)
    {
        _m ??= ZerosState(w);
        _v ??= ZerosState(w);
        T += 1;
        _m.Scale_(Beta1).Accumulate_(dw, 1 - Beta1);
        _v.Scale_(Beta2).AddProduct_(dw, dw, 1 - Beta2);
        var mCorrection = 1 - Math.Pow(Beta1, T);
        var vCorrection = 1 - Math.Pow(Beta2, T);
        using var denominator = _v.Divide(vCorrection).sqrt_().Shift_(Epsilon);
        w.AddQuotient_(_m, denominator, -LearningRate / mCorrection);
    }

    public override void Dispose()
    {
        _m?.Dispose();
        _v?.Dispose();
        _t?.Dispose();
    }

    public override IReadOnlyList<(string Name, Tensor Value)> State()
    {
        if (_m is null || _v is null)
            return [];
        _t?.Dispose();
        _t = CountTensor(T);
        return [("m", _m), ("v", _v), ("t", _t)];
    }

    protected override IReadOnlyList<string> StateNames => ["m", "v", "t"];

    protected override void SetState(string name, Tensor? value)
    {
        switch (name)
        {
            case "m": _m = Replace(_m, value); break;
            case "v": _v = Replace(_v, value); break;
            default:
                T = value is null ? 0 : value.item<long>();
                break;
        }
    }
}
