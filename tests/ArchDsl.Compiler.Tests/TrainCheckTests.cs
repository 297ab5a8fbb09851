using ArchDsl.Compiler.Analysis;
using ArchDsl.Dsl;

namespace ArchDsl.Compiler.Tests;

using static CompilerTestKit;
using static CompilerDiagnosticTests;

/// <summary>
/// <c>check</c> rejects what <c>train</c> would (issue 9, item 8), degenerate batch statistics (item 1),
/// how overrides compose (item 5), and the typed train config with its defaults (issue 10, item 2).
/// </summary>
public class TrainCheckTests
{
    // ---- data, classifier shape, layout preconditions -----------------------------------------------

    [Fact]
    public void UnknownDataNameSuggestsTheClosest() =>
        Expect(Spec("conv(dim, kernel: 2)", "train { data: cifar11 }"), CompilerCodes.TrainValue, 5, "cifar11",
            "unknown data 'cifar11'; expected fashion-mnist, mnist, cifar10, cifar100, folder or synthetic", "did you mean 'cifar10'?");

    [Fact]
    public void UnknownDataNameInAnOverrideIsLocatedInTheOverride()
    {
        var d = Single(Compile(Spec("conv(dim, kernel: 2)"), "train.data=cifar11"), CompilerCodes.TrainValue);
        Assert.Equal("unknown data 'cifar11'; expected fashion-mnist, mnist, cifar10, cifar100, folder or synthetic", d.Message);
        Assert.Equal(Override.SourceName, d.Span!.Value.File);
        At(d, 1, 12);
    }

    [Fact]
    public void AMissingImageFolderIsReportedAtTheData()
    {
        var missing = Path.Combine(Path.GetTempPath(), "archdsl-no-such-folder-" + Guid.NewGuid().ToString("N"));
        var r = Compile(Spec("conv(dim, kernel: 2)", $"train {{ data: folder(path: \"{missing}\") }}"));
        Assert.True(r.Success); // a warning only
        var d = Assert.Single(r.Diagnostics, x => x.Code == CompilerCodes.DataFolderMissing);
        Assert.Equal($"image folder '{missing}' does not exist", d.Message);
        Assert.Equal("give the directory holding train/<class>/<image> (and val/<class>/<image>), or <class>/<image>", d.Hint);
        At(d, 5, Spec("conv(dim, kernel: 2)", $"train {{ data: folder(path: \"{missing}\") }}").Split('\n')[4].IndexOf("folder(") + 1);
        Assert.Equal(Severity.Warning, d.Severity); // the folder may exist where the spec trains: check still passes
    }

    [Fact]
    public void ImageFolderClassFoldersMustMatchTheModelsOutputs()
    {
        var root = Path.Combine(Path.GetTempPath(), "archdsl-classes-" + Guid.NewGuid().ToString("N"));
        try
        {
            foreach (var c in new[] { "a", "b", "c", ".hidden" }) Directory.CreateDirectory(Path.Combine(root, "train", c));
            Expect(Spec("conv(dim, kernel: 2)", $"train {{ data: folder(path: \"{root}\") }}"), CompilerCodes.DataFolderClasses, 5, "folder(",
                $"image folder '{Path.Combine(root, "train")}' has 3 class folders but the model outputs vector[10]", "set classes = 3, or point data at a folder with 10 class folders");
            foreach (var c in Enumerable.Range(0, 7)) Directory.CreateDirectory(Path.Combine(root, "train", $"k{c}"));
            Assert.DoesNotContain(Compile(Spec("conv(dim, kernel: 2)", $"train {{ data: folder(path: \"{root}\") }}"), []).Diagnostics,
                d => d.Code is CompilerCodes.DataFolderClasses or CompilerCodes.DataFolderMissing);
        }
        finally { Directory.Delete(root, true); }
    }

