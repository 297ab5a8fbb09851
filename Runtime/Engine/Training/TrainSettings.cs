using System.Collections;
using System.Globalization;
using System.Runtime.CompilerServices;
using ArchDsl.Compiler;

[assembly: InternalsVisibleTo("ArchDsl.Runtime.Tests")]

namespace ArchDsl.Runtime.Training;

/// <summary>
/// Training cannot start or go on: bad input (a train key of the wrong type, missing data, a corrupt or
/// mismatched checkpoint), a non-finite loss, a file that could not be written. The message says what
/// and where, for the user as it stands; print it, never the stack trace. Whatever was saved before
/// stays intact.
/// </summary>
public sealed class TrainingException : Exception
{
    public TrainingException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>The optimizer of a train section: <c>adamw(lr, weight_decay, betas, eps)</c> or <c>sgd(lr, momentum, weight_decay, nesterov)</c>.</summary>
public sealed record OptimizerSettings(string Name, double Lr, double WeightDecay, double Beta1, double Beta2, double Eps, double Momentum, bool Nesterov)
{
    public override string ToString() => Name == "sgd"
        ? $"sgd(lr: {F(Lr)}, momentum: {F(Momentum)}, weight_decay: {F(WeightDecay)}{(Nesterov ? ", nesterov: true" : "")})"
        : $"adamw(lr: {F(Lr)}, weight_decay: {F(WeightDecay)}, betas: [{F(Beta1)}, {F(Beta2)}], eps: {F(Eps)})";

