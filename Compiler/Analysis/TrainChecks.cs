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
            diags.Error(CompilerCodes.DegenerateBatchStatistics,
                $"batchnorm '{full[0].Name}' would take its training statistics over 1 value per channel ({BatchStatistics.Describe(full[0], batch)}){More(full)}",
                spans[full[0].Id], $"use a batch of at least 2 (PyTorch refuses this: \"Expected more than 1 value per channel when training\"), or layernorm here");
        else EpochEnd(g, spans, trainSpans, diags);
    }

    /// <summary>One diagnostic per batch size, at the first BatchNorm, counting the rest (a deep net would repeat it per block).</summary>
    private static string More(IReadOnlyList<IrNode> nodes) => nodes.Count == 1 ? "" : $"; so would {nodes.Count - 1} more after it";

    /// <summary>The last batch of an epoch (or a set smaller than a batch), where the named data's size is known.</summary>
    private static void EpochEnd(IrGraph g, IReadOnlyList<Span> spans, IReadOnlyDictionary<string, Span> trainSpans, DiagnosticBag diags)
    {
        if (!trainSpans.TryGetValue("data", out var dataAt)) return;
        var data = g.Train.Data;
        if ((data.Synthetic?.Train ?? data.Set.TrainSamples) is not int total) return;
        if (DataCatalog.SplitSizes(total, data.ValSplit, data.Subset) is not var (train, _))
        {
            diags.Error(CompilerCodes.DataMismatch, $"data '{data.Set.Name}' has {total} training image, which val_split cannot divide into train and validation",
                trainSpans.GetValueOrDefault("val_split", dataAt), "use more training images, or val_split: 0");
            return;
        }
        var batch = g.Train.Loop.Batch;
        foreach (var n in BatchStatistics.EpochBatchSizes(train, batch).Where(n => n != batch))
        {
            var which = n == train ? $"the training set has {train} image{(train == 1 ? "" : "s")}"
                                   : $"the last batch of each epoch has {n} image ({train} training images, batch {batch})";
            if (BatchStatistics.Degenerate(g, n) is { Count: > 0 } bad)
                diags.Error(CompilerCodes.DegenerateBatchStatistics,
                    $"batchnorm '{bad[0].Name}' would take its training statistics over 1 value per channel: {which}{More(bad)}", spans[bad[0].Id],
                    "choose a batch that leaves more than one image in the last batch, or another subset or val_split");
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
            diags.Error(CompilerCodes.MissingClassToken,
                $"cls reads the class token, but no cls_token before it adds one: it would classify from the first patch token of {cls.InputShapes[0]}",
                spans[cls.Id], "add cls_token after patches in the stem (as ViT), or use global_pool to average the tokens (as Mixer)");
        }
    }

    private static void Classifier(IrGraph g, IReadOnlyList<Span> spans, IReadOnlyDictionary<string, Span> trainSpans, DiagnosticBag diags)
    {
        var output = g.OutputNode.OutputShape;
        var outAt = spans[g.Output];
        if (output.Layout != Layout.Vector)
        {
            diags.Error(CompilerCodes.NotAClassifier, $"the model outputs {output}, but training needs a vector of class scores", outAt,
                output.Layout == Layout.Tokens ? "end the head with cls_pool (after a cls_token) or global_pool, then linear(classes)" : "end the head with global_pool -> linear(classes)");
            return;
        }
        // The data against the model: only data the spec or an override names (a spec without it, such as a
        // benchmark or a backbone of other input, is not held to the default data set's facts).
        if (!trainSpans.TryGetValue("data", out var dataAt)) return;
        var data = g.Train.Data;
        if (g.Input.Layout != Layout.Image)
        {
            diags.Error(CompilerCodes.DataMismatch, $"data '{data.Set.Name}' holds images but the model's input is {g.Input}", dataAt,
                "write input image[channels, height, width]");
            return;
        }
        int? classes = data.Synthetic?.Classes ?? data.Set.Classes;
        if (classes is int k && k != output.Dims[0])
            diags.Error(CompilerCodes.DataMismatch, $"data '{data.Set.Name}' has {k} classes but the model outputs {output}", outAt,
                $"set classes = {k}, or train on data with {output.Dims[0]} classes");
        if (data.Set.Image is { } image && !image.Dims.SequenceEqual(g.Input.Dims))
            diags.Error(CompilerCodes.DataMismatch, $"data '{data.Set.Name}' has images {image} but the model's input is {g.Input}", dataAt,
                $"write input image[{string.Join(", ", image.Dims)}], or train on other data");
    }

    private static void TrainValuesFitInput(IrGraph g, IReadOnlyList<Span> spans, IReadOnlyDictionary<string, Span> trainSpans, DiagnosticBag diags)
    {
        if (g.Input.Layout != Layout.Image) return;
        var (c, h, w) = (g.Input.Dims[0], g.Input.Dims[1], g.Input.Dims[2]);
        foreach (var crop in g.Train.Augment.OfType<CropConfig>().Where(x => x.Pad >= h || x.Pad >= w))
            diags.Error(CompilerCodes.TrainValue, $"crop(pad: {crop.Pad}) needs images larger than the padding; the input is {g.Input}",
                trainSpans.GetValueOrDefault("augment", spans[0]), $"use a pad below {Math.Min(h, w)}");
        // mean and std have as many values as each other (TrainSchema checks that), so mean's count stands for both.
        if (g.Train.Data.Mean is { Count: var n } && n != c)
            diags.Error(CompilerCodes.TrainValue, $"train keys 'mean' and 'std' have {n} value{(n == 1 ? "" : "s")} each but the input has {c} channel{(c == 1 ? "" : "s")}",
                trainSpans.GetValueOrDefault("mean", spans[0]), "give one value per channel");
    }
}