    [Fact]
    public void AnImageFoldersTestClassOutsideTheTrainingClassesIsAnErrorInTheWordsTrainUses()
    {
        var root = Path.Combine(Path.GetTempPath(), "archdsl-valclasses-" + Guid.NewGuid().ToString("N"));
        try
        {
            foreach (var c in new[] { "train/cat", "train/dog", "val/cat", "val/bird", "val/.cache" }) Directory.CreateDirectory(Path.Combine(root, c));
            var spec = Spec("conv(dim, kernel: 2)", $"train {{ data: folder(path: \"{root}\") }}", header: "arch A(dim = 8, heads = 2, classes = 2)");
            var val = Path.Combine(root, "val");
            var d = Expect(spec, CompilerCodes.DataFolderTestClass, 5, "folder(",
                $"image folder '{val}': class 'bird' is not among the 2 training classes; its labels would mean nothing to the model",
                $"give {val} the training classes' folders only (cat, dog)");
            Assert.Equal(ImageFolderLayout.UnknownMessage(val, ["bird"], 2), d.Message);   // what the runtime's listing throws
            Directory.Delete(Path.Combine(val, "bird"));
            Assert.DoesNotContain(Compile(spec, []).Diagnostics, x => x.Code == CompilerCodes.DataFolderTestClass);
        }
        finally { Directory.Delete(root, true); }
    }

    [Fact]
    public void ASubsetAboveTheDatasTrainingImagesIsAWarningThatAllAreUsed()
    {
        var spec = Spec("conv(dim, kernel: 2)", "train { data: synthetic(train: 64), subset: 100 }");
        var r = Compile(spec);
        Assert.True(r.Success);   // a warning: it trains, on every image (DataCatalog.SplitSizes)
        var d = Assert.Single(r.Diagnostics, x => x.Code == CompilerCodes.SubsetBeyondData);
        Assert.Equal(Severity.Warning, d.Severity);
        Assert.Equal("subset 100 is more than the 64 training images of 'synthetic': all 64 are used", d.Message);
        Assert.Equal("leave subset out to train on every image, or give fewer", d.Hint);
        At(d, 5, spec.Split('\n')[4].IndexOf("100") + 1);
        Assert.Equal((64, 0), DataCatalog.SplitSizes(64, 0, 100));
        Assert.DoesNotContain(Compile(spec.Replace("subset: 100", "subset: 64"), []).Diagnostics, x => x.Code == CompilerCodes.SubsetBeyondData);
    }

    [Fact]
    public void DataCallArgumentsAreChecked() =>
        Expect(Spec("conv(dim, kernel: 2)", "train { data: synthetic(train: 10, tset: 3) }"), CompilerCodes.UnknownArgument, 5, "tset",
            "synthetic has no argument 'tset'", "did you mean 'test'?");

    [Fact]
    public void ClassCountMustEqualTheData() =>
        Expect(Spec("conv(dim, kernel: 2)", "train { data: fashion-mnist }", header: "arch A(dim = 8, classes = 20)"), CompilerCodes.DataMismatch,
            4, "linear", "data 'fashion-mnist' has 10 classes but the model outputs vector[20]", "set classes = 10, or train on data with 20 classes");

    [Fact]
    public void SyntheticClassesMustEqualTheHead() =>
        Expect(Spec("conv(dim, kernel: 2)", "train { data: synthetic(classes: 4) }"), CompilerCodes.DataMismatch,
            4, "linear", "data 'synthetic' has 4 classes but the model outputs vector[10]", "set classes = 4, or train on data with 10 classes");

    [Fact]
    public void DataImagesMustMatchTheInput() =>
        Expect(Spec("conv(dim, kernel: 2)", "train { data: cifar10 }"), CompilerCodes.DataMismatch, 5, "cifar10",
            "data 'cifar10' has images image[3, 32, 32] but the model's input is image[1, 28, 28]", "write input image[3, 32, 32], or train on other data");

