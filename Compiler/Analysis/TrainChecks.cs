using System.Globalization;
using ArchDsl.Dsl;

namespace ArchDsl.Compiler.Analysis;

/// <summary>
/// What <c>train</c> needs to be true of a compiled spec, checked by the compiler so that <c>check</c>
/// rejects what <c>train</c> would: a classifier-shaped output, data whose class count and image shape
/// match the model, <c>cls</c> reading a class token that exists, train values that fit the input (crop
/// padding, per-channel statistics), and no BatchNorm with one value per channel at the train batch.
/// </summary>
internal static class TrainChecks
{
    /// <summary>What every compile checks: preconditions of the model itself (<c>cls</c> needs a class token).</summary>
    /// <param name="spans">Each node's source span, by node id.</param>
    public static void CheckModel(IrGraph g, IReadOnlyList<Span> spans, DiagnosticBag diags) => ClassTokens(g, spans, diags);

    /// <summary>What training needs (<see cref="CompileResult.TrainDiagnostics"/>): reported by check, train and sweeps.</summary>
    /// <param name="spans">Each node's source span, by node id.</param>
    /// <param name="trainSpans">Each given train key's value span.</param>
    /// <param name="classifier">The spec has a head or a train section, so it must end in class scores.</param>
    public static void CheckTraining(IrGraph g, IReadOnlyList<Span> spans, IReadOnlyDictionary<string, Span> trainSpans, bool classifier, DiagnosticBag diags)
    {
        if (classifier) Classifier(g, spans, trainSpans, diags);
        TrainValuesFitInput(g, spans, trainSpans, diags);
        var batch = g.Train.Loop.Batch;
        var full = BatchStatistics.Degenerate(g, batch);
        if (full.Count > 0)
            diags.Report(CompilerDiagnostics.BatchStatisticsOfOne, spans[full[0].Id],
                "use a batch of at least 2 (PyTorch refuses this: \"Expected more than 1 value per channel when training\"), or layernorm here",
                full[0].Name, BatchStatistics.Describe(full[0], batch), More(full));
        else EpochEnd(g, spans, trainSpans, diags);
        OneCycleSteps(g, trainSpans, diags);
        SubsetBeyondData(g, trainSpans, diags);
    }

    /// <summary>A warning for a <c>subset</c> above the known training images: <see cref="DataCatalog.SplitSizes"/> uses them all, silently otherwise.</summary>
    private static void SubsetBeyondData(IrGraph g, IReadOnlyDictionary<string, Span> trainSpans, DiagnosticBag diags)
    {
        var data = g.Train.Data;
        if (data.Subset is not int subset || (data.Synthetic?.Train ?? data.Set.TrainSamples) is not int total || subset <= total) return;
        if (!trainSpans.TryGetValue("subset", out var at)) return;
        diags.Add(Diagnostic.Create(CompilerDiagnostics.SubsetBeyondData, at, "leave subset out to train on every image, or give fewer",
            subset.ToString("N0", CultureInfo.InvariantCulture), data.Set.Name, total.ToString("N0", CultureInfo.InvariantCulture)) with { Severity = Severity.Warning });
    }

    /// <summary>
    /// One-cycle's phases over the run's steps (epochs × batches per epoch, the last batch kept), where the data's size
    /// is known: a step in an empty phase, which train refuses, by the rule the runtime's schedule uses (<see cref="OneCyclePhases"/>).
    /// </summary>
    private static void OneCycleSteps(IrGraph g, IReadOnlyDictionary<string, Span> trainSpans, DiagnosticBag diags)
    {
        if (g.Train.Schedule is not OneCycleScheduleConfig o || !trainSpans.TryGetValue("schedule", out var at)) return;
        var data = g.Train.Data;
        if ((data.Synthetic?.Train ?? data.Set.TrainSamples) is not int total || DataCatalog.SplitSizes(total, data.ValSplit, data.Subset) is not var (train, _)) return;
        var loop = g.Train.Loop;
        long batches = (train + loop.Batch - 1) / loop.Batch, steps = loop.Epochs * batches;
        if (steps <= 0 || OneCyclePhases.EmptyPhaseStep(steps, o.PctStart, o.ThreePhase) is not { } step) return;
        diags.Report(CompilerDiagnostics.OneCycleEmptyPhase, at,
            $"the run has {loop.Epochs} epoch(s) × {batches} batch(es) ({train} training images, batch {loop.Batch}); use more steps or another pct_start",
            OneCyclePhases.Describe(steps, o.PctStart, o.ThreePhase, step));
    }

