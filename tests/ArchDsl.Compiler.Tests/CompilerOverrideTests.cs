namespace ArchDsl.Compiler.Tests;

using static CompilerTestKit;

/// <summary>Overrides (--set), derived archs, the train section, and every spec under specs/.</summary>
public class CompilerOverrideTests
{
    [Fact]
    public void DimOverrideReachesEveryLayer()
    {
        var g = SpecGraph("convmixer.arch", "dim=256");
        Assert.All(g.Nodes.Where(n => n.Op == "conv2d"), n => Assert.Equal(256L, n.Attrs["out"]));
        Assert.Equal(256L, Node(g, "blocks.0.token.0").Attrs["groups"]);
        Assert.Equal("vector[256]", Node(g, "head.0").OutputShape.ToString());
    }

    [Fact]
    public void OverridesReplaceDefaultsBeforeDependentDefaultsAreEvaluated()
    {
        var g = SpecGraph("mlp-mixer.arch", "dim=256");
        Assert.Equal(128L, Node(g, "blocks.0.token.1").Attrs["out"]);    // tokens_hidden = dim / 2
        Assert.Equal(1024L, Node(g, "blocks.0.channel.0").Attrs["out"]); // channels_hidden = dim * 4
    }

    [Fact]
    public void OverrideValuesAreExpressionsOverTheParameters()
    {
        var g = SpecGraph("vit.arch", "heads=4", "dim=heads * 64");
        Assert.Equal(4L, Node(g, "blocks.0.token.0").Attrs["heads"]);
        Assert.Equal("tokens[50, 256]", Node(g, "blocks.0.token.0").OutputShape.ToString());
    }

    [Fact]
    public void ActOverrideSwapsTheActivation()
    {
        var g = SpecGraph("convmixer.arch", "act=relu");
        Assert.Equal(17, g.Nodes.Count(n => n.Op == "relu"));
        Assert.DoesNotContain(g.Nodes, n => n.Op == "gelu");
    }

    [Fact]
    public void NormOverrideGivesLayerNormInConvMixer()
    {
        var baseline = SpecGraph("convmixer.arch");
        var g = SpecGraph("convmixer.arch", "norm=layer");
        Assert.DoesNotContain(g.Nodes, n => n.Op == "batchnorm");
        Assert.Equal(17, g.Nodes.Count(n => n.Op == "layernorm"));
        Assert.Equal(0, g.BufferCount);
        Assert.Equal(baseline.ParamCount, g.ParamCount); // LayerNorm over C has the same weight and bias as BatchNorm
        Assert.Equal("image[128, 14, 14]", Node(g, "stem.2").OutputShape.ToString());
    }

    [Fact]
    public void NormAndResidualOverridesInTheTransformer()
    {
        var g = SpecGraph("vit.arch", "norm=batch", "drop=0.1");
        Assert.Equal("batchnorm", Node(g, "blocks.0.token_norm").Op);
        Assert.Equal(0.1, Node(g, "blocks.0.channel_drop").Attrs["p"]);
        var post = SpecGraph("convmixer.arch", "residual=both");
        Assert.Equal(8, post.Nodes.Count(n => n.Name.EndsWith("channel_add")));
    }

    [Fact]
    public void TrainKeyOverrides()
    {
        var g = SpecGraph("convmixer.arch", "train.epochs=1", "train.optimizer.lr=0.001", "train.data=cifar10", "train.batch=64", "channels=3", "size=32");
        Assert.Equal(1L, g.Train["epochs"]);
        Assert.Equal(64L, g.Train["batch"]);
        Assert.Equal("cifar10", g.Train["data"]);
        var opt = Assert.IsType<TrainCall>(g.Train["optimizer"]);
        Assert.Equal("adamw", opt.Name);
        Assert.Equal(0.001, opt.Args["lr"]);
        Assert.Equal(0.01, opt.Args["weight_decay"]); // the spec's other arguments stay
    }

    [Fact]
    public void TrainCallOverridesReplaceOrExtendTheCall()
    {
        var g = SpecGraph("convmixer.arch", "train.optimizer=sgd(lr: 0.1, momentum: 0.9)", "train.schedule.pct_start=0.25", "train.seed=7");
        var opt = Assert.IsType<TrainCall>(g.Train["optimizer"]);
        Assert.Equal("sgd", opt.Name);
        Assert.Equal(0.9, opt.Args["momentum"]);
        Assert.Equal(false, opt.Args["nesterov"]); // defaults filled
        var schedule = Assert.IsType<TrainCall>(g.Train["schedule"]);
        Assert.Equal("onecycle", schedule.Name);
        Assert.Equal(0.25, schedule.Args["pct_start"]);
        Assert.Equal(7L, g.Train["seed"]);
    }