    [Fact]
    public void OnlyWhatTrainsAsksWhatTrainingNeeds()
    {
        var plain = ArchCompiler.CompileText(Spec("conv(dim, kernel: 2)", "train { data: fashion-mnist }", header: "arch A(dim = 8, classes = 20)"), "test.arch");
        Assert.True(plain.Success); // summary, graph, bench, diff: the model itself is fine
        Assert.Equal([CompilerCodes.DataMismatch], plain.TrainDiagnostics.Select(d => d.Code));
        Assert.False(plain.ForTraining().Success); // check, train, sweep
        Assert.Null(plain.ForTraining().Graph);
    }

    [Fact]
    public void WithoutADataKeyTheDefaultDataDoesNotJudgeTheModel() =>
        Graph(Spec("conv(dim, kernel: 2)", input: "input image[3, 32, 32]", header: "arch A(dim = 8, classes = 1000)"));

    private const string VitStem = "arch V(dim = 16, classes = 10)\ninput image[1, 28, 28]\nstem patches(7) -> linear(dim)";

    [Fact]
    public void ATokenOutputIsNotAClassifier() =>
        Expect($"{VitStem} -> cls_token\nhead layernorm -> linear(classes)", CompilerCodes.NotAClassifier, 4, "linear",
            "the model outputs tokens[17, 10], but training needs a vector of class scores",
            "end the head with cls_pool (after a cls_token) or global_pool, then linear(classes)");

    [Fact]
    public void AnImageOutputIsNotAClassifier() =>
        Expect(Spec("conv(dim, kernel: 2)", "train { epochs: 1 }").Replace("head avgpool -> linear(classes)", "head conv(classes, kernel: 1)"),
            CompilerCodes.NotAClassifier, 4, "conv", "the model outputs image[10, 27, 27], but training needs a vector of class scores",
            "end the head with global_pool -> linear(classes)");

    [Fact]
    public void ClsNeedsAClassToken() =>
        Expect($"{VitStem}\nhead layernorm -> cls -> linear(classes)", CompilerCodes.MissingClassToken, 4, "cls",
            "cls reads the class token, but no cls_token before it adds one: it would classify from the first patch token of tokens[16, 16]",
            "add cls_token after patches in the stem (as ViT), or use global_pool to average the tokens (as Mixer)");

    [Fact]
    public void ClsAfterAClassTokenThroughMixersIsFine() =>
        Graph($"{VitStem} -> cls_token -> pos_embed\nmixer * 2 {{\n  token: attention(2)\n  channel: linear(dim)\n}}\nhead layernorm -> cls -> linear(classes)");

    [Fact]
    public void ClsOnTokensGivenAsInputIsTheInputsBusiness() =>
        Graph("arch T(classes = 10)\ninput tokens[5, 8]\nhead cls -> linear(classes)");

    [Fact]
    public void CropPaddingMustBeSmallerThanTheImage() =>
        Expect(Spec("conv(dim, kernel: 2)", "train { augment: [crop(pad: 28)] }"), CompilerCodes.TrainValue, 5, "[crop",
            "crop(pad: 28) needs images larger than the padding; the input is image[1, 28, 28]", "use a pad below 28");

    [Fact]
    public void PerChannelStatisticsMatchTheInputChannels() =>
        Expect(Spec("conv(dim, kernel: 2)", "train { mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2] }"), CompilerCodes.TrainValue, 5, "[0.5",
            "train keys 'mean' and 'std' have 3 values each but the input has 1 channel", "give one value per channel");

