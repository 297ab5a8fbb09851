using System.Globalization;
using ArchDsl.Compiler;

namespace ArchDsl.Runtime.Training;

/// <summary>
/// A learning-rate schedule: a pure function of the optimizer step (0-based: the rate used by the
/// first optimizer step is <c>LearningRate(0)</c>).
/// </summary>
public interface ILrSchedule
{
    double LearningRate(long step);
    /// <summary>The momentum (SGD) / Adam β1 to use at a step, for schedules that cycle it; otherwise null.</summary>
    double? Momentum(long step) => null;
}

/// <summary>The same rate at every step.</summary>
public sealed record ConstantSchedule(double Lr) : ILrSchedule
{
    public double LearningRate(long step) => Lr;
}

/// <summary>
/// Linear warm-up then cosine decay. Steps 0..W-1 rise linearly to the base rate:
/// <c>lr = base·(step+1)/W</c> (so the first step already learns); from step W the rate follows
/// <c>min + (base-min)·(1+cos(π·(step-W)/(T-W)))/2</c>, which is <c>base</c> at step W and reaches
/// <c>min</c> at step T (steps beyond T stay at <c>min</c>).
/// </summary>
public sealed class WarmupCosineSchedule : ILrSchedule
{
    public WarmupCosineSchedule(double baseLr, long totalSteps, long warmupSteps = 0, double minLr = 0)
    {
        if (totalSteps <= 0) throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps, "total steps must be positive");
        if (warmupSteps < 0 || warmupSteps > totalSteps)
            throw new ArgumentOutOfRangeException(nameof(warmupSteps), warmupSteps, $"warm-up steps must be in 0..{totalSteps}");
        if (minLr < 0 || minLr > baseLr) throw new ArgumentOutOfRangeException(nameof(minLr), minLr, "min lr must be in [0, lr]");
        BaseLr = baseLr; TotalSteps = totalSteps; WarmupSteps = warmupSteps; MinLr = minLr;
    }

    public double BaseLr { get; }
    public long TotalSteps { get; }
    public long WarmupSteps { get; }
    public double MinLr { get; }

    public double LearningRate(long step)
    {
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step));
        if (step < WarmupSteps) return BaseLr * (step + 1) / WarmupSteps;
        if (step >= TotalSteps || TotalSteps == WarmupSteps) return MinLr;
        double progress = (double)(step - WarmupSteps) / (TotalSteps - WarmupSteps);
        return MinLr + (BaseLr - MinLr) * (1 + Math.Cos(Math.PI * progress)) / 2;
    }
}

public enum AnnealStrategy { Cos, Linear }

/// <summary>
/// The 1cycle policy exactly as PyTorch's <c>torch.optim.lr_scheduler.OneCycleLR</c> (1.13): the rate
/// at step s is what the optimizer's group holds after s calls to <c>scheduler.step()</c>. Phases
/// (two, or three with <c>three_phase</c>) end at float steps <c>pct_start·T - 1</c>
/// (<c>2·pct_start·T - 2</c>) and <c>T - 1</c>; within a phase the rate anneals (cosine or linear) from
/// its start to its end value; initial = max/div_factor, min = initial/final_div_factor. Momentum
/// (β1 for Adam) cycles inversely between max_momentum and base_momentum. Steps 0..T are valid
/// (PyTorch allows stepping to T); later steps throw, as PyTorch does.
/// </summary>
public sealed class OneCycleSchedule : ILrSchedule
{
    private readonly (double EndStep, double StartLr, double EndLr, double StartMom, double EndMom)[] _phases;

