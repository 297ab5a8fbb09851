using ArchDsl.Compiler;
using ArchDsl.Runtime.Data;

namespace ArchDsl.Runtime.Tests;

public class DataRegistryTests
{
    private static TrainConfig Train(params (string Key, object Value)[] values) =>
        new(values.ToDictionary(v => v.Key, v => v.Value));

    [Theory]
    [InlineData("fashion-mnist", "fashion-mnist", null)]
    [InlineData("Fashion_MNIST", "fashion-mnist", null)]
    [InlineData("cifar-10", "cifar10", null)]
    [InlineData("folder:/data/pets", "folder", "/data/pets")]
    [InlineData("synthetic", "synthetic", null)]
    public void Source_names_and_inline_paths_parse(string value, string name, string? path)
    {
        Assert.Equal((name, path), DataRegistry.ParseSource(value));
    }

    [Fact]
    public void Unknown_source_lists_the_known_ones()
    {
        var e = Assert.Throws<DataException>(() => DataRegistry.Load(new DataOptions { Source = "imagenet" }));
        Assert.Contains("imagenet", e.Message);
        Assert.Contains("fashion-mnist", e.Message);
        Assert.Contains("cifar10", e.Message);
    }

    [Fact]
    public void Options_come_from_the_train_section()
    {
        var o = DataRegistry.OptionsFrom(Train(("data", "folder:/x/y"), ("seed", 3L), ("val_split", 0.1), ("subset", 500L),
                                               ("normalize", false)).Data, Shape.Image(1, 28, 28), 10);
        Assert.Equal(("folder", "/x/y"), (o.Source, o.Path));
        Assert.Equal(3UL, o.Seed);
        Assert.Equal(0.1, o.ValFraction);
        Assert.Equal(500, o.Subset);
        Assert.False(o.Normalize);
        Assert.Equal(10, o.Classes);

        var pct = DataRegistry.OptionsFrom(Train(("data", "cifar10"), ("path", "/c"),
                                                 ("mean", new List<object> { 0.5, 0.4, 0.3 }), ("std", new List<object> { 0.2, 0.2, 0.2 })).Data);
        Assert.True(pct.Normalize); // the table's default
        Assert.Equal("/c", pct.Path);
        Assert.Equal(new[] { 0.5, 0.4, 0.3 }, pct.Normalization!.Mean);

        var call = DataRegistry.OptionsFrom(Train(("data", new TrainCall("synthetic", new Dictionary<string, object>
        {
            ["train"] = 100L, ["test"] = 20L, ["noise"] = 0.5, ["classes"] = 4L,
        }))).Data);
        Assert.Equal(("synthetic", 100, 20, 0.5, 4), (call.Source, call.SyntheticTrain, call.SyntheticTest, call.SyntheticNoise, call.Classes));
        Assert.Equal("fashion-mnist", DataRegistry.OptionsFrom(Train().Data).Source); // the compiler's default
    }

    [Fact]
    public void A_one_image_set_cannot_be_split_and_says_so()
    {
        var o = new DataOptions { Source = "synthetic", Input = Shape.Image(1, 4, 4), Classes = 3, SyntheticTrain = 1, ValFraction = 0.5 };
        var e = Assert.Throws<DataException>(() => DataRegistry.Load(o)); // was an ArgumentException from Math.Clamp(…, 1, 0)
        Assert.Equal("synthetic train: 1 sample(s) cannot be split into train and validation", e.Message);
    }

    [Fact]
    public void Validation_split_is_the_last_part_after_a_seeded_shuffle_and_disjoint_from_train()
    {
        var o = new DataOptions { Source = "synthetic", Input = Shape.Image(1, 4, 4), Classes = 3, SyntheticTrain = 100, SyntheticTest = 10,
                                  ValFraction = 0.2, Seed = 11, Normalize = false };
        var raw = DataRegistry.Load(o with { ValFraction = 0 });
        var split = DataRegistry.Load(o);
        Assert.Equal(80, split.Train.Count);
        Assert.Equal(20, split.Val!.Count);
        Assert.Equal(10, split.Test!.Count);
        int[] Ids(ImageSet s) => s is Dataset d ? Enumerable.Range(0, d.Count).Select(i => FindIn((Dataset)raw.Train, d.Sample(i))).ToArray() : throw new InvalidOperationException("in memory");
        var trainIds = Ids(split.Train);
        var valIds = Ids(split.Val);
        Assert.Empty(trainIds.Intersect(valIds));
        Assert.Equal(Enumerable.Range(0, 100), trainIds.Concat(valIds).Order());
        // same seed, same split; another seed, another split
        Assert.Equal(valIds, Ids(DataRegistry.Load(o).Val!));
        Assert.NotEqual(valIds, Ids(DataRegistry.Load(o with { Seed = 12 }).Val!));
    }

