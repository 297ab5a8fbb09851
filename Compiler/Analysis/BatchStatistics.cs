namespace ArchDsl.Compiler.Analysis;

/// <summary>
/// Which batch-statistic normalisations a batch size makes degenerate. A BatchNorm in training takes each
/// channel's mean and variance over every value of that channel in the batch: batch × H × W values on an
/// image (BatchNorm2d), batch × N on tokens (this runtime normalises tokens over B and N, as BatchNorm1d on
/// [B, D, N]), batch on a vector. With one value the unbiased variance divides by zero, which is why
/// PyTorch refuses it ("Expected more than 1 value per channel when training",
/// <c>torch.nn.functional._verify_batch_size</c>). The compiler asks this for the train config's batch; the
/// trainer for each batch size an epoch really has.
/// </summary>
public static class BatchStatistics
{
    /// <summary>The IR op whose training statistics come from the batch.</summary>
    public const string BatchNormOp = "batchnorm";

    /// <summary>Values per channel a node's training statistic is taken over, for <paramref name="batch"/> samples.</summary>
    public static long ValuesPerChannel(IrNode node, long batch)
    {
        var x = node.InputShapes[0];
        long perSample = x.Layout switch
        {
            Layout.Image => (long)x.Dims[1] * x.Dims[2],
            Layout.Tokens => x.Dims[0],
            _ => 1,
        };
        return batch * perSample;
    }

    /// <summary>The batch-statistic nodes of <paramref name="graph"/> that would see one value per channel at <paramref name="batch"/> samples, in graph order.</summary>
    public static IReadOnlyList<IrNode> Degenerate(IrGraph graph, long batch) =>
        graph.Nodes.Where(n => n.Op == BatchNormOp && ValuesPerChannel(n, batch) <= 1).ToList();

    /// <summary>The batch sizes an epoch of <paramref name="count"/> images has at <paramref name="batch"/>: the full batch and the
    /// last (count mod batch) when it differs, or the whole set when it is smaller than a batch.</summary>
    public static IReadOnlyList<int> EpochBatchSizes(int count, int batch) =>
        (count > batch ? new[] { batch, count % batch } : new[] { count }).Where(n => n > 0).Distinct().ToList();

    /// <summary>How a node's statistic is made up, for messages: <c>batch 1 × 1×1 map</c>, <c>batch 1 × 1 token</c>, <c>batch 1</c>.</summary>
    public static string Describe(IrNode node, long batch)
    {
        var x = node.InputShapes[0];
        return x.Layout switch
        {
            Layout.Image => $"batch {batch} × {x.Dims[1]}×{x.Dims[2]} map",
            Layout.Tokens => $"batch {batch} × {x.Dims[0]} token{(x.Dims[0] == 1 ? "" : "s")}",
            _ => $"batch {batch}",
        };
    }
}