    public OneCycleSchedule(double maxLr, long totalSteps, double pctStart = 0.3, AnnealStrategy anneal = AnnealStrategy.Cos,
                            double divFactor = 25.0, double finalDivFactor = 1e4, bool threePhase = false,
                            double baseMomentum = 0.85, double maxMomentum = 0.95)
    {
        if (totalSteps <= 0) throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps, "total steps must be positive");
        if (!(pctStart >= 0 && pctStart <= 1)) throw new ArgumentOutOfRangeException(nameof(pctStart), pctStart, "pct_start must be in [0, 1]");
        MaxLr = maxLr; TotalSteps = totalSteps; PctStart = pctStart; Anneal = anneal;
        DivFactor = divFactor; FinalDivFactor = finalDivFactor; ThreePhase = threePhase;
        BaseMomentum = baseMomentum; MaxMomentum = maxMomentum;
        InitialLr = maxLr / divFactor;
        MinLr = InitialLr / finalDivFactor;
        double t = totalSteps;
        _phases = threePhase
            ? new[]
            {
                (pctStart * t - 1, InitialLr, MaxLr, maxMomentum, baseMomentum),
                (2 * pctStart * t - 2, MaxLr, InitialLr, baseMomentum, maxMomentum),
                (t - 1, InitialLr, MinLr, maxMomentum, maxMomentum),
            }
            : new[]
            {
                (pctStart * t - 1, InitialLr, MaxLr, maxMomentum, baseMomentum),
                (t - 1, MaxLr, MinLr, baseMomentum, maxMomentum),
            };
        // PyTorch's constructor computes step 0, so a configuration whose first step divides by a
        // zero-length phase fails at construction there; do the same.
        Evaluate(0);
    }

    public double MaxLr { get; }
    public long TotalSteps { get; }
    public double PctStart { get; }
    public AnnealStrategy Anneal { get; }
    public double DivFactor { get; }
    public double FinalDivFactor { get; }
    public bool ThreePhase { get; }
    public double BaseMomentum { get; }
    public double MaxMomentum { get; }
    public double InitialLr { get; }
    public double MinLr { get; }

    public double LearningRate(long step) => Evaluate(step).Lr;
    public double? Momentum(long step) => Evaluate(step).Momentum;

    private (double Lr, double Momentum) Evaluate(long step)
    {
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), step, "step must be ≥ 0");
        if (step > TotalSteps)
            throw new ArgumentOutOfRangeException(nameof(step), step, $"one-cycle schedule has {TotalSteps} steps; step {step} is past its end");
        double startStep = 0;
        for (int i = 0; i < _phases.Length; i++)
        {
            var ph = _phases[i];
            if (step <= ph.EndStep || i == _phases.Length - 1)
            {
                if (ph.EndStep - startStep == 0)
                    throw new ArgumentException($"one-cycle with {TotalSteps} total steps and pct_start {PctStart} puts step {step} in an empty phase (PyTorch divides by zero here); use more steps or another pct_start");
                double pct = (step - startStep) / (ph.EndStep - startStep);
                return (AnnealValue(ph.StartLr, ph.EndLr, pct), AnnealValue(ph.StartMom, ph.EndMom, pct));
            }
            startStep = ph.EndStep;
        }
        throw new InvalidOperationException("unreachable");
    }

    private double AnnealValue(double start, double end, double pct)
    {
        if (Anneal == AnnealStrategy.Linear) return (end - start) * pct + start;
        double cosOut = Math.Cos(Math.PI * pct) + 1;
        return end + (start - end) / 2.0 * cosOut;
    }
}

/// <summary>Linear warm-up in front of another schedule: <c>inner(step)·(step+1)/W</c> for the first W steps.</summary>
public sealed class LinearWarmup : ILrSchedule
{
    public LinearWarmup(ILrSchedule inner, long warmupSteps)
    {
        if (warmupSteps < 0) throw new ArgumentOutOfRangeException(nameof(warmupSteps));
        Inner = inner; WarmupSteps = warmupSteps;
    }
    public ILrSchedule Inner { get; }
    public long WarmupSteps { get; }
    public double LearningRate(long step) =>
        step < WarmupSteps ? Inner.LearningRate(step) * (step + 1) / WarmupSteps : Inner.LearningRate(step);
    public double? Momentum(long step) => Inner.Momentum(step);
}