    [Theory]
    [InlineData("train { mean: 0.5 }", "0.5", "train key 'mean' needs 'std' as well")]
    [InlineData("train { mean: [0.5], std: [0.2, 0.3] }", "[0.2", "train key 'std' has 2 value(s) but 'mean' has 1")]
    [InlineData("train { mean: 0.5, std: 0 }", "0 }", "train key 'std' must hold numbers > 0 (each channel is divided by its std)")]
    [InlineData("train { optimizer: sgd(nesterov: true) }", "sgd", "sgd(nesterov: true) needs a momentum > 0")]
    [InlineData("train { schedule: onecycle, warmup: 1 }", "1 }", "onecycle warms up through its pct_start, so train key 'warmup' must be 0 with it")]
    [InlineData("train { schedule: cosine(min_lr: 0.1) }", "cosine", "cosine(min_lr: 0.1) is above the optimizer's lr 0.001; the rate decays from lr to min_lr")]
    [InlineData("train { data: folder }", "folder", "data 'folder' needs a directory")]
    [InlineData("train { augment: [flip, flip] }", "flip]", "augmentation 'flip' is listed twice")]
    [InlineData("train { augment: [randaugment(m: 40)] }", "40", "argument 'm' of randaugment expects an integer in 0..30 but got the integer 40")]
    public void RulesBetweenTrainValuesAreTheCompilers(string train, string at, string message) =>
        Expect(Spec("conv(dim, kernel: 2)", train), CompilerCodes.TrainValue, 5, at, message);

    // ---- one-cycle phases ---------------------------------------------------------------------------

    [Fact]
    public void AOneCycleWithAnEmptyPhaseWhereAStepFallsIsAnErrorInTheWordsTrainUses()
    {
        // 64 images in batches of 16 for one epoch: 4 steps; pct_start 0.25 ends phase 1 at 0.25·4 − 1 = 0, where it
        // starts, and step 0 falls in it (PyTorch's OneCycleLR divides by zero there)
        const string train = "train { data: synthetic(train: 64), batch: 16, epochs: 1, schedule: onecycle(max_lr: 0.01, pct_start: 0.25) }";
        var d = Expect(Spec("conv(dim, kernel: 2)", train), CompilerCodes.OneCycleEmptyPhase, 5, "onecycle",
            "one-cycle with 4 total steps and pct_start 0.25 puts step 0 in phase 1 of 2, which is empty (it starts and ends at step 0; PyTorch divides by zero here)",
            "the run has 1 epoch(s) × 4 batch(es) (64 training images, batch 16); use more steps or another pct_start");
        Assert.Equal(OneCyclePhases.Describe(4, 0.25, false, 0), d.Message);   // the runtime's schedule says this too
        Graph(Spec("conv(dim, kernel: 2)", train.Replace("epochs: 1", "epochs: 2")));   // 8 steps: phase 1 ends at step 1
        Assert.Equal(0, OneCyclePhases.EmptyPhaseStep(4, 0.25, threePhase: true));
        // three phases whose last is empty hold only step T there, which a run never trains (PyTorch's T-th step() reads it)
        Assert.Null(OneCyclePhases.EmptyPhaseStep(4, 0.625, threePhase: true));
        Assert.Null(OneCyclePhases.EmptyPhaseStep(1_000_000, 0.3, threePhase: false));
    }

    // ---- degenerate batch statistics ----------------------------------------------------------------

    private static string OneByOne(string extra = "") =>
        Spec("conv(dim, kernel: 28, stride: 28) -> gelu -> batchnorm", extra);

    [Fact]
    public void BatchNormOverOneValuePerChannelIsAnError()
    {
        var d = Expect(OneByOne(), CompilerCodes.DegenerateBatchStatistics, 3, "batchnorm",
            "batchnorm 'stem.2' would take its training statistics over 1 value per channel (batch 1 × 1×1 map)",
            "use a batch of at least 2 (PyTorch refuses this: \"Expected more than 1 value per channel when training\"), or layernorm here",
            overrides: ["train.batch=1"]);
        Assert.True(d.IsError);
    }

    [Fact]
    public void BatchNormIsFineWithTwoValuesPerChannel()
    {
        Graph(OneByOne(), "train.batch=2");
        Graph(Spec("conv(dim, kernel: 2, stride: 2) -> batchnorm"), "train.batch=1"); // 14×14 values per channel
    }

