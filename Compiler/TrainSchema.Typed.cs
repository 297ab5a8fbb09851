using System.Collections;
using System.Globalization;

namespace ArchDsl.Compiler;

// The typed view of a resolved TrainConfig (see TrainTypes.cs). A value the compiler resolved is
// already checked; a missing key or argument takes the default of the one table in TrainSchema.cs.
public static partial class TrainSchema
{
    internal static TrainLoop TypedLoop(TrainConfig t)
    {
        var warmup = Value(t, "warmup");
        return new TrainLoop((int)Long(Value(t, "epochs")), (int)Long(Value(t, "batch")), Long(Value(t, "seed")),
            Double(Value(t, "label_smoothing")), Double(Value(t, "clip")),
            warmup is double f ? new Warmup(null, f) : new Warmup(Long(warmup), null),
            (string)Value(t, "device")!, AmpModes.Parse((string)Value(t, "amp")!));
    }

    internal static OptimizerConfig TypedOptimizer(TrainConfig t)
    {
        var (spec, args) = CallOf(t, "optimizer", Optimizers);
        double D(string a) => Double(Arg(spec, args, a));
        if (spec.Name == "sgd") return new SgdConfig(D("lr"), D("momentum"), D("weight_decay"), Arg(spec, args, "nesterov") is true);
        var betas = ((IEnumerable)Arg(spec, args, "betas")!).Cast<object>().Select(Double).ToList();
        return new AdamWConfig(D("lr"), D("weight_decay"), betas[0], betas[1], D("eps"));
    }

    internal static ScheduleConfig TypedSchedule(TrainConfig t)
    {
        var (spec, args) = CallOf(t, "schedule", Schedules);
        object? A(string a) => Arg(spec, args, a);
        return spec.Name switch
        {
            "cosine" => new CosineScheduleConfig(A("warmup") is { } w ? Long(w) : null, A("warmup_epochs") is { } we ? Long(we) : null, Double(A("min_lr"))),
            "onecycle" => new OneCycleScheduleConfig(A("max_lr") is { } m ? Double(m) : TypedOptimizer(t).Lr, Double(A("pct_start")), (string)A("anneal")!,
                Double(A("div_factor")), Double(A("final_div_factor")), A("three_phase") is true, Double(A("base_momentum")), Double(A("max_momentum"))),
            _ => new ConstantScheduleConfig(),
        };
    }

    internal static IReadOnlyList<AugmentConfig> TypedAugment(TrainConfig t)
    {
        if (Value(t, "augment") is not IEnumerable items) return [];
        return items.Cast<object>().Select(item =>
        {
            var (spec, args) = Bind(item, Augments, "augment");
            object? A(string a) => Arg(spec, args, a);
            return spec.Name switch
            {
                "flip" => (AugmentConfig)new FlipConfig(),
                "crop" => new CropConfig((int)Long(A("pad"))),
                "erase" => TypedErase(A),
                "randaugment" => new RandAugmentConfig((int)Long(A("n")), (int)Long(A("m"))),
                _ => TypedAugmentAdded(spec.Name, A),
            };
        }).ToList();
    }

    internal static DataConfig TypedData(TrainConfig t)
    {
        var value = Value(t, "data");
        var (name, inlinePath) = value is string s ? DataCatalog.SplitSource(s) : (((TrainCall)value!).Name, null);
        var set = DataCatalog.Find(name) ?? throw new InvalidOperationException($"data '{name}' is not in the catalogue (the compiler checks it)");
        var call = value as TrainCall;
        var spec = Array.Find(DataCalls, c => c.Name == set.Name)!;
        var args = call?.Args ?? new Dictionary<string, object>();
        object? A(string a) => Arg(spec, args, a);
        var path = A("path") as string ?? inlinePath ?? Value(t, "path") as string;
        var synthetic = set == DataCatalog.Synthetic
            ? new SyntheticConfig((int)Long(A("train")), (int)Long(A("test")), Double(A("noise")), A("classes") is { } k ? (int)Long(k) : null)
            : null;
        var normalize = Value(t, "normalize");
        var named = normalize as string;
        var (mean, std) = (DoubleList(Value(t, "mean")), DoubleList(Value(t, "std")));
        if (named is not null && mean is null) (mean, std) = (DataCatalog.Statistics[named].Mean, DataCatalog.Statistics[named].Std);
        return new DataConfig(set, path, unchecked((ulong)Long(Value(t, "seed"))), Double(Value(t, "val_split")),
            Value(t, "subset") is { } sub ? (int)Long(sub) : null, Value(t, "test_subset") is { } ts ? (int)Long(ts) : null,
            normalize is true || named is not null, mean, std, synthetic)
        {
            Transform = TypedTransform(t),
            CropPct = Value(t, "crop_pct") is { } pct ? Double(pct) : DataCatalog.DefaultCropPct,
            Strict = A("strict") is true,
            Workers = A("workers") is { } wk ? (int)Long(wk) : null,
            Statistics = named,
        };
    }

    private static SampleTransformConfig TypedTransform(TrainConfig t)
    {
        if (Value(t, "transform") is not { } value) return RandomResizedCropConfig.Default;
        var (spec, args) = Bind(value, Transforms, "transform");
        object? A(string a) => Arg(spec, args, a);
        int? size = A("size") is { } s ? (int)Long(s) : null;
        List<double> Pair(string a) => ((IEnumerable)A(a)!).Cast<object>().Select(Double).ToList();
        return spec.Name switch
        {
            "random_resized_crop" => new RandomResizedCropConfig(size, Pair("scale")[0], Pair("scale")[1], Pair("ratio")[0], Pair("ratio")[1]),
            "center_crop" => new CenterCropConfig(size, Value(t, "crop_pct") is { } pct ? Double(pct) : DataCatalog.DefaultCropPct),
            _ => new ResizeConfig(size),
        };
    }

    /// <summary>A key's value, or its default from the table.</summary>
    private static object? Value(TrainConfig t, string key) => t[key] ?? Array.Find(Keys, k => k.Name == key)!.Default;

    private static (CallSpec Spec, IReadOnlyDictionary<string, object> Args) CallOf(TrainConfig t, string key, CallSpec[] specs) =>
        Bind(t[key] ?? DefaultCallName(key), specs, key);

    private static (CallSpec Spec, IReadOnlyDictionary<string, object> Args) Bind(object value, CallSpec[] specs, string key)
    {
        var (name, args) = value is TrainCall c ? (c.Name, c.Args) : ((string)value, (IReadOnlyDictionary<string, object>)new Dictionary<string, object>());
        var spec = Array.Find(specs, s => s.Name == name) ?? throw new InvalidOperationException($"{key} '{name}' is not in the table (the compiler checks it)");
        return (spec, args);
    }

    /// <summary>An argument's value, or its default from the table.</summary>
    private static object? Arg(CallSpec spec, IReadOnlyDictionary<string, object> args, string arg) =>
        args.TryGetValue(arg, out var v) ? v : Array.Find(spec.Args, a => a.Arg == arg).Default;

    private static long Long(object? v) => System.Convert.ToInt64(v, CultureInfo.InvariantCulture);

    private static double Double(object? v) => System.Convert.ToDouble(v, CultureInfo.InvariantCulture);

    private static IReadOnlyList<double>? DoubleList(object? v) => v switch
    {
        null => null,
        IEnumerable e and not string => e.Cast<object>().Select(Double).ToList(),
        _ => [Double(v)],
    };
}