/// <summary>Builds schedules from the train section's <c>schedule:</c> value.</summary>
public static class Schedules
{
    /// <summary>
    /// The schedule of a resolved train section: <c>schedule</c>, the optimizer's <c>lr</c> (default 1e-3),
    /// <c>epochs</c> × <paramref name="stepsPerEpoch"/> total steps, and the top-level <c>warmup</c> (whole
    /// epochs as an integer, or a fraction of all steps as a number below 1): for <c>cosine</c> it is the
    /// warm-up unless the call gives its own; for <c>constant</c> it adds a linear warm-up; <c>onecycle</c>
    /// warms up through pct_start, so a non-zero warmup with it is refused.
    /// </summary>
    public static ILrSchedule FromTrain(TrainConfig train, long stepsPerEpoch)
    {
        if (stepsPerEpoch <= 0) throw new ArgumentOutOfRangeException(nameof(stepsPerEpoch), stepsPerEpoch, "steps per epoch must be positive");
        long epochs = train["epochs"] is { } e ? Convert.ToInt64(e, CultureInfo.InvariantCulture) : 10;
        long total = epochs * stepsPerEpoch;
        double lr = train["optimizer"] is TrainCall { } opt && opt.Args.TryGetValue("lr", out var l)
            ? Convert.ToDouble(l, CultureInfo.InvariantCulture) : 1e-3;
        long warmup = train["warmup"] switch
        {
            null => 0,
            long w => w * stepsPerEpoch,
            int w => w * stepsPerEpoch,
            double f => (long)Math.Round(f * total),
            var other => throw new ArgumentException($"train key 'warmup' must be epochs or a fraction, got {other}"),
        };
        warmup = Math.Min(warmup, total);
        var value = train["schedule"];
        string name = value switch { TrainCall c => c.Name, string s => s, _ => "constant" };
        switch (name.ToLowerInvariant())
        {
            case "cosine" or "cos" or "warmup_cosine":
                var args = value is TrainCall tc ? tc.Args : new Dictionary<string, object>();
                if (warmup > 0 && !args.ContainsKey("warmup") && !args.ContainsKey("warmup_epochs"))
                    value = new TrainCall("cosine", new Dictionary<string, object>(args) { ["warmup"] = warmup });
                return FromConfig(value, lr, total, stepsPerEpoch);
            case "onecycle" or "one_cycle" or "1cycle":
                if (warmup > 0)
                    throw new ArgumentException("onecycle warms up through pct_start; drop the train key 'warmup' or use schedule: cosine");
                return FromConfig(value, lr, total, stepsPerEpoch);
            default:
                var inner = FromConfig(value, lr, total, stepsPerEpoch);
                return warmup > 0 ? new LinearWarmup(inner, warmup) : inner;
        }
    }

    /// <summary>
    /// <c>constant</c> (also null / <c>none</c>); <c>cosine</c>(warmup: steps, warmup_epochs: n, min_lr: x);
    /// <c>onecycle</c>(max_lr: x, pct_start, anneal: cos|linear, div_factor, final_div_factor, three_phase,
    /// base_momentum, max_momentum) — max_lr defaults to the optimizer's lr.
    /// </summary>
    public static ILrSchedule FromConfig(object? value, double lr, long totalSteps, long stepsPerEpoch = 1)
    {
        var (name, args) = value switch
        {
            null => ("constant", (IReadOnlyDictionary<string, object>)new Dictionary<string, object>()),
            string s => (s, new Dictionary<string, object>()),
            TrainCall c => (c.Name, c.Args),
            _ => throw new ArgumentException($"schedule must be a name such as onecycle or cosine, got {value}"),
        };
        double D(string key, double fallback) => args.TryGetValue(key, out var v) ? Convert.ToDouble(v, CultureInfo.InvariantCulture) : fallback;
        long L(string key, long fallback) => args.TryGetValue(key, out var v) ? Convert.ToInt64(v, CultureInfo.InvariantCulture) : fallback;
        void Only(params string[] keys)
        {
            foreach (var k in args.Keys)
                if (!keys.Contains(k))
                    throw new ArgumentException($"schedule {name} has no argument '{k}'; it takes {(keys.Length == 0 ? "none" : string.Join(", ", keys))}");
        }

        switch (name.ToLowerInvariant())
        {
            case "constant" or "none" or "const":
                Only();
                return new ConstantSchedule(lr);
            case "cosine" or "cos" or "warmup_cosine":
            {
                Only("warmup", "warmup_epochs", "min_lr");
                long warmup = args.ContainsKey("warmup_epochs") ? L("warmup_epochs", 0) * stepsPerEpoch : L("warmup", 0);
                return new WarmupCosineSchedule(lr, totalSteps, Math.Min(warmup, totalSteps), D("min_lr", 0));
            }
            case "onecycle" or "one_cycle" or "1cycle":
            {
                Only("max_lr", "pct_start", "anneal", "div_factor", "final_div_factor", "three_phase", "base_momentum", "max_momentum");
                var anneal = args.TryGetValue("anneal", out var a) ? (string)a switch
                {
                    "cos" => AnnealStrategy.Cos,
                    "linear" => AnnealStrategy.Linear,
                    var other => throw new ArgumentException($"onecycle anneal must be cos or linear, got {other}"),
                } : AnnealStrategy.Cos;
                bool three = args.TryGetValue("three_phase", out var tp) && Convert.ToBoolean(tp, CultureInfo.InvariantCulture);
                return new OneCycleSchedule(D("max_lr", lr), totalSteps, D("pct_start", 0.3), anneal, D("div_factor", 25),
                                            D("final_div_factor", 1e4), three, D("base_momentum", 0.85), D("max_momentum", 0.95));
            }
            default:
                throw new ArgumentException($"unknown schedule '{name}'; known: constant, cosine, onecycle");
        }
    }
}