    [Fact]
    public void TheAnalysisCountsBatchTimesMapOrTokens()
    {
        var image = Graph(Spec("conv(dim, kernel: 4, stride: 4) -> batchnorm"));
        var bn = Node(image, "stem.1");
        Assert.Equal(49, BatchStatistics.ValuesPerChannel(bn, 1));
        Assert.Equal(98, BatchStatistics.ValuesPerChannel(bn, 2));
        var tokens = Graph("arch T(classes = 10)\ninput tokens[1, 8]\nstem batchnorm\nhead avgpool -> linear(classes)", "train.batch=2");
        Assert.Equal(2, BatchStatistics.ValuesPerChannel(Node(tokens, "stem.0"), 2));
        Assert.Equal(["stem.0"], BatchStatistics.Degenerate(tokens, 1).Select(n => n.Name));
        Assert.Empty(BatchStatistics.Degenerate(tokens, 2));
    }

    [Fact]
    public void ALastBatchOfOneIsAnErrorWhereTheDataSizeIsKnown()
    {
        var d = Expect(OneByOne("train { data: synthetic(train: 65), batch: 32 }"), CompilerCodes.DegenerateBatchStatistics, 3, "batchnorm",
            "batchnorm 'stem.2' would take its training statistics over 1 value per channel: the last batch of each epoch has 1 image (65 training images, batch 32)",
            "choose a batch that leaves more than one image in the last batch, or another subset or val_split");
        Expect(OneByOne("train { data: fashion-mnist, subset: 1 }"), CompilerCodes.DegenerateBatchStatistics, 3, "batchnorm",
            "batchnorm 'stem.2' would take its training statistics over 1 value per channel: the training set has 1 image");
        // 81 images, a fifth held out for validation: 65 left, the last batch of 32 has 1
        Expect(OneByOne("train { data: synthetic(train: 81), batch: 32, val_split: 0.2 }"), CompilerCodes.DegenerateBatchStatistics, 3, "batchnorm",
            "batchnorm 'stem.2' would take its training statistics over 1 value per channel: the last batch of each epoch has 1 image (65 training images, batch 32)");
        Graph(OneByOne("train { data: synthetic(train: 66), batch: 32 }"));
        Assert.Equal([32, 1], BatchStatistics.EpochBatchSizes(65, 32));
        Assert.Equal([32], BatchStatistics.EpochBatchSizes(64, 32));
        Assert.Equal([5], BatchStatistics.EpochBatchSizes(5, 32));
    }

    [Fact]
    public void ManyDegenerateBatchNormsAreOneDiagnosticThatCountsThem() =>
        Expect(Spec("conv(dim, kernel: 28, stride: 28) -> batchnorm -> conv(dim, kernel: 1) -> batchnorm"), CompilerCodes.DegenerateBatchStatistics, 3, "batchnorm",
            "batchnorm 'stem.1' would take its training statistics over 1 value per channel (batch 1 × 1×1 map); so would 1 more after it", overrides: ["train.batch=1"]);

    [Fact]
    public void AValidationSplitOfOneImageIsAnError() =>
        Expect(Spec("conv(dim, kernel: 2)", "train { data: synthetic(train: 1), val_split: 0.5 }"), CompilerCodes.DataMismatch, 5, "0.5",
            "data 'synthetic' has 1 training image, which val_split cannot divide into train and validation", "use more training images, or val_split: 0");

    [Fact]
    public void DataNeedsAnImageInput() =>
        Expect("arch A(classes = 10)\ninput vector[4]\nstem linear(classes)\ntrain { data: synthetic }", CompilerCodes.DataMismatch, 4, "synthetic",
            "data 'synthetic' holds images but the model's input is vector[4]", "write input image[channels, height, width]");

    // ---- overrides compose as Hydra does ------------------------------------------------------------

