using System.Text.Json;
using ArchDsl.Compiler.Analysis;
using static ArchDsl.Compiler.Tests.CompilerTestKit;

namespace ArchDsl.Compiler.Tests;

/// <summary>GraphDiff: compiled graphs compared by node name — added, removed, changed, totals, collapsing, JSON.</summary>
public class GraphDiffTests
{
    static GraphDiffResult DiffConvMixer(params string[] overrides) =>
        GraphDiff.Compare(SpecGraph("convmixer.arch"), SpecGraph("convmixer.arch", overrides), "a", "b");

    [Fact]
    public void A_graph_against_itself_has_no_differences()
    {
        var d = DiffConvMixer();
        Assert.True(d.IsEmpty);
        Assert.Empty(d.Groups);
        Assert.All(d.Totals, t => Assert.Equal(0, t.Delta));
        Assert.Contains("no differences", d.ToText());
        using var json = JsonDocument.Parse(d.ToJson());
        Assert.True(json.RootElement.GetProperty("identical").GetBoolean());
    }

    [Fact]
    public void Kernel_change_is_eight_changed_nodes_with_exact_fields_and_totals()
    {
        var d = DiffConvMixer("kernel=9");
        Assert.Empty(d.Added);
        Assert.Empty(d.Removed);
        Assert.Empty(d.Train);
        Assert.Equal(Enumerable.Range(0, 8).Select(i => $"blocks.{i}.token.0"), d.Changed.Select(c => c.Name));
        var c0 = d.Changed[0];
        Assert.Equal(["attrs.kernel", "attrs.padding", "params.weight", "mult_adds"], c0.Fields.Select(f => f.Field));
        Assert.Equal(5L, c0.Fields[0].Before);
        Assert.Equal(9L, c0.Fields[0].After);
        Assert.Equal(new long[] { 128, 1, 9, 9 }, (IEnumerable<long>)c0.Fields[2].After!);

        // Each depthwise conv gains 128·(81−25) weights: 8 blocks × 7,168.
        var p = d.Total("params");
        Assert.Equal(165_002, p.Before);
        Assert.Equal(165_002 + 8 * 7_168, p.After);
        Assert.Equal(57_344, p.Delta);
        Assert.Equal(100.0 * 57_344 / 165_002, p.Percent!.Value, 9);
        // Mult-adds: 128·14·14·(81−25) more per block.
        Assert.Equal(8L * 128 * 14 * 14 * 56, d.Total("mult-adds").Delta);
        Assert.Equal(0, d.Total("buffers").Delta);
        Assert.Equal(0, d.Total("nodes").Delta);
    }

    [Fact]
    public void Kernel_change_collapses_to_one_line_across_the_blocks()
    {
        var d = DiffConvMixer("kernel=9");
        var g = Assert.Single(d.Groups);
        Assert.Equal("blocks.{0..7}.token.0", g.Pattern);
        Assert.Equal(8, g.Nodes.Count);
        Assert.Equal("conv2d kernel 5 → 9, padding 2 → 4", g.Summary);
        Assert.Equal(["params 3,328 → 10,496 (+7,168): weight [128, 1, 5, 5] → [128, 1, 9, 9]", "mult-adds 627,200 → 2,032,128 (+1,404,928)"], g.Details);

        var text = d.ToText();
        Assert.Contains("\n  ~ blocks.{0..7}.token.0: conv2d kernel 5 → 9, padding 2 → 4   (×8, each)\n", text);
        Assert.Contains("changed: 8 nodes, 1 line\n", text);
        Assert.Matches(@"\nparams\s+165,002\s+222,346\s+\+57,344\s+\(\+34\.8%\)\n", text);
        Assert.DoesNotContain("blocks.3.token.0", text);
    }

    [Fact]
    public void Residual_both_adds_a_channel_add_per_block_and_rewires_the_next_block()
    {
        var d = DiffConvMixer("residual=both");
        Assert.Equal(Enumerable.Range(0, 8).Select(i => $"blocks.{i}.channel_add"), d.Added.Select(n => n.Name));
        Assert.All(d.Added, n => Assert.Equal("add", n.Op));
        Assert.Empty(d.Removed);
        Assert.Equal(8, d.Total("nodes").Delta);
        Assert.Equal(0, d.Total("params").Delta);
        Assert.Equal(0.0, d.Total("params").Percent);

        // Block i ≥ 1 now reads block i-1's channel_add; the head reads the last one.
        var rewired = d.Changed.Where(c => c.Fields.Any(f => f.Field == "inputs")).Select(c => c.Name).ToList();
        Assert.Contains("blocks.3.token.0", rewired);
        Assert.Contains("head.0", rewired);
        Assert.DoesNotContain("blocks.0.token.0", rewired);
        var inputs = d.Changed.Single(c => c.Name == "blocks.3.token_add").Fields.Single(f => f.Field == "inputs");
        Assert.Equal(["blocks.2.channel.2", "blocks.3.token.2"], (List<string>)inputs.Before!);
        Assert.Equal(["blocks.2.channel_add", "blocks.3.token.2"], (List<string>)inputs.After!);

        // Collapsed with references relative to the block index.
        var added = Assert.Single(d.Groups, g => g.Kind == "added");
        Assert.Equal("blocks.{0..7}.channel_add", added.Pattern);
        Assert.Contains("from blocks.{i}.token_add, blocks.{i}.channel.2", added.Summary);
        var rewire = Assert.Single(d.Groups, g => g.Pattern == "blocks.{1..7}.token_add");
        Assert.Equal("add from blocks.{i-1}.channel.2, blocks.{i}.token.2 → blocks.{i-1}.channel_add, blocks.{i}.token.2", rewire.Summary);
    }