    [Fact]
    public void DataSubKeysApplyToTheStringFormAsToTheCallForm()
    {
        string[] sets = ["channels=3", "size=32"];
        var asString = SpecGraph("convmixer.arch", [.. sets, "train.data=\"folder:/data/x\"", "train.data.workers=3", "train.data.strict=true"]);
        var asCall = SpecGraph("convmixer.arch", [.. sets, "train.data=folder(path: \"/data/x\")", "train.data.workers=3", "train.data.strict=true"]);
        Assert.Equal(asCall.Train.Data, asString.Train.Data);
        Assert.Equal((3, true, "/data/x"), (asString.Train.Data.Workers, asString.Train.Data.Strict, asString.Train.Data.Path));
        var moved = SpecGraph("convmixer.arch", [.. sets, "train.data=\"folder:/data/x\"", "train.data.path=\"/data/y\""]);
        Assert.Equal("/data/y", moved.Train.Data.Path); // the sub-key replaces the string's path

        var r = ArchCompiler.CompileFile(Path.Combine(SpecsDir, "convmixer.arch"), Override.ParseAll([.. sets, "train.data=\"folder:/data/x\"", "train.data.wrkers=3"]));
        var d = Single(r, CompilerCodes.UnknownArgument);
        Assert.Equal("folder has no argument 'wrkers'", d.Message);
        Assert.Equal(Override.SourceName, d.Span!.Value.File);
        At(d, 1, 12); // the argument's name, not its value
        Assert.Contains("workers", d.Hint);
    }

    [Fact]
    public void BadTrainOverrideValueIsADiagnostic()
    {
        var r = ArchCompiler.CompileFile(Path.Combine(SpecsDir, "convmixer.arch"), Override.ParseAll(["train.epochs=0"]));
        var d = Single(r, CompilerCodes.TrainValue);
        Assert.Equal("train key 'epochs' expects a positive integer but got the integer 0", d.Message);
        Assert.Equal(Override.SourceName, d.Span!.Value.File);
        At(d, 1, 14);
    }

    [Fact]
    public void AnOverrideFromAnOptionIsReportedAsTyped()
    {
        var r = ArchCompiler.CompileFile(Path.Combine(SpecsDir, "convmixer.arch"), [Override.FromOption("--epochs", "train.epochs", "0")]);
        var d = Single(r, CompilerCodes.TrainValue);
        Assert.Equal(Override.CommandLineSourceName, d.Span!.Value.File);
        Assert.Equal("--epochs 0", d.Span!.Value.Source.Text);
        At(d, 1, 10);

        var conflict = ArchCompiler.CompileFile(Path.Combine(SpecsDir, "convmixer.arch"),
            [Override.Parse("train.epochs=3"), Override.FromOption("--epochs", "train.epochs", "2")]);
        var c = Single(conflict, CompilerCodes.ConflictingOverride);
        Assert.Equal("override 'train.epochs' is given twice, as 3 and as 2", c.Message);
        Assert.Equal("--epochs 2", c.Span!.Value.Source.Text);
        Assert.Equal(8, c.Span!.Value.Length);
    }

    [Fact]
    public void TrainSectionValuesAndDefaults()
    {
        var g = SpecGraph("convmixer.arch");
        Assert.Equal("fashion-mnist", g.Train["data"]);
        Assert.Equal(3L, g.Train["epochs"]);
        Assert.Equal(128L, g.Train["batch"]);
        Assert.Equal(new TrainCall("onecycle", new Dictionary<string, object>()).ToString(), g.Train["schedule"]!.ToString());
        var augment = Assert.IsType<List<object>>(g.Train["augment"]);
        Assert.Equal(["flip", "crop(pad: 2)"], augment.Select(a => a.ToString()));
        Assert.Equal(0.0, g.Train["label_smoothing"]);
        Assert.Equal("off", g.Train["amp"]);
        Assert.Equal(AmpMode.Off, g.Train.Loop.Amp);
        Assert.Null(g.Train["subset"]); // optional keys stay absent

        var bare = Graph("arch A(d = 4)\ninput vector[4]\nstem linear(d)");
        Assert.Equal(10L, bare.Train["epochs"]);
        Assert.Equal("adamw(betas: [0.9, 0.999], eps: 1e-08, lr: 0.001, weight_decay: 0.01)",
            ArchDsl.Compiler.Printers.ValueFormat.Value(bare.Train["optimizer"]!));
        Assert.Equal("constant", ((TrainCall)bare.Train["schedule"]!).Name);
    }

