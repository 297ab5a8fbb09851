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
    private readonly (double StartLr, double EndLr, double StartMom, double EndMom)[] _phases;
    private readonly double[] _ends;   // each phase's end step (OneCyclePhases, the one definition check uses too)

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
        _ends = OneCyclePhases.Ends(totalSteps, pctStart, threePhase);
        _phases = threePhase
            ? new[]
            {
                (InitialLr, MaxLr, maxMomentum, baseMomentum),
                (MaxLr, InitialLr, baseMomentum, maxMomentum),
                (InitialLr, MinLr, maxMomentum, maxMomentum),
            }
            : new[]
            {
                (InitialLr, MaxLr, maxMomentum, baseMomentum),
                (MaxLr, MinLr, baseMomentum, maxMomentum),
            };
        // PyTorch's constructor computes step 0, so a configuration whose first step divides by a zero-length phase
        // fails at construction there; one whose later step does fails when training reaches it. Refused here, before
        // any step, for any step a run trains — as check reports it (AD0390).
        if (OneCyclePhases.EmptyPhaseStep(totalSteps, pctStart, threePhase) is { } empty)
            throw new ArgumentException(OneCyclePhases.Describe(totalSteps, pctStart, threePhase, empty) + "; use more steps or another pct_start");
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
        var (phase, startStep) = OneCyclePhases.Of(step, _ends);
        if (_ends[phase] - startStep == 0) // step T only: the constructor refuses an empty phase at any step a run trains
            throw new ArgumentException(OneCyclePhases.Describe(TotalSteps, PctStart, ThreePhase, step) + "; use more steps or another pct_start");
        var ph = _phases[phase];
        double pct = (step - startStep) / (_ends[phase] - startStep);
        return (AnnealValue(ph.StartLr, ph.EndLr, pct), AnnealValue(ph.StartMom, ph.EndMom, pct));
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

/// <summary>Builds the schedule of a resolved train section (the compiler's typed <see cref="ScheduleConfig"/>).</summary>
public static class Schedules
{
    /// <summary>
    /// The schedule of a resolved train section over <c>epochs</c> × <paramref name="stepsPerEpoch"/>
    /// steps at the optimizer's <c>lr</c>, with the top-level <c>warmup</c>: for <c>cosine</c> it is the
    /// warm-up unless the call gives its own; for <c>constant</c> it adds a linear warm-up; <c>onecycle</c>
    /// warms up through pct_start, so a non-zero warmup with it is refused.
    /// </summary>
    /// <exception cref="ArgumentException">onecycle with a warmup, or with too few steps for its phases (as PyTorch).</exception>
    public static ILrSchedule FromTrain(TrainConfig train, long stepsPerEpoch)
    {
        if (stepsPerEpoch <= 0) throw new ArgumentOutOfRangeException(nameof(stepsPerEpoch), stepsPerEpoch, "steps per epoch must be positive");
        var loop = train.Loop;
        long total = loop.Epochs * stepsPerEpoch;
        long warmup = loop.Warmup.Steps(stepsPerEpoch, total);
        return From(train.Schedule, train.Optimizer.Lr, total, stepsPerEpoch, warmup);
    }

    /// <summary>A schedule at base rate <paramref name="lr"/> over <paramref name="totalSteps"/>, with <paramref name="warmup"/> top-level warm-up steps.</summary>
    public static ILrSchedule From(ScheduleConfig schedule, double lr, long totalSteps, long stepsPerEpoch = 1, long warmup = 0)
    {
        switch (schedule)
        {
            case CosineScheduleConfig c:
            {
                long own = c.WarmupEpochs is long we ? we * stepsPerEpoch : c.WarmupSteps ?? warmup;
                return new WarmupCosineSchedule(lr, totalSteps, Math.Min(own, totalSteps), c.MinLr);
            }
            case OneCycleScheduleConfig o:
                if (warmup > 0)
                    throw new ArgumentException("onecycle warms up through pct_start; drop the train key 'warmup' or use schedule: cosine");
                return new OneCycleSchedule(o.MaxLr, totalSteps, o.PctStart, o.Anneal == "linear" ? AnnealStrategy.Linear : AnnealStrategy.Cos,
                                            o.DivFactor, o.FinalDivFactor, o.ThreePhase, o.BaseMomentum, o.MaxMomentum);
            default:
                var constant = new ConstantSchedule(lr);
                return warmup > 0 ? new LinearWarmup(constant, warmup) : constant;
        }
    }
}
