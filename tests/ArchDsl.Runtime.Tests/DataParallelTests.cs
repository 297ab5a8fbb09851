using ArchDsl.Runtime.Distributed;
using ArchDsl.TestSupport;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;
using F = ArchDsl.Torch.torch.nn.functional;

namespace ArchDsl.Runtime.Tests;

/// <summary>Data parallelism's parts that need no second process: shards, the loss scale, synchronised BatchNorm (ranks as threads).</summary>
public class DataParallelTests
{
    [Theory]
    [InlineData(32, 2, new[] { 0, 16 }, new[] { 16, 16 })]
    [InlineData(10, 3, new[] { 0, 4, 7 }, new[] { 4, 3, 3 })]
    [InlineData(5, 4, new[] { 0, 2, 3, 4 }, new[] { 2, 1, 1, 1 })]
    public void Shards_are_contiguous_in_rank_order_and_cover_the_global_batch(int count, int world, int[] offsets, int[] counts)
    {
        var shards = Enumerable.Range(0, world).Select(r => DataParallel.Shard(count, r, world)).ToArray();
        Assert.Equal(offsets, shards.Select(s => s.Offset));
        Assert.Equal(counts, shards.Select(s => s.Count));
    }

    /// <summary>
    /// Two ranks with halves of one batch: SyncBatchNorm's output, input gradient, weight/bias gradients (summed over
    /// ranks, as the Reducer's sum before its average) and running statistics equal F.batch_norm's on the whole batch.
    /// </summary>
    [Fact]
    public void Sync_batch_norm_over_two_halves_equals_batch_norm_over_the_whole_batch()
    {
        const long C = 3;
        Tensor Param(int seed) => Tensors.Uniform(seed, C).requires_grad_();
        var whole = Tensors.Uniform(1, 8, C, 4, 4);
        var upstream = Tensors.Uniform(2, 8, C, 4, 4);
        // The reference: one batch norm over all 8 images.
        var (w, b) = (Param(3), Param(4));
        var (rm, rv) = (zeros(C), ones(C));
        var x = whole.clone().requires_grad_();
        var y = F.batch_norm(x, rm, rv, w, b, training: true, momentum: 0.1, eps: 1e-5);
        y.mul(upstream).sum().backward();

        var ranks = Ranks.Run(2, g =>
        {
            var (wr, br) = (Param(3), Param(4));
            var (rmr, rvr) = (zeros(C), ones(C));
            var xr = whole.narrow(0, 4 * g.rank, 4).clone().to(memory_format.ChannelsLast).requires_grad_();
            var yr = SyncBatchNorm.Forward(xr, wr, br, rmr, rvr, 0.1, 1e-5, g);
            yr.mul(upstream.narrow(0, 4 * g.rank, 4)).sum().backward();
            return (y: yr.detach(), dx: xr.grad!, dw: wr.grad!, db: br.grad!, rm: rmr, rv: rvr);
        });
        Close(y, cat([ranks[0].y, ranks[1].y]), "output");
        Close(x.grad!, cat([ranks[0].dx, ranks[1].dx]), "input gradient");
        Close(w.grad!, ranks[0].dw.add(ranks[1].dw), "weight gradient");
        Close(b.grad!, ranks[0].db.add(ranks[1].db), "bias gradient");
        foreach (var r in ranks) { Close(rm, r.rm, "running_mean"); Close(rv, r.rv, "running_var"); }
    }

    static void Close(Tensor expected, Tensor actual, string what)
    {
        var d = Tensors.MaxAbsDiff(expected, actual);
        Assert.True(d <= 1e-5, $"{what}: max abs diff {d:g4}");
    }
}

public class DataParallelModelTests
{
    [Fact]
    public void Model_with_sync_batch_norm_on_one_rank_has_the_gradients_of_batch_norm()
    {
        var graph = TrainerTestSupport.CompileTiny();
        Dictionary<string, float[]> Grads(ArchDsl.Torch.torch.distributed.ProcessGroup? g)
        {
            using var model = new ArchDsl.Runtime.Model.IrModel(graph, 3);
            if (g is not null) model.SyncBatchNorm(g);
            model.train();
            var x = Tensors.Uniform(5, 16, 1, 8, 8);
            var y = Tensors.Labels(6, 16, 4);
            var logits = model.forward(x);
            var loss = F.cross_entropy(logits, y);
            loss.backward();
            var d = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.data<float>());
            d["logits"] = logits.detach().data<float>();
            d["loss"] = [loss.item<float>()];
            return d;
        }
        var single = Ranks.Run(1, g => Grads(null))[0];
        var synced = Ranks.Run(1, g => Grads(g))[0];
        var bad = single.Where(kv => kv.Value.Zip(synced[kv.Key]).Max(p => Math.Abs(p.First - p.Second)) >= 1e-5)
            .Select(kv => $"{kv.Key}: {string.Join(",", kv.Value.Take(3))} vs {string.Join(",", synced[kv.Key].Take(3))}").ToList();
        Assert.True(bad.Count == 0, string.Join("\n", bad));
    }
}