    /// <summary>
    /// <c>subset</c> limits the training-set images a run uses, and <c>val_split</c> holds out its fraction of those:
    /// 30 of 100 with 0.2 → 24 to train on and 6 to validate (not the 20 of the whole set), both from the same seeded
    /// shuffle, disjoint; without a split the subset is the training part. The test set has its own test_subset.
    /// </summary>
    [Fact]
    public void A_subset_shrinks_the_validation_split_with_the_training_part()
    {
        var o = new DataOptions { Source = "synthetic", Input = Shape.Image(1, 4, 4), Classes = 3, SyntheticTrain = 100, SyntheticTest = 10,
                                  ValFraction = 0.2, Seed = 11, Normalize = false };
        var raw = (Dataset)DataRegistry.Load(o with { ValFraction = 0 }).Train;
        int[] Ids(ImageSet s) => Enumerable.Range(0, s.Count).Select(i => FindIn(raw, ((Dataset)s).Sample(i))).ToArray();
        var sub = DataRegistry.Load(o with { Subset = 30 });
        Assert.Equal((24, 6, 10), (sub.Train.Count, sub.Val!.Count, sub.Test!.Count));
        var used = Ids(sub.Train).Concat(Ids(sub.Val)).ToArray();
        Assert.Equal(30, used.Distinct().Count());
        Assert.Equal(Ids(DataRegistry.Load(o with { ValFraction = 0, Subset = 30 }).Train), used); // the same 30 images, the last 6 held out
        Assert.Equal((24, 6), DataCatalog.SplitSizes(100, 0.2, 30));
        Assert.Equal((80, 20), DataCatalog.SplitSizes(100, 0.2, 500)); // a subset larger than the set is the set
        Assert.Equal((1800, 200), DataCatalog.SplitSizes(60_000, 0.1, 2000));
        Assert.Null(DataCatalog.SplitSizes(100, 0.2, 1)); // one image cannot be split
    }

    private static int FindIn(Dataset d, ReadOnlySpan<float> image)
    {
        for (int i = 0; i < d.Count; i++) if (d.Sample(i).SequenceEqual(image)) return i;
        return -1;
    }

    [Fact]
    public void Normalisation_uses_training_statistics_for_every_split_and_is_returned()
    {
        var o = new DataOptions { Source = "synthetic", Input = Shape.Image(2, 4, 4), SyntheticTrain = 200, SyntheticTest = 50, ValFraction = 0.25 };
        var raw = DataRegistry.Load(o with { Normalize = false });
        var norm = DataRegistry.Load(o);
        Assert.NotNull(norm.Normalization);
        var expected = raw.Train.ChannelStatistics();
        Assert.Equal(expected.Mean, norm.Normalization!.Mean);
        var after = norm.Train.ChannelStatistics();
        Assert.All(after.Mean, m => Assert.Equal(0, m, 5));
        Assert.All(after.Std, s => Assert.Equal(1, s, 5));
        // the test set is transformed with the training statistics, not its own
        float x = ((Dataset)raw.Test!).Images[0];
        Assert.Equal((x - expected.Mean[0]) / expected.Std[0], ((Dataset)norm.Test!).Images[0], 4);
        // given statistics (a saved run's) are used as they are
        var given = new Normalization(new[] { 1.0, 2.0 }, new[] { 4.0, 8.0 });
        var withGiven = DataRegistry.Load(o with { Normalization = given });
        Assert.Same(given, withGiven.Normalization);
        Assert.Equal((x - 1.0) / 4.0, ((Dataset)withGiven.Test!).Images[0], 5);
    }

    [Fact]
    public void Synthetic_needs_an_image_input_and_checks_catch_shape_and_class_mismatches()
    {
        var e = Assert.Throws<DataException>(() => DataRegistry.Load(new DataOptions { Source = "synthetic" }));
        Assert.Contains("input", e.Message);

        var splits = DataRegistry.Load(new DataOptions { Source = "synthetic", Input = Shape.Image(1, 6, 6), Classes = 5, SyntheticTrain = 10, SyntheticTest = 5 });
        splits.CheckAgainst(Shape.Image(1, 6, 6), 5);
        var shape = Assert.Throws<DataException>(() => splits.CheckAgainst(Shape.Image(3, 32, 32), 5));
        Assert.Contains("[1, 6, 6]", shape.Message);
        Assert.Contains("image[3, 32, 32]", shape.Message);
        var classes = Assert.Throws<DataException>(() => splits.CheckAgainst(Shape.Image(1, 6, 6), 3));
        Assert.Contains("5 classes", classes.Message);
        var more = Assert.Throws<DataException>(() => splits.CheckAgainst(Shape.Image(1, 6, 6), 20)); // a 20-way head on 5 classes
        Assert.Equal("data 'synthetic' has 5 classes but the model predicts 20; set classes = 5", more.Message);
    }

    [Fact]
    public void Folder_source_loads_through_the_registry_with_an_inline_path()
    {
        using var tmp = new DataTempDir();
        foreach (var (cls, v) in new[] { ("x", (byte)10), ("y", (byte)20) })
        {
            Directory.CreateDirectory(tmp[cls]);
            for (int i = 0; i < 5; i++)
                File.WriteAllBytes(tmp[$"{cls}/{i}.png"], DataTestFiles.GrayPng(3, 3, Enumerable.Repeat((byte)(v + i), 9).ToArray()));
        }
        var splits = DataRegistry.Load(new DataOptions { Source = $"folder:{tmp.Path}", Input = Shape.Image(1, 3, 3), ValFraction = 0.2, Normalize = false });
        Assert.Equal(8, splits.Train.Count);
        Assert.Equal(2, splits.Val!.Count);
        Assert.Null(splits.Test);
        Assert.Equal(new[] { "x", "y" }, splits.ClassNames);
    }

    [Fact]
    public void Fashion_mnist_by_name_with_a_path_and_subset()
    {
        using var tmp = new DataTempDir();
        DataTestFiles.WriteIdxSet(tmp.Path, 30, 10);
        var splits = DataRegistry.Load(new DataOptions { Source = "fashion-mnist", Path = tmp.Path, Subset = 7, TestSubset = 4, Seed = 1 });
        Assert.Equal(7, splits.Train.Count);
        Assert.Equal(4, splits.Test!.Count);
        Assert.Null(splits.Val);
    }
}