    private static TrainCall Optimizer(params string[] overrides) => (TrainCall)SpecGraph("convmixer.arch", overrides).Train["optimizer"]!;

    [Fact]
    public void AWholeValueAppliesBeforeItsArgumentsWhateverTheOrder()
    {
        var a = Optimizer("train.optimizer.lr=0.5", "train.optimizer=sgd");
        var b = Optimizer("train.optimizer=sgd", "train.optimizer.lr=0.5");
        Assert.Equal(("sgd", 0.5), (a.Name, a.Args["lr"]));
        Assert.Equal(a.ToString(), b.ToString());
        // an argument beside a call that gives it: the argument override wins in both orders
        Assert.Equal(0.5, Optimizer("train.optimizer=sgd(lr: 0.2, momentum: 0.9)", "train.optimizer.lr=0.5").Args["lr"]);
        var c = Optimizer("train.optimizer.lr=0.5", "train.optimizer=sgd(lr: 0.2, momentum: 0.9)");
        Assert.Equal((0.5, 0.9), (c.Args["lr"], c.Args["momentum"]));
        // two arguments of one call, in either order
        Assert.Equal(Optimizer("train.optimizer.lr=0.5", "train.optimizer.weight_decay=0.1").ToString(),
                     Optimizer("train.optimizer.weight_decay=0.1", "train.optimizer.lr=0.5").ToString());
    }

    [Fact]
    public void AnArgumentOverrideReplacesTheSpecsArgumentGivenPositionally()
    {
        var spec = Spec("conv(dim, kernel: 2)", "train { optimizer: sgd(0.2, 0.9) }");
        var c = (TrainCall)Graph(spec, "train.optimizer.lr=0.5").Train["optimizer"]!;
        Assert.Equal((0.5, 0.9), (c.Args["lr"], c.Args["momentum"]));
        var w = (TrainCall)Graph(spec, "train.optimizer=sgd(0.2)", "train.optimizer.momentum=0.8", "train.optimizer.lr=0.3").Train["optimizer"]!;
        Assert.Equal((0.3, 0.8), (w.Args["lr"], w.Args["momentum"]));
    }

    // ---- train calls bind their arguments as ops do (ArgBinder) -------------------------------------

    [Fact]
    public void ATrainCallTakesItsArgumentsPositionallyInOrder()
    {
        var data = (TrainCall)Graph(Spec("conv(dim, kernel: 2)", "train { data: synthetic(64, 32, noise: 0.5) }")).Train["data"]!;
        Assert.Equal((64L, 32L, 0.5), (data.Args["train"], data.Args["test"], data.Args["noise"]));
    }

    [Fact]
    public void ATrainCallWithTooManyPositionalArguments() =>
        Expect(Spec("conv(dim, kernel: 2)", "train { augment: [randaugment(2, 9, 1)] }"), CompilerCodes.TooManyArguments, 5, "1)",
            "randaugment takes at most 2 positional arguments");

    [Fact]
    public void ATrainCallWithoutArgumentsNamesThatInItsHint() =>
        Expect(Spec("conv(dim, kernel: 2)", "train { augment: [flip(p: 0.5)] }"), CompilerCodes.UnknownArgument, 5, "p:",
            "flip has no argument 'p'", "flip takes no arguments");

    [Fact]
    public void AnUnknownTrainCallArgumentWithNoCloseNameListsTheArguments() =>
        Expect(Spec("conv(dim, kernel: 2)", "train { augment: [randaugment(magnitude: 3)] }"), CompilerCodes.UnknownArgument, 5, "magnitude",
            "randaugment has no argument 'magnitude'", "randaugment takes n, m");