    /// <summary>
    /// What depends on the device the run trains on: <c>amp</c> against <paramref name="device"/> when given (train's
    /// <c>--device</c>, a sweep's), else against the train key <c>device</c> — written or its default (the train table's,
    /// <c>cpu</c>), as the trainer takes it — by the trainer's own rule, <see cref="AmpModes.Unsupported"/>.
    /// </summary>
    /// <param name="trainSpans">Each given train key's value span; a key not given has the default, which every device takes.</param>
    public static IReadOnlyList<Diagnostic> OnDevice(IrGraph g, IReadOnlyDictionary<string, Span> trainSpans, string? device)
    {
        var diags = new DiagnosticBag();
        var deviceType = (device ?? g.Train.Loop.Device).Split(':')[0];
        if (trainSpans.TryGetValue("amp", out var at) && AmpModes.Unsupported(g.Train.Loop.Amp, deviceType) is { } why)
        {
            var hint = device is not null ? $"the run's --device is {device}: use amp: bf16 on the CPU, or --device cuda"
                : trainSpans.ContainsKey("device") ? "use amp: bf16 on the CPU, or device: cuda"
                : "the device defaults to cpu: use amp: bf16 on the CPU, or train on a GPU (device: cuda in the train section, or --device cuda)";
            diags.Report(CompilerDiagnostics.AmpFp16OnCpu, at, hint, why);
        }
        return diags.Items.ToList();
    }

    /// <summary>One diagnostic per batch size, at the first BatchNorm, counting the rest (a deep net would repeat it per block).</summary>
    private static string More(IReadOnlyList<IrNode> nodes) =>
        nodes.Count == 1 ? "" : string.Format(CultureInfo.InvariantCulture, CompilerDiagnostics.MoreNodes, nodes.Count - 1);

    /// <summary>The last batch of an epoch (or a set smaller than a batch), where the named data's size is known.</summary>
    private static void EpochEnd(IrGraph g, IReadOnlyList<Span> spans, IReadOnlyDictionary<string, Span> trainSpans, DiagnosticBag diags)
    {
        if (!trainSpans.TryGetValue("data", out var dataAt)) return;
        var data = g.Train.Data;
        if ((data.Synthetic?.Train ?? data.Set.TrainSamples) is not int total) return;
        if (DataCatalog.SplitSizes(total, data.ValSplit, data.Subset) is not var (train, _))
        {
            diags.Report(CompilerDiagnostics.TooFewToSplit, trainSpans.GetValueOrDefault("val_split", dataAt), "use more training images, or val_split: 0",
                data.Set.Name, total);
            return;
        }
        var batch = g.Train.Loop.Batch;
        foreach (var n in BatchStatistics.EpochBatchSizes(train, batch).Where(n => n != batch))
        {
            if (BatchStatistics.Degenerate(g, n) is not { Count: > 0 } bad) continue;
            const string hint = "choose a batch that leaves more than one image in the last batch, or another subset or val_split";
            if (n == train) diags.Report(CompilerDiagnostics.TrainingSetOfOne, spans[bad[0].Id], hint, bad[0].Name, Counted(train, "image"), More(bad));
            else diags.Report(CompilerDiagnostics.LastBatchOfOne, spans[bad[0].Id], hint, bad[0].Name, n, train, batch, More(bad));
        }
    }

    /// <summary>Every <c>cls</c> reads a token that a <c>cls_token</c> earlier on its token path prepended.</summary>
    private static void ClassTokens(IrGraph g, IReadOnlyList<Span> spans, DiagnosticBag diags)
    {
        foreach (var cls in g.Nodes.Where(n => n.Op == "cls"))
        {
            var at = g.Nodes[cls.Inputs[0]];
            while (at.Op != "cls_token" && at.Inputs.Count > 0 && at.InputShapes[0].Layout == Layout.Tokens) at = g.Nodes[at.Inputs[0]];
            if (at.Op == "cls_token" || at.Inputs.Count == 0) continue; // tokens given as the input may hold their own class token
            diags.Report(CompilerDiagnostics.MissingClassToken, spans[cls.Id],
                "add cls_token after patches in the stem (as ViT), or use global_pool to average the tokens (as Mixer)", cls.InputShapes[0]);
        }
    }

