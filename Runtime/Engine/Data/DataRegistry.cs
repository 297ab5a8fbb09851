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
    /// <summary>Fraction of the training images used (all, or the <see cref="Subset"/>) held out for validation: their last part after a seeded shuffle.</summary>
    public double ValFraction { get; init; }
    /// <summary>Use only the first n training samples after the seeded shuffle; the validation split is taken from them.</summary>
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
    /// <summary>Image folders: the per-sample transform of training images, and of evaluation images.</summary>
    public SampleTransformConfig Transform { get; init; } = RandomResizedCropConfig.Default;
    /// <inheritdoc cref="Transform"/>
    public SampleTransformConfig EvalTransform { get; init; } = new CenterCropConfig(null, DataCatalog.DefaultCropPct);
    /// <summary>Image folders: decoding threads (null: the cores available) and the bad-data policy (see <see cref="FolderSet"/>).</summary>
    public int? Workers { get; init; }
    /// <inheritdoc cref="Workers"/>
    public bool Strict { get; init; }
    /// <summary>Receives warnings about skipped data (image folders); null: they are not shown.</summary>
    public Action<string>? Warn { get; init; }
}

/// <summary>The sets a run uses, normalised, and the normalisation applied (save it with the run).</summary>
public sealed record DataSplits(ImageSet Train, ImageSet? Val, ImageSet? Test, Normalization? Normalization, string Source)
{
    public IReadOnlyList<string> ClassNames => Train.ClassNames;

    /// <summary>Refuses data whose image shape differs from the model's input, or whose class count differs from the model's outputs.</summary>
    public void CheckAgainst(Shape input, int? modelClasses = null)
    {
        if (input.Layout != Layout.Image || input.Dims.Count != 3)
            throw new DataException($"data '{Source}' holds images but the model's input is {input}");
        if (input.Dims[0] != Train.Channels || input.Dims[1] != Train.Height || input.Dims[2] != Train.Width)
            throw new DataException($"data '{Source}' has images {Train.ShapeText} but the model's input is {input}; " +
                                    $"change `input image[{Train.Channels}, {Train.Height}, {Train.Width}]` or the data");
        if (modelClasses is int k && k != Train.NumClasses) // a larger head trains outputs no label ever targets
            throw new DataException($"data '{Source}' has {Train.NumClasses} classes but the model predicts {k}; set classes = {Train.NumClasses}");
    }
}

/// <summary>
/// Maps the <c>data:</c> value of a train section to a loader and produces train / validation / test
/// sets. Order of operations: load → seeded shuffle of train → keep the first Subset → hold out the last
/// ValFraction of those as validation (<see cref="DataCatalog.SplitSizes"/>) → normalise all sets with the
/// training statistics.
/// </summary>
public static class DataRegistry
{
    public delegate (ImageSet Train, ImageSet? Test) Loader(DataOptions options);

    private static readonly Dictionary<string, Loader> Loaders = new(StringComparer.OrdinalIgnoreCase)
    {
        ["fashion-mnist"] = o => IdxLoader.LoadFashionMnist(o.Path),
        ["mnist"] = o => IdxLoader.LoadMnist(o.Path),
        ["cifar10"] = o => Cifar10Loader.Load(o.Path),
        ["cifar100"] = o => Cifar10Loader.Load100(o.Path),
        ["folder"] = ImageFolderLoader.Load,
        ["synthetic"] = LoadSynthetic,
    };

    public static IReadOnlyCollection<string> Names => Loaders.Keys;

    /// <summary>Adds or replaces a loader (for example in tests or for a new format).</summary>
    public static void Register(string name, Loader loader)
    {
        lock (Loaders) Loaders[name] = loader;
    }