    [Fact]
    public void ATrainCallArgumentGivenTwice()
    {
        var spec = Spec("conv(dim, kernel: 2)", "train { schedule: onecycle(0.1, max_lr: 0.2) }");
        var d = Expect(spec, CompilerCodes.DuplicateArgument, 5, "max_lr", "argument 'max_lr' of onecycle is given twice");
        ExpectLabel(d, spec, "first given here", 5, "0.1");
    }

    [Fact]
    public void AnAugmentationListedTwicePointsAtTheFirst()
    {
        var spec = Spec("conv(dim, kernel: 2)", "train { augment: [crop(pad: 2), flip, crop] }");
        var d = Expect(spec, CompilerCodes.TrainValue, 5, "crop]", "augmentation 'crop' is listed twice", "list each augmentation once");
        ExpectLabel(d, spec, "first given here", 5, "crop(pad: 2)");
    }

    [Fact]
    public void AnArgumentTheChosenCallLacksIsAnErrorInEitherOrder()
    {
        foreach (var order in new[] { new[] { "train.optimizer.betas=[0.9, 0.99]", "train.optimizer=sgd" }, ["train.optimizer=sgd", "train.optimizer.betas=[0.9, 0.99]"] })
        {
            var d = Single(ArchCompiler.CompileFile(Path.Combine(SpecsDir, "convmixer.arch"), Override.ParseAll(order)), CompilerCodes.UnknownArgument);
            Assert.Equal("sgd has no argument 'betas'", d.Message);
        }
    }

    [Theory]
    [InlineData("dim=8", "dim=16", "override 'dim' is given twice, as 8 and as 16")]
    [InlineData("train.epochs=2", "train.epochs=3", "override 'train.epochs' is given twice, as 2 and as 3")]
    [InlineData("train.optimizer.lr=0.5", "train.optimizer.lr=0.1", "override 'train.optimizer.lr' is given twice, as 0.5 and as 0.1")]
    [InlineData("train.optimizer=sgd", "train.optimizer=adamw", "override 'train.optimizer' is given twice, as sgd and as adamw")]
    public void AKeySetTwiceWithTwoValuesIsAConflict(string first, string second, string message)
    {
        var d = Single(ArchCompiler.CompileFile(Path.Combine(SpecsDir, "convmixer.arch"), Override.ParseAll([first, second])), CompilerCodes.ConflictingOverride);
        Assert.Equal(message, d.Message);
        Assert.Equal(second, d.Span!.Value.Source.Text);
        At(d, 1, 1);
        Assert.Equal($"keep one --set {second[..second.IndexOf('=')]}=…", d.Hint);
    }

    [Fact]
    public void AKeySetTwiceToOneValueCountsOnce() =>
        Assert.Equal(2L, SpecGraph("convmixer.arch", "train.epochs=2", "train.epochs=2").Train["epochs"]);

    // ---- the typed train config -------------------------------------------------------------------

    [Fact]
    public void TypedConfigFillsEveryDefaultFromTheTable()
    {
        var t = Graph(Spec("conv(dim, kernel: 2)", "train { schedule: onecycle, augment: [flip, crop] }")).Train;
        Assert.Equal(new TrainLoop(10, 128, 0, 0.0, 0.0, new Warmup(0, null), "cpu", AmpMode.Off), t.Loop);
        Assert.Equal(new AdamWConfig(1e-3, 0.01, 0.9, 0.999, 1e-8), t.Optimizer);
        Assert.Equal(new OneCycleScheduleConfig(1e-3, 0.3, "cos", 25, 1e4, false, 0.85, 0.95), t.Schedule); // PyTorch's OneCycleLR; max_lr = lr
        Assert.Equal([new FlipConfig(), new CropConfig(4)], t.Augment);
        Assert.Equal(DataCatalog.FashionMnist, t.Data.Set);
        Assert.True(t.Data.Normalize);
        Assert.False(t.Values.ContainsKey("normalize")); // the IR keeps its keys
        Assert.False(((TrainCall)t.Values["schedule"]).Args.ContainsKey("pct_start"));
    }