    [Fact]
    public void TrainValueKinds()
    {
        var g = Graph("""
            arch A(d = 4, lr = 0.5)
            input image[1, 8, 8]
            stem conv(d, kernel: 1)
            head avgpool
            train {
              data: synthetic(train: 100, test: 20, noise: 0.5)
              optimizer: sgd(lr: lr, momentum: 0.9, nesterov: true)
              schedule: cosine(warmup: 100, min_lr: 0)
              warmup: 0.1
              clip: 1
              augment: [erase(p: 0.5), randaugment(n: 1, m: 5), crop]
              mean: [0.5]
              std: 0.25
              device: cuda
              val_split: 0.1
              subset: 1000
            }
            """);
        var data = Assert.IsType<TrainCall>(g.Train["data"]);
        Assert.Equal(100L, data.Args["train"]);
        Assert.Equal(0.5, ((TrainCall)g.Train["optimizer"]!).Args["lr"]);
        Assert.Equal(true, ((TrainCall)g.Train["optimizer"]!).Args["nesterov"]);
        Assert.Equal(0.0, ((TrainCall)g.Train["schedule"]!).Args["min_lr"]);
        Assert.Equal(0.1, g.Train["warmup"]);
        Assert.Equal(1.0, g.Train["clip"]);
        Assert.Equal(["erase(p: 0.5)", "randaugment(m: 5, n: 1)", "crop(pad: 4)"], ((List<object>)g.Train["augment"]!).Select(a => a.ToString()));
        Assert.Equal([0.5], ((List<object>)g.Train["mean"]!).Cast<double>());
        Assert.Equal(0.25, g.Train["std"]);
        Assert.Equal("cuda", g.Train["device"]);
        Assert.Equal(1000L, g.Train["subset"]);
    }

    [Fact]
    public void DerivedArchTakesBaseParametersAsDefaultsAndReplacesStatements()
    {
        var spec = """
            arch Base(dim = 8, classes = 10)
            input image[1, 28, 28]
            stem conv(dim, kernel: 2, stride: 2)
            head avgpool -> linear(classes)
            train { epochs: 2 }
            arch Wide = Base(dim: 16)
            head avgpool -> linear(classes * 2) -> gelu
            """;
        var g = Graph(spec);
        Assert.Equal("Wide", g.Arch);
        Assert.Equal(16L, Node(g, "stem.0").Attrs["out"]);
        Assert.Equal(["input", "stem.0", "head.0", "head.1", "head.2"], g.Nodes.Select(n => n.Name));
        Assert.Equal("vector[20]", g.OutputNode.OutputShape.ToString());
        Assert.Equal(2L, g.Train["epochs"]); // not replaced: inherited
        var b = ArchCompiler.CompileText(spec, "test.arch", [], "Base").Graph!;
        Assert.Equal("Base", b.Arch);
        Assert.Equal(8L, Node(b, "stem.0").Attrs["out"]);
    }

    [Fact]
    public void DerivedArchOfADerivedArchAndPositionalBaseArguments()
    {
        var spec = "arch Base(dim = 8, classes = 10)\ninput image[1, 28, 28]\nstem conv(dim, kernel: 2)\nhead avgpool -> linear(classes)\narch B = Base(12)\narch C = B(classes: 3)";
        var g = Graph(spec, "dim=20");
        Assert.Equal("C", g.Arch);
        Assert.Equal(20L, Node(g, "stem.0").Attrs["out"]); // the override beats the base argument
        Assert.Equal("vector[3]", g.OutputNode.OutputShape.ToString());
        Assert.Equal(12L, Node(Graph(spec.Replace("arch C = B(classes: 3)", "")), "stem.0").Attrs["out"]);
    }

    [Fact]
    public void ParametersCanHoldOpCallsAndEnumWords()
    {
        var g = Graph("arch A(norm = layer(eps: 0.001), act = silu, pad = same)\ninput image[3, 8, 8]\nstem conv(4, kernel: 3, padding: pad) -> norm -> act");
        Assert.Equal(1L, Node(g, "stem.0").Attrs["padding"]);
        Assert.Equal(0.001, Node(g, "stem.1").Attrs["eps"]);
        Assert.Equal("silu", Node(g, "stem.2").Op);
        var overridden = Graph("arch A(norm = layer(eps: 0.001), act = silu)\ninput image[3, 8, 8]\nstem conv(4, kernel: 3) -> norm -> act", "norm=batch(momentum: 0.01)");
        Assert.Equal(0.01, Node(overridden, "stem.1").Attrs["momentum"]);
    }