    private static void Classifier(IrGraph g, IReadOnlyList<Span> spans, IReadOnlyDictionary<string, Span> trainSpans, DiagnosticBag diags)
    {
        var output = g.OutputNode.OutputShape;
        var outAt = spans[g.Output];
        if (output.Layout != Layout.Vector)
        {
            diags.Report(CompilerDiagnostics.NotAClassifier, outAt,
                output.Layout == Layout.Tokens ? "end the head with cls_pool (after a cls_token) or global_pool, then linear(classes)" : "end the head with global_pool -> linear(classes)",
                output);
            return;
        }
        // The data against the model: only data the spec or an override names (a spec without it, such as a
        // benchmark or a backbone of other input, is not held to the default data set's facts).
        if (!trainSpans.TryGetValue("data", out var dataAt)) return;
        var data = g.Train.Data;
        if (g.Input.Layout != Layout.Image)
        {
            diags.Report(CompilerDiagnostics.ImagesForNonImageInput, dataAt, "write input image[channels, height, width]", data.Set.Name, g.Input);
            return;
        }
        int? classes = data.Synthetic?.Classes ?? data.Set.Classes;
        if (classes is int k && k != output.Dims[0])
            diags.Report(CompilerDiagnostics.ClassCount, outAt, $"set classes = {k}, or train on data with {output.Dims[0]} classes", data.Set.Name, k, output);
        if (data.Set == DataCatalog.Folder && data.Path is { } root) Folder(root, output, dataAt, diags);
        if (data.Set.Image is { } image && !image.Dims.SequenceEqual(g.Input.Dims))
            diags.Report(CompilerDiagnostics.ImageShape, dataAt, $"write input image[{string.Join(", ", image.Dims)}], or train on other data",
                data.Set.Name, image, g.Input);
    }

    /// <summary>An image folder exists, has one class folder (of <c>train/</c> when present) per model output, and its test split's
    /// classes are training classes — the listing's rules (<see cref="ImageFolderLayout"/>, which the runtime's FolderIndex reads with).</summary>
    private static void Folder(string root, Shape output, Span dataAt, DiagnosticBag diags)
    {
        if (!Directory.Exists(root))
        {
            // A warning: the folder may exist on the machine that trains (train stops with the same message where it does not).
            diags.Add(Diagnostic.Create(CompilerDiagnostics.DataFolderMissing, dataAt,
                "give the directory holding train/<class>/<image> (and val/<class>/<image>), or <class>/<image>", root) with { Severity = Severity.Warning });
            return;
        }
        var (classRoot, testRoot) = ImageFolderLayout.Splits(root);
        string[] trainClasses, testClasses;
        try { (trainClasses, testClasses) = (ImageFolderLayout.Classes(classRoot), testRoot is null ? [] : ImageFolderLayout.Classes(testRoot)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return; } // train reports the unreadable folder with its reason
        var classes = trainClasses.Length;
        if (classes != output.Dims[0])
            diags.Report(CompilerDiagnostics.DataFolderClasses, dataAt, $"set classes = {classes}, or point data at a folder with {output.Dims[0]} class folders",
                classRoot, classes, output);
        if (classes > 0 && ImageFolderLayout.Unknown(testClasses, trainClasses) is { Count: > 0 } unknown)
            diags.Report(CompilerDiagnostics.DataFolderTestClass, dataAt,
                $"give {testRoot} the training classes' folders only ({string.Join(", ", trainClasses.Take(5))}{(classes > 5 ? ", …" : "")})",
                ImageFolderLayout.UnknownMessage(testRoot!, unknown, classes));
    }

    private static void TrainValuesFitInput(IrGraph g, IReadOnlyList<Span> spans, IReadOnlyDictionary<string, Span> trainSpans, DiagnosticBag diags)
    {
        if (g.Input.Layout != Layout.Image) return;
        var (c, h, w) = (g.Input.Dims[0], g.Input.Dims[1], g.Input.Dims[2]);
        foreach (var crop in g.Train.Augment.OfType<CropConfig>().Where(x => x.Pad >= h || x.Pad >= w))
            diags.Report(CompilerDiagnostics.CropPadTooLarge, trainSpans.GetValueOrDefault("augment", spans[0]), $"use a pad below {Math.Min(h, w)}",
                crop.Pad, g.Input);
        // mean and std have as many values as each other (TrainSchema checks that), so mean's count stands for both.
        if (g.Train.Data.Mean is { Count: var n } && n != c)
            diags.Report(CompilerDiagnostics.NormalizeChannels, trainSpans.GetValueOrDefault("mean", spans[0]), "give one value per channel",
                Counted(n, "value"), Counted(c, "channel"));
    }

    /// <summary>"1 image", "3 images".</summary>
    private static string Counted(long n, string noun) => n == 1 ? $"1 {noun}" : $"{n} {noun}s";
}