    private static string F(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
}

/// <summary>
/// The loop's keys of a resolved <c>train { }</c> section, type-checked (the compiler checks them
/// already; a config built some other way gets the same clear errors here). Data keys are read by
/// <see cref="Data.DataRegistry.OptionsFrom(IrGraph)"/>, the schedule by <see cref="Schedules.FromTrain"/>,
/// the augmentations by <see cref="Augment.AugmentPipeline.FromTrain"/>.
/// </summary>
public sealed record TrainSettings(
    int Epochs, int Batch, long Seed, OptimizerSettings Optimizer, double LabelSmoothing, double Clip,
    string? Device, bool Amp)
{
    public static TrainSettings From(TrainConfig train)
    {
        int epochs = (int)Integer(train, "epochs", 10, 1);
        int batch = (int)Integer(train, "batch", 128, 1);
        long seed = Integer(train, "seed", 0, long.MinValue);
        double smoothing = Number(train, "label_smoothing", 0.0);
        if (smoothing is < 0 or >= 1) throw new TrainingException($"train key 'label_smoothing' must be in [0, 1), got {Show(smoothing)}");
        double clip = Number(train, "clip", 0.0);
        if (clip < 0) throw new TrainingException($"train key 'clip' must be ≥ 0 (0 = off), got {Show(clip)}");
        string? device = train["device"] switch
        {
            null => null,
            string s when s is "cpu" or "cuda" || s.StartsWith("cuda:", StringComparison.Ordinal) => s,
            var other => throw new TrainingException($"train key 'device' must be cpu or cuda, got {Show(other)}"),
        };
        bool amp = train["amp"] switch
        {
            null => false,
            bool b => b,
            var other => throw new TrainingException($"train key 'amp' must be true or false, got {Show(other)}"),
        };
        return new TrainSettings(epochs, batch, seed, OptimizerFrom(train["optimizer"]), smoothing, clip, device, amp);
    }

    public static OptimizerSettings OptimizerFrom(object? value)
    {
        var (name, args) = value switch
        {
            null => ("adamw", (IReadOnlyDictionary<string, object>)new Dictionary<string, object>()),
            string s => (s, new Dictionary<string, object>()),
            TrainCall c => (c.Name, c.Args),
            var other => throw new TrainingException($"train key 'optimizer' must be adamw(…) or sgd(…), got {Show(other)}"),
        };
        double D(string key, double fallback, double min = 0)
        {
            if (!args.TryGetValue(key, out var v)) return fallback;
            var d = v switch { double x => x, long l => l, int i => i, _ => throw new TrainingException($"argument '{key}' of {name} must be a number, got {Show(v)}") };
            if (!(d >= min) || double.IsInfinity(d)) throw new TrainingException($"argument '{key}' of {name} must be a finite number ≥ {Show(min)}, got {Show(d)}");
            return d;
        }
        void Only(params string[] keys)
        {
            foreach (var k in args.Keys)
                if (!keys.Contains(k)) throw new TrainingException($"optimizer {name} has no argument '{k}'; it takes {string.Join(", ", keys)}");
        }
        switch (name)
        {
            case "adamw" or "adam":
            {
                Only("lr", "weight_decay", "betas", "eps");
                double b1 = 0.9, b2 = 0.999;
                if (args.TryGetValue("betas", out var betas))
                {
                    var list = betas is IEnumerable e and not string ? e.Cast<object>().ToList() : null;
                    if (list is not { Count: 2 } || list.Any(x => x is not (double or long)) ||
                        list.Select(Convert.ToDouble).Any(x => x is < 0 or >= 1))
                        throw new TrainingException($"argument 'betas' of {name} must be two numbers in [0, 1), got {Show(betas)}");
                    b1 = Convert.ToDouble(list[0], CultureInfo.InvariantCulture);
                    b2 = Convert.ToDouble(list[1], CultureInfo.InvariantCulture);
                }
                double lr = D("lr", 1e-3);
                if (lr <= 0) throw new TrainingException($"argument 'lr' of {name} must be > 0, got {Show(lr)}");
                return new OptimizerSettings("adamw", lr, D("weight_decay", name == "adam" ? 0 : 0.01), b1, b2, D("eps", 1e-8), 0, false);
            }
            case "sgd":
            {
                Only("lr", "momentum", "weight_decay", "nesterov");
                double lr = D("lr", 0.1);
                if (lr <= 0) throw new TrainingException($"argument 'lr' of sgd must be > 0, got {Show(lr)}");
                double momentum = D("momentum", 0);
                if (momentum >= 1) throw new TrainingException($"argument 'momentum' of sgd must be in [0, 1), got {Show(momentum)}");
                bool nesterov = args.TryGetValue("nesterov", out var n) && (n is bool b ? b : throw new TrainingException($"argument 'nesterov' of sgd must be true or false, got {Show(n)}"));
                if (nesterov && momentum <= 0) throw new TrainingException("sgd(nesterov: true) needs a momentum > 0");
                return new OptimizerSettings("sgd", lr, D("weight_decay", 0), 0.9, 0.999, 1e-8, momentum, nesterov);
            }
            default:
                throw new TrainingException($"unknown optimizer '{name}'; expected adamw or sgd");
        }
    }

    private static long Integer(TrainConfig train, string key, long fallback, long min)
    {
        var v = train[key];
        long value = v switch
        {
            null => fallback,
            long l => l,
            int i => i,
            double d when d == Math.Floor(d) && Math.Abs(d) < 9e15 => (long)d,
            _ => throw new TrainingException($"train key '{key}' must be an integer, got {Show(v)}"),
        };
        if (value < min) throw new TrainingException($"train key '{key}' must be ≥ {min}, got {value}");
        if (key != "seed" && value > int.MaxValue) throw new TrainingException($"train key '{key}' is too large: {value}");
        return value;
    }

    private static double Number(TrainConfig train, string key, double fallback)
    {
        var v = train[key];
        return v switch
        {
            null => fallback,
            double d when !double.IsNaN(d) => d,
            long l => l,
            int i => i,
            _ => throw new TrainingException($"train key '{key}' must be a number, got {Show(v)}"),
        };
    }

    internal static string Show(object? v) => v switch
    {
        null => "nothing",
        string s => $"\"{s}\"",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IEnumerable e => "[" + string.Join(", ", e.Cast<object>().Select(Show)) + "]",
        _ => Convert.ToString(v, CultureInfo.InvariantCulture) ?? "?",
    };
}