    [Fact]
    public void TypedDataCarriesSyntheticSizesAndPaths()
    {
        var t = Graph(Spec("conv(dim, kernel: 2)", "train { data: synthetic(train: 10), val_split: 0.2 }")).Train;
        Assert.Equal(new SyntheticConfig(10, DataCatalog.SyntheticTest, DataCatalog.SyntheticNoise, null), t.Data.Synthetic);
        Assert.Equal(0.2, t.Data.ValSplit);
        // not ForTraining: /x/y does not exist here (check reports that, AD0180)
        var folder = ArchCompiler.CompileText(Spec("conv(dim, kernel: 2)", "train { data: \"folder:/x/y\" }", header: "arch A(dim = 8, classes = 3)"), "test.arch", []).Graph!.Train.Data;
        Assert.Equal((DataCatalog.Folder, "/x/y"), (folder.Set, folder.Path));
        Assert.Equal("cifar10", DataCatalog.Find("CIFAR-10")!.Name);
        Assert.Equal(RandomResizedCropConfig.Default, folder.Transform);
        Assert.Equal(new CenterCropConfig(null, 0.875), folder.EvalTransform);
        Assert.Equal((false, null), (folder.Strict, folder.Workers));
    }

    [Fact]
    public void TypedDataCarriesTransformsCropPctNamedStatisticsAndFolderOptions()
    {
        var d = ArchCompiler.CompileText(Spec("conv(dim, kernel: 2)",
            "train { data: folder(path: \"/x\", strict: true, workers: 3), transform: random_resized_crop(scale: [0.25, 1], ratio: [3.0/4, 4.0/3]), crop_pct: 0.9, normalize: imagenet }",
            header: "arch A(dim = 8, classes = 3)", input: "input image[3, 28, 28]"), "test.arch", []).Graph!.Train.Data;
        Assert.Equal(new RandomResizedCropConfig(null, 0.25, 1, 0.75, 4.0 / 3), d.Transform);
        Assert.Equal(new CenterCropConfig(null, 0.9), d.EvalTransform);
        Assert.Equal((true, 3, "imagenet", true), (d.Strict, d.Workers, d.Statistics, d.Normalize));
        Assert.Equal(new[] { 0.485, 0.456, 0.406 }, d.Mean);
        Assert.Equal(new[] { 0.229, 0.224, 0.225 }, d.Std);
        var resize = ArchCompiler.CompileText(Spec("conv(dim, kernel: 2)", "train { data: \"folder:/x\", transform: resize }", header: "arch A(dim = 8, classes = 3)"),
            "test.arch", []).Graph!.Train.Data;
        Assert.Equal(new ResizeConfig(null), resize.EvalTransform);
    }

    [Fact]
    public void TransformArgumentsAreChecked() =>
        Expect(Spec("conv(dim, kernel: 2)", "train { transform: random_resized_crop(scale: [0.5, 0.2]) }"), CompilerCodes.TrainValue, 5, "[0.5, 0.2]",
            "argument 'scale' of random_resized_crop expects a list [min, max] with 0 < min ≤ max ≤ 1 but got the list [0.5, 0.2]");

    [Fact]
    public void AConfigNotCompiledFromSourceIsCheckedByTheSameRules()
    {
        var good = Graph(Spec("conv(dim, kernel: 2)")).Train;
        Assert.Empty(TrainSchema.Check(good));
        var bad = new TrainConfig(new Dictionary<string, object>(good.Values)
        {
            ["optimizer"] = new TrainCall("adam", new Dictionary<string, object>()),
            ["epochs"] = 0L,
            ["mean"] = 0.5,
        });
        Assert.Equal(["train key 'epochs' expects a positive integer but got the integer 0", "train key 'mean' needs 'std' as well",
                      "unknown optimizer 'adam'; expected adamw or sgd"], TrainSchema.Check(bad).Order(StringComparer.Ordinal));
    }
}