    [Fact]
    public void Removed_nodes_are_reported_from_the_before_graph()
    {
        var d = DiffConvMixer("residual=none");
        Assert.Equal(Enumerable.Range(0, 8).Select(i => $"blocks.{i}.token_add"), d.Removed.Select(n => n.Name));
        Assert.Empty(d.Added);
        Assert.Equal(-8, d.Total("nodes").Delta);
        // Block 0's add read the stem; blocks 1..7 read the block before: two lines.
        Assert.Equal(["blocks.0.token_add", "blocks.{1..7}.token_add"], d.Groups.Where(g => g.Kind == "removed").Select(g => g.Pattern));
        Assert.Contains("\n  - blocks.{1..7}.token_add: add  image[128, 14, 14], image[128, 14, 14] -> image[128, 14, 14]  from blocks.{i-1}.channel.2, blocks.{i}.token.2   (×7, each)\n", d.ToText());
        var rewired = Assert.Single(d.Groups, g => g.Kind == "changed");
        Assert.Equal("conv2d from blocks.{i}.token_add → blocks.{i}.token.2", rewired.Summary);
    }

    [Fact]
    public void Fewer_blocks_removes_whole_blocks_and_reports_the_drop_in_totals()
    {
        var a = SpecGraph("convmixer.arch");
        var b = SpecGraph("convmixer.arch", "depth=6");
        var d = GraphDiff.Compare(a, b);
        Assert.Equal(14, d.Removed.Count); // 7 nodes a block (3 token, add, 3 channel) × 2
        Assert.All(d.Removed, n => Assert.Matches(@"^blocks\.[67]\.", n.Name));
        Assert.Equal(b.ParamCount - a.ParamCount, d.Total("params").Delta);
        Assert.True(d.Total("params").Percent < 0);
        Assert.Contains(d.Groups, g => g.Kind == "removed" && g.Pattern == "blocks.{6,7}.token.0");
        var head = Assert.Single(d.Changed);
        Assert.Equal("head.0", head.Name);
    }

    [Fact]
    public void Norm_swap_reports_op_change_and_lost_buffers()
    {
        var d = DiffConvMixer("norm=layer");
        Assert.Equal(17, d.Changed.Count); // the stem norm and two per block
        Assert.All(d.Changed, c => Assert.Equal(("batchnorm", "layernorm"), (c.Before.Op, c.After.Op)));
        Assert.Equal(-4_369, d.Total("buffers").Delta);
        Assert.Equal(-100.0, d.Total("buffers").Percent!.Value, 9);
        var g = Assert.Single(d.Groups, g => g.Pattern == "blocks.{0..7}.token.2");
        Assert.Equal("batchnorm(eps=1e-05, momentum=0.1) → layernorm(eps=1e-05)", g.Summary);
        Assert.Contains("-running_mean[128]", g.Details.Single());
    }

    [Fact]
    public void Width_change_reports_shapes_and_collapses_each_position()
    {
        var d = DiffConvMixer("dim=64");
        Assert.Equal(d.Before.Nodes.Count - 1, d.Changed.Count); // every node but the input
        var gelu = Assert.Single(d.Groups, g => g.Pattern == "blocks.{0..7}.token.1");
        Assert.Equal("gelu shape image[128, 14, 14] → image[64, 14, 14]", gelu.Summary);
        var head = Assert.Single(d.Groups, g => g.Pattern == "head.0");
        Assert.Equal(["out vector[128] → vector[64]"], head.Details);
    }

    [Fact]
    public void Train_changes_are_listed_by_key()
    {
        var d = DiffConvMixer("train.epochs=1", "train.optimizer.lr=0.002");
        Assert.Empty(d.Changed);
        Assert.False(d.IsEmpty);
        Assert.Equal(["epochs", "optimizer"], d.Train.Select(t => t.Key));
        Assert.Equal(3L, d.Train[0].Before);
        Assert.Equal(1L, d.Train[0].After);
        Assert.Contains("\n  ~ epochs: 3 → 1\n", d.ToText());
    }

