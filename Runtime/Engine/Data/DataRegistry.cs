using System.Collections;
using System.Globalization;
using ArchDsl.Compiler;

namespace ArchDsl.Runtime.Data;

/// <summary>
/// What to load and how to split it. <see cref="Source"/> is a registry name (<c>fashion-mnist</c>,
/// <c>mnist</c>, <c>cifar10</c>, <c>folder</c>, <c>synthetic</c>); <see cref="Path"/> overrides the
/// loader's default location.
/// </summary>
public sealed record DataOptions
{
    public string Source { get; init; } = "synthetic";
    public string? Path { get; init; }
    /// <summary>Seeds the split/subset shuffle and synthetic data.</summary>
    public ulong Seed { get; init; }
    /// <summary>Fraction of the training set held out for validation (the last part after a seeded shuffle).</summary>
    public double ValFraction { get; init; }
    /// <summary>Keep only the first n training samples after the seeded shuffle.</summary>
    public int? Subset { get; init; }
    /// <summary>Keep only the first n test samples after a seeded shuffle.</summary>
    public int? TestSubset { get; init; }
    /// <summary>Normalise per channel (with <see cref="Normalization"/>, or statistics of the final training set).</summary>
    public bool Normalize { get; init; } = true;
    /// <summary>Given statistics (for example those saved with a run, for evaluation); null = compute from train.</summary>
    public Normalization? Normalization { get; init; }
    /// <summary>The model's input (sizes synthetic data; checked against loaded data by <see cref="DataSplits.CheckAgainst"/>).</summary>
    public Shape? Input { get; init; }
    /// <summary>The model's number of classes (synthetic data uses it; default 10).</summary>
    public int? Classes { get; init; }
    public int SyntheticTrain { get; init; } = SyntheticData.DefaultTrain;
    public int SyntheticTest { get; init; } = SyntheticData.DefaultTest;
    public double SyntheticNoise { get; init; } = SyntheticData.DefaultNoise;
}

/// <summary>The sets a run uses, normalised, and the normalisation applied (save it with the run).</summary>
public sealed record DataSplits(Dataset Train, Dataset? Val, Dataset? Test, Normalization? Normalization, string Source)
{
    public IReadOnlyList<string> ClassNames => Train.ClassNames;

    /// <summary>Refuses data whose image shape differs from the model's input, or with more classes than the model predicts.</summary>
    public void CheckAgainst(Shape input, int? modelClasses = null)
    {
        if (input.Layout != Layout.Image || input.Dims.Count != 3)
            throw new DataException($"data '{Source}' holds images but the model's input is {input}");
        if (input.Dims[0] != Train.Channels || input.Dims[1] != Train.Height || input.Dims[2] != Train.Width)
            throw new DataException($"data '{Source}' has images {Train.ShapeText} but the model's input is {input}; " +
                                    $"change `input image[{Train.Channels}, {Train.Height}, {Train.Width}]` or the data");
        if (modelClasses is int k && k < Train.NumClasses)
            throw new DataException($"data '{Source}' has {Train.NumClasses} classes but the model predicts {k}; set classes = {Train.NumClasses}");
    }
}

/// <summary>
/// Maps the <c>data:</c> value of a train section to a loader and produces train / validation / test
/// sets. Order of operations: load → seeded shuffle of train → hold out the last ValFraction as
/// validation → keep the first Subset of the rest → normalise all sets with the training statistics.
/// </summary>
public static class DataRegistry
{
    public delegate (Dataset Train, Dataset? Test) Loader(DataOptions options);

    private static readonly Dictionary<string, Loader> Loaders = new(StringComparer.OrdinalIgnoreCase)
    {
        ["fashion-mnist"] = o => IdxLoader.LoadFashionMnist(o.Path),
        ["mnist"] = o => IdxLoader.LoadMnist(o.Path),
        ["cifar10"] = o => Cifar10Loader.Load(o.Path),
        ["folder"] = o => ImageFolderLoader.Load(o.Path ?? throw new DataException("data 'folder' needs a directory: `data: folder:<path>` or a `path:` key")),
        ["synthetic"] = LoadSynthetic,
    };

