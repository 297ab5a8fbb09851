using ArchDsl.Runtime.Model;
using ArchDsl.Torch;
using Xunit.Abstractions;
using static ArchDsl.Runtime.Tests.ModelTestKit;
using static ArchDsl.Torch.torch;
using F = ArchDsl.Torch.torch.nn.functional;

namespace ArchDsl.Runtime.Tests;

/// <summary>A compiled model trained for 2,000 steps, each in a dispose scope, must not grow native memory.</summary>
[Collection(TorchModelCollection.Name)]
public sealed class MemoryTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("convmixer.arch", new[] { "dim=16", "depth=2", "kernel=3", "patch=2", "channels=1", "size=8" })]
    [InlineData("vit.arch", new[] { "dim=16", "depth=1", "heads=2", "patch=2", "channels=1", "size=8", "drop=0.1" })]
    public void Two_thousand_training_steps_keep_RSS_and_live_handles_flat(string spec, string[] overrides)
    {
        var g = CompileSpec(spec, overrides);
        using var m = new IrModel(g, seed: 3);
        using var opt = optim.AdamW(m.named_parameters(), lr: 1e-3, weight_decay: 0.01);
        m.train();
        long rss100 = 0, handles100 = 0;
        double first = 0, last = 0;
        var rng = new Random(5);
        // a fixed pool of batches (made in C#), so the loss has something to learn
        var batches = Enumerable.Range(0, 4).Select(i => (x: Rand(100 + i, 8, 1, 8, 8).DetachFromDisposeScope(), y: Labels(200 + i, 8, 10).DetachFromDisposeScope())).ToArray();
        try
        {
            for (var step = 1; step <= 2000; step++)
            {
                using (NewDisposeScope())
                {
                    var (x, y) = batches[step % batches.Length];
                    opt.zero_grad();
                    var loss = F.cross_entropy(m.forward(x), y);
                    loss.backward();
                    opt.step();
                    if (step == 1) first = loss.item<double>();
                    if (step == 2000) last = loss.item<double>();
                }
                if (step == 100)
                {
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    rss100 = ProcessMemory.CurrentRss;
                    handles100 = LiveTensorHandles;
                }
            }
            GC.Collect();
            GC.WaitForPendingFinalizers();
            var rss2000 = ProcessMemory.CurrentRss;
            var handles2000 = LiveTensorHandles;
            output.WriteLine($"{g.Arch}: RSS after step 100 {rss100 / 1048576.0:F1} MiB, after step 2000 {rss2000 / 1048576.0:F1} MiB " +
                $"(growth {(rss2000 - rss100) / 1048576.0:F2} MiB); live handles {handles100} -> {handles2000}; loss {first:F4} -> {last:F4}");
            Assert.True(rss100 > 0, "VmRSS could not be read from /proc/self/status");
            Assert.Equal(handles100, handles2000);
            Assert.True(rss2000 - rss100 < 30L * 1024 * 1024, $"RSS grew {(rss2000 - rss100) / 1048576.0:F1} MiB between step 100 and step 2000");
            Assert.True(last < first, $"the loss did not fall ({first} -> {last}): the steps did not train");
        }
        finally
        {
            foreach (var (x, y) in batches) { x.Dispose(); y.Dispose(); }
        }
    }

    [Fact]
    public void Building_a_model_applies_the_native_heap_thresholds_once()
    {
        // The effect (minor page faults per steady ViT training step on the process's main thread: ~40,000 -> ~700)
        // shows only on the main thread's malloc arena, which xunit's worker threads do not use; here: it is applied.
        var g = CompileSpec("convmixer.arch", "dim=8", "depth=1", "size=8");
        using var m = new IrModel(g);
        Assert.True(NativeHeap.Configured, "mallopt thresholds were not applied (glibc expected on this Linux)");
        Assert.True(NativeHeap.Configure());
    }
}