    [Fact]
    public void Different_architectures_compare_by_shared_names()
    {
        var d = GraphDiff.Compare(SpecGraph("vit.arch"), SpecGraph("mlp-mixer.arch"), "vit", "mixer");
        Assert.True(d.ArchChanged);
        Assert.Contains("arch ViT → Mixer\n", d.ToText());
        Assert.Contains(d.Changed, c => c.Name == "blocks.0.token.0" && c.Before.Op == "attention" && c.After.Op == "transpose");
        Assert.Contains(d.Removed, n => n.Name == "stem.2" && n.Op == "cls_token");
        Assert.Contains(d.Added, n => n.Name == "blocks.7.token.4");
        Assert.Equal(d.After.ParamCount - d.Before.ParamCount, d.Total("params").Delta);
    }

    [Fact]
    public void Json_carries_totals_every_node_and_the_groups()
    {
        var d = DiffConvMixer("kernel=9", "residual=both");
        using var json = JsonDocument.Parse(d.ToJson());
        var root = json.RootElement;
        Assert.False(root.GetProperty("identical").GetBoolean());
        Assert.Equal("a", root.GetProperty("before").GetString());
        var p = root.GetProperty("totals").GetProperty("params");
        Assert.Equal(165_002, p.GetProperty("before").GetInt64());
        Assert.Equal(57_344, p.GetProperty("delta").GetInt64());
        Assert.Equal(8, root.GetProperty("added").GetArrayLength());
        Assert.Equal("blocks.0.channel_add", root.GetProperty("added")[0].GetProperty("name").GetString());
        var kernel = root.GetProperty("changed").EnumerateArray()
            .Single(c => c.GetProperty("name").GetString() == "blocks.5.token.0")
            .GetProperty("fields").EnumerateArray().Single(f => f.GetProperty("field").GetString() == "attrs.kernel");
        Assert.Equal(5, kernel.GetProperty("before").GetInt64());
        Assert.Equal(9, kernel.GetProperty("after").GetInt64());
        Assert.Contains(root.GetProperty("groups").EnumerateArray(), g => g.GetProperty("pattern").GetString() == "blocks.{0..7}.channel_add");
    }

    [Fact]
    public void Index_sets_print_as_ranges_and_lists()
    {
        // Hand-built: blocks 0,1,2,3,5,7,8,9 change the same way (4 and 6 do not).
        PrinterFixtures.Builder Build(Func<int, long> kernel)
        {
            var b = new PrinterFixtures.Builder("T", Shape.Image(1, 8, 8));
            b.Add("input", "input", Shape.Image(1, 8, 8));
            for (var i = 0; i < 10; i++)
                b.Add($"blocks.{i}.token.0", "pool", Shape.Image(1, 8, 8), new() { ["kernel"] = kernel(i), ["stride"] = 1L, ["padding"] = 1L });
            return b;
        }
        var before = Build(_ => 3).Build(PrinterFixtures.Train());
        var after = Build(i => i is 4 or 6 ? 3 : 5).Build(PrinterFixtures.Train());
        var d = GraphDiff.Compare(before, after);
        var g = Assert.Single(d.Groups);
        Assert.Equal("blocks.{0..3,5,7..9}.token.0", g.Pattern);
        Assert.Equal("pool kernel 3 → 5", g.Summary);

        var two = Build(i => i is 4 or 6 ? 5 : 3).Build(PrinterFixtures.Train());
        Assert.Equal("blocks.{4,6}.token.0", Assert.Single(GraphDiff.Compare(before, two).Groups).Pattern);
    }

    [Fact]
    public void Different_changes_in_different_blocks_stay_on_separate_lines()
    {
        var b = new PrinterFixtures.Builder("T", Shape.Image(1, 8, 8));
        b.Add("input", "input", Shape.Image(1, 8, 8));
        for (var i = 0; i < 3; i++) b.Add($"blocks.{i}.token.0", "pool", Shape.Image(1, 8, 8), new() { ["kernel"] = 3L });
        var before = b.Build(PrinterFixtures.Train());
        var c = new PrinterFixtures.Builder("T", Shape.Image(1, 8, 8));
        c.Add("input", "input", Shape.Image(1, 8, 8));
        for (var i = 0; i < 3; i++) c.Add($"blocks.{i}.token.0", "pool", Shape.Image(1, 8, 8), new() { ["kernel"] = i == 1 ? 7L : 5L });
        var d = GraphDiff.Compare(before, c.Build(PrinterFixtures.Train()));
        Assert.Equal(["blocks.{0,2}.token.0", "blocks.1.token.0"], d.Groups.Select(g => g.Pattern));
        Assert.Equal(["pool kernel 3 → 5", "pool kernel 3 → 7"], d.Groups.Select(g => g.Summary));
    }
}