    [Fact]
    public void AStepArgumentReplacesThePresetArgumentOfItsSlotGivenEitherWay()
    {
        // the preset fills 'out' positionally or by name; the step's out: 4 replaces it (one binder decides the slot)
        foreach (var preset in new[] { "linear(8)", "linear(out: 8)", "linear(8, bias: false)" })
        {
            var g = Graph($"arch A(act = {preset})\ninput tokens[4, 16]\nstem act(out: 4) -> act");
            Assert.Equal(4L, Node(g, "stem.0").Attrs["out"]);
            Assert.Equal(8L, Node(g, "stem.1").Attrs["out"]);
            Assert.Equal(!preset.Contains("false"), Node(g, "stem.0").Attrs["bias"]);
        }
        // the same for a block a parameter holds
        var b = Graph("block mlp(hidden, out = 4) { linear(hidden) -> linear(out) }\narch A(m = mlp(16))\ninput tokens[4, 8]\nstem m(hidden: 32)");
        Assert.Equal(32L, Node(b, "stem.0.0").Attrs["out"]);
    }

    [Fact]
    public void AStepThatGivesAnArgumentTwiceIsStillAnError()
    {
        var r = Compile("arch A(act = linear(8))\ninput tokens[4, 16]\nstem act(out: 4, out: 5)");
        var d = Single(r, CompilerCodes.DuplicateArgument);
        Assert.Equal("argument 'out' of linear is given twice", d.Message);
        At(d, 3, 18);
    }

    [Fact]
    public void DefaultsMayUseLaterParameters()
    {
        var g = Graph("arch A(hidden = dim * 4, dim = 8)\ninput tokens[3, 8]\nstem linear(hidden)");
        Assert.Equal(32L, Node(g, "stem.0").Attrs["out"]);
    }

    [Fact]
    public void EnumWordsAndFloatsInArithmetic()
    {
        var g = Graph("arch A(dim = 6, p = 1 / 4.0, h = dim % 4 + -1)\ninput tokens[3, 6]\nstem dropout(p) -> linear(h * 3)");
        Assert.Equal(0.25, Node(g, "stem.0").Attrs["p"]);
        Assert.Equal(3L, Node(g, "stem.1").Attrs["out"]);
    }

    public static TheoryData<string> AllSpecs()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.EnumerateFiles(SpecsDir, "*.arch", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            data.Add(Path.GetRelativePath(SpecsDir, f));
        return data;
    }

    [Theory]
    [MemberData(nameof(AllSpecs))]
    public void EverySpecCompilesToAWellFormedGraph(string spec)
    {
        var r = ArchCompiler.CompileFile(Path.Combine(SpecsDir, spec));
        Assert.True(r.Success, string.Join("\n", r.Diagnostics.Select(d => d.Render())));
        Assert.Empty(r.Diagnostics);
        var g = r.Graph!;
        Assert.Equal(g.Nodes.Count, g.Nodes.Select(n => n.Name).Distinct().Count());
        var tensors = g.Nodes.SelectMany(n => n.Params.Concat(n.Buffers).Select(t => $"{n.Name}.{t.Name}")).ToList();
        Assert.Equal(tensors.Count, tensors.Distinct().Count());
        for (var i = 0; i < g.Nodes.Count; i++)
        {
            var n = g.Nodes[i];
            Assert.Equal(i, n.Id);
            Assert.All(n.Inputs, x => Assert.True(x < i, $"{n.Name} reads a later node"));
            Assert.Equal(n.Inputs.Select(x => g.Nodes[x].OutputShape), n.InputShapes);
            Assert.NotNull(n.Origin);
        }
        Assert.Equal("input", g.Nodes[0].Op);
        Assert.Equal(g.Nodes.Count - 1, g.Output);
        Assert.Equal(Layout.Vector, g.OutputNode.OutputShape.Layout);
    }

    [Fact]
    public void SpecsDirectoryHoldsTheFamiliesAndTheImageNetModels()
    {
        var specs = Directory.EnumerateFiles(SpecsDir, "*.arch", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(SpecsDir, f).Replace('\\', '/')).ToList();
        foreach (var name in new[] { "convmixer.arch", "vit.arch", "mlp-mixer.arch", "resmlp.arch", "gmlp.arch" })
            Assert.Contains(name, specs);
        Assert.Equal(TestSupport.PublishedCounts.ImageNet.Count, specs.Count(s => s.StartsWith("imagenet"))); // each with its published count
    }
}