    private static readonly Dictionary<string, string> Aliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["fashion_mnist"] = "fashion-mnist", ["fashionmnist"] = "fashion-mnist",
        ["cifar-10"] = "cifar10", ["cifar_10"] = "cifar10",
        ["image-folder"] = "folder", ["imagefolder"] = "folder",
    };

    public static IReadOnlyCollection<string> Names => Loaders.Keys;

    /// <summary>Adds or replaces a loader (for example in tests or for a new format).</summary>
    public static void Register(string name, Loader loader)
    {
        lock (Loaders) Loaders[name] = loader;
    }

    /// <summary>Splits a <c>data:</c> value into a registry name and an optional path (<c>folder:/data/x</c>).</summary>
    public static (string Name, string? Path) ParseSource(string value)
    {
        value = value.Trim();
        int colon = value.IndexOf(':');
        string name = colon < 0 ? value : value[..colon].Trim();
        string? path = colon < 0 ? null : value[(colon + 1)..].Trim();
        if (Aliases.TryGetValue(name, out var canonical)) name = canonical;
        return (name.ToLowerInvariant(), string.IsNullOrEmpty(path) ? null : path);
    }

    public static DataSplits Load(DataOptions options)
    {
        var (name, inlinePath) = ParseSource(options.Source);
        if (inlinePath is not null) options = options with { Path = inlinePath };
        Loader? loader;
        lock (Loaders) Loaders.TryGetValue(name, out loader);
        if (loader is null)
            throw new DataException($"unknown data '{options.Source}'; known: {string.Join(", ", Names.Order(StringComparer.Ordinal))} (or folder:<path>)");
        if (options.ValFraction is < 0 or >= 1 || double.IsNaN(options.ValFraction))
            throw new DataException($"validation fraction must be in [0, 1), got {options.ValFraction}");
        if (options.Subset is <= 0) throw new DataException($"subset must be positive, got {options.Subset}");
        if (options.TestSubset is <= 0) throw new DataException($"test subset must be positive, got {options.TestSubset}");

        var (train, test) = loader(options);
        Dataset? val = null;

        if (options.ValFraction > 0 || options.Subset is not null)
        {
            var perm = new DeterministicRandom(DeterministicRandom.Derive(options.Seed, 0x5B117UL)).Permutation(train.Count);
            int nVal = 0;
            if (options.ValFraction > 0)
            {
                nVal = Math.Clamp((int)Math.Round(train.Count * options.ValFraction), 1, train.Count - 1);
                if (train.Count < 2) throw new DataException($"{train.Name}: {train.Count} sample(s) cannot be split into train and validation");
            }
            int nTrain = train.Count - nVal;
            if (options.Subset is int s) nTrain = Math.Min(nTrain, s);
            if (nVal > 0) val = train.Select(perm.AsSpan(train.Count - nVal), $"{train.Name} (validation split)");
            train = train.Select(perm.AsSpan(0, nTrain), train.Name);
        }
        if (test is not null && options.TestSubset is int ts && ts < test.Count)
        {
            var perm = new DeterministicRandom(DeterministicRandom.Derive(options.Seed, 0x7E57UL)).Permutation(test.Count);
            test = test.Select(perm.AsSpan(0, ts), test.Name);
        }

        Normalization? norm = null;
        if (options.Normalize)
        {
            norm = options.Normalization ?? train.ChannelStatistics();
            norm.Validate(train.Channels);
            train.NormalizeInPlace(norm);
            val?.NormalizeInPlace(norm);
            test?.NormalizeInPlace(norm);
        }
        return new DataSplits(train, val, test, norm, options.Path is null ? name : $"{name}:{options.Path}");
    }

    private static (Dataset, Dataset?) LoadSynthetic(DataOptions o)
    {
        if (o.Input is not { Layout: Layout.Image } input || input.Dims.Count != 3)
            throw new DataException($"synthetic data is sized by the model's image input, but the input is {(o.Input?.ToString() ?? "unknown")}");
        int k = o.Classes ?? 10;
        var train = SyntheticData.Generate(o.SyntheticTrain, input.Dims[0], input.Dims[1], input.Dims[2], k, o.Seed, 0, o.SyntheticNoise, "synthetic train");
        var test = SyntheticData.Generate(o.SyntheticTest, input.Dims[0], input.Dims[1], input.Dims[2], k, o.Seed, 1, o.SyntheticNoise, "synthetic test");
        return (train, test);
    }

    /// <summary>
    /// Options from a compiled graph: its train section, its input shape and (when the output is a
    /// vector) its class count.
    /// </summary>
    public static DataOptions OptionsFrom(IrGraph graph)
    {
        int? classes = graph.OutputNode.OutputShape is { Layout: Layout.Vector } v ? v.Dims[0] : null;
        return OptionsFrom(graph.Train, graph.Input, classes);
    }

    /// <summary>
    /// Options from a train section. Keys read: <c>data</c> (default fashion-mnist; a name, <c>folder:&lt;path&gt;</c>, or a call such as
    /// <c>synthetic(train: 2000, test: 500, noise: 0.5)</c> / <c>cifar10(path: "/x")</c>), <c>path</c>, <c>seed</c>,
    /// <c>val</c> or <c>val_split</c> (a fraction below 1, or a percentage from 1 to 99), <c>subset</c>,
    /// <c>test_subset</c>, <c>normalize</c> (bool), <c>mean</c> / <c>std</c> (a number or a list, one per channel).
    /// </summary>
    public static DataOptions OptionsFrom(TrainConfig train, Shape? input = null, int? classes = null)
    {
        var o = new DataOptions { Input = input, Classes = classes };
        IReadOnlyDictionary<string, object> dataArgs = new Dictionary<string, object>();
        switch (train["data"])
        {
            case null:
                o = o with { Source = "fashion-mnist" }; // the compiler's default data
                break;
            case TrainCall call:
                o = o with { Source = call.Name };
                dataArgs = call.Args;
                break;
            case string s:
                o = o with { Source = s };
                break;
            case var other:
                throw new DataException($"train key 'data' must be a name such as fashion-mnist, got {other}");
        }
        object? Get(string key) => dataArgs.TryGetValue(key, out var v) ? v : train[key];

        if (Get("path") is { } p) o = o with { Path = Convert.ToString(p, CultureInfo.InvariantCulture) };
        if (train["seed"] is { } seed) o = o with { Seed = unchecked((ulong)ToLong(seed, "seed")) };
        var val = Get("val") ?? Get("val_split");
        if (val is not null)
        {
            double f = ToDouble(val, "val");
            if (f >= 1 && f < 100) f /= 100;
            o = o with { ValFraction = f };
        }
        if (Get("subset") is { } sub) o = o with { Subset = checked((int)ToLong(sub, "subset")) };
        if (Get("test_subset") is { } tsub) o = o with { TestSubset = checked((int)ToLong(tsub, "test_subset")) };
        if (Get("normalize") is { } norm)
            o = o with { Normalize = norm is bool b ? b : throw new DataException($"train key 'normalize' must be true or false, got {norm}") };
        var mean = Get("mean");
        var std = Get("std");
        if (mean is not null || std is not null)
        {
            if (mean is null || std is null) throw new DataException("train keys 'mean' and 'std' go together");
            var m = ToList(mean, "mean");
            var sd = ToList(std, "std");
            if (m.Count != sd.Count) throw new DataException($"'mean' has {m.Count} values but 'std' has {sd.Count}");
            o = o with { Normalization = new Normalization(m, sd) };
        }
        if (dataArgs.TryGetValue("train", out var st)) o = o with { SyntheticTrain = checked((int)ToLong(st, "train")) };
        if (dataArgs.TryGetValue("test", out var stt)) o = o with { SyntheticTest = checked((int)ToLong(stt, "test")) };
        if (dataArgs.TryGetValue("noise", out var sn)) o = o with { SyntheticNoise = ToDouble(sn, "noise") };
        if (dataArgs.TryGetValue("classes", out var sc)) o = o with { Classes = checked((int)ToLong(sc, "classes")) };
        return o;
    }

    private static long ToLong(object v, string key) => v switch
    {
        long l => l,
        int i => i,
        double d when d == Math.Floor(d) => (long)d,
        string s when long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l) => l,
        _ => throw new DataException($"train key '{key}' must be a whole number, got {v}"),
    };

    private static double ToDouble(object v, string key) => v switch
    {
        double d => d,
        long l => l,
        int i => i,
        string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
        _ => throw new DataException($"train key '{key}' must be a number, got {v}"),
    };

    private static IReadOnlyList<double> ToList(object v, string key) =>
        v is string || v is not IEnumerable e ? new[] { ToDouble(v, key) } : e.Cast<object>().Select(x => ToDouble(x, key)).ToArray();
}