    /// <summary>Splits a <c>data:</c> value into a registry name (a catalogue alias becomes its name) and an optional path (<c>folder:/data/x</c>).</summary>
    public static (string Name, string? Path) ParseSource(string value)
    {
        var (name, path) = DataCatalog.SplitSource(value);
        return ((DataCatalog.Find(name)?.Name ?? name).ToLowerInvariant(), path);
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
            throw new DataException($"validation fraction must be in [0, 1), got {ArchDsl.Dsl.FloatText.Format(options.ValFraction)}");
        if (options.Subset is <= 0) throw new DataException($"subset must be positive, got {options.Subset}");
        if (options.TestSubset is <= 0) throw new DataException($"test subset must be positive, got {options.TestSubset}");

        var (train, test) = loader(options);
        ImageSet? val = null;

        if (options.ValFraction > 0 || options.Subset is not null)
        {
            var perm = new DeterministicRandom(DeterministicRandom.Derive(options.Seed, 0x5B117UL)).Permutation(train.Count);
            var (nTrain, nVal) = DataCatalog.SplitSizes(train.Count, options.ValFraction, options.Subset)
                ?? throw new DataException($"{train.Name}: {Math.Min(train.Count, options.Subset ?? train.Count)} sample(s) cannot be split into train and validation");
            if (nVal > 0) val = train.Select(perm.AsSpan(nTrain, nVal), $"{train.Name} (validation split)");
            if (val is FolderSet folderVal) val = folderVal.With(options.EvalTransform); // evaluated as a held-out folder is
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
            train.Normalize(norm);
            val?.Normalize(norm);
            test?.Normalize(norm);
        }
        return new DataSplits(train, val, test, norm, options.Path is null ? name : $"{name}:{options.Path}");
    }

    private static (ImageSet, ImageSet?) LoadSynthetic(DataOptions o)
    {
        if (o.Input is not { Layout: Layout.Image } input || input.Dims.Count != 3)
            throw new DataException($"synthetic data is sized by the model's image input, but the input is {(o.Input?.ToString() ?? "unknown")}");
        int k = o.Classes ?? 10;
        var train = SyntheticData.Generate(o.SyntheticTrain, input.Dims[0], input.Dims[1], input.Dims[2], k, o.Seed, 0, o.SyntheticNoise, "synthetic train");
        var test = SyntheticData.Generate(o.SyntheticTest, input.Dims[0], input.Dims[1], input.Dims[2], k, o.Seed, 1, o.SyntheticNoise, "synthetic test");
        return (train, test);
    }

    /// <summary>
    /// Options from a compiled graph: its train section's typed <see cref="DataConfig"/>, its input shape and
    /// (when the output is a vector) its class count.
    /// </summary>
    public static DataOptions OptionsFrom(IrGraph graph)
    {
        int? classes = graph.OutputNode.OutputShape is { Layout: Layout.Vector } v ? v.Dims[0] : null;
        return OptionsFrom(graph.Train.Data, graph.Input, classes);
    }

    /// <summary>Options from the compiler's typed data config (every default already filled in there).</summary>
    public static DataOptions OptionsFrom(DataConfig data, Shape? input = null, int? classes = null) => new()
    {
        Source = data.Set.Name,
        Path = data.Path,
        Seed = data.Seed,
        ValFraction = data.ValSplit,
        Subset = data.Subset,
        TestSubset = data.TestSubset,
        Normalize = data.Normalize,
        Normalization = data.Mean is { } m && data.Std is { } sd ? new Normalization(m, sd) : null,
        Input = input,
        Classes = data.Synthetic?.Classes ?? classes,
        SyntheticTrain = data.Synthetic?.Train ?? DataCatalog.SyntheticTrain,
        SyntheticTest = data.Synthetic?.Test ?? DataCatalog.SyntheticTest,
        SyntheticNoise = data.Synthetic?.Noise ?? DataCatalog.SyntheticNoise,
        Transform = data.Transform,
        EvalTransform = data.EvalTransform,
        Workers = data.Workers,
        Strict = data.Strict,
    };
}
