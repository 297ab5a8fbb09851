namespace ArchDsl.Compiler.Tests;

/// <summary>
/// Hand-built IR graphs for the printer tests, independent of the compiler: a tiny ConvMixer
/// (residual around the token mixer, batch norm with buffers) and a tiny ViT (tokens, class token,
/// attention, two residuals a block), with parameter counts and mult-adds worked out by hand.
/// </summary>
public static class PrinterFixtures
{
    public const string SpecFile = "specs/tiny.arch";

    /// <summary>Builds a graph node by node; a node reads the node before it unless told otherwise.</summary>
    public sealed class Builder(string arch, Shape input)
    {
        private readonly List<IrNode> _nodes = new();
        public string Arch { get; } = arch;

        public int Add(string name, string op, Shape output, Dictionary<string, object>? attrs = null,
            TensorSpec[]? @params = null, TensorSpec[]? buffers = null, long multAdds = 0, int[]? inputs = null, int line = 0)
        {
            var id = _nodes.Count;
            var ins = op == "input" ? Array.Empty<int>() : inputs ?? [id - 1];
            _nodes.Add(new IrNode(id, name, op, attrs ?? new Dictionary<string, object>(), ins,
                ins.Select(i => _nodes[i].OutputShape).ToList(), output,
                @params ?? [], buffers ?? [], multAdds, line > 0 ? new SourceLocation(SpecFile, line, 3) : null));
            return id;
        }

        public int Last => _nodes.Count - 1;

        public IrGraph Build(TrainConfig train) => new(Arch, input, _nodes.ToList(), _nodes.Count - 1, train);
    }

    public static TrainConfig Train() => new(new Dictionary<string, object>
    {
        ["data"] = "fashion-mnist",
        ["epochs"] = 5L,
        ["batch"] = 128L,
        ["optimizer"] = new TrainCall("adamw", new Dictionary<string, object> { ["weight_decay"] = 0.01, ["lr"] = 0.01 }),
        ["schedule"] = "onecycle",
        ["augment"] = new List<object> { new TrainCall("crop", new Dictionary<string, object> { ["pad"] = 2L }), "flip" },
        ["amp"] = "bf16",
        ["clip_grad"] = 1.0,
    });

    private static TensorSpec T(string name, params long[] shape) => new(name, shape);

    private static Dictionary<string, object> Conv(long @out, long kernel, long stride, long padding, long groups) => new()
    {
        ["out"] = @out, ["kernel"] = kernel, ["stride"] = stride, ["padding"] = padding, ["groups"] = groups, ["bias"] = true,
    };

    private static void BatchNorm(Builder b, string name, Shape shape, long c, int line) =>
        b.Add(name, "batchnorm", shape, new() { ["eps"] = 1e-5, ["momentum"] = 0.1 },
            [T("weight", c), T("bias", c)], [T("running_mean", c), T("running_var", c), T("num_batches_tracked")],
            multAdds: 2 * shape.Elements, line: line);

    /// <summary>
    /// ConvMixer(dim 8, depth, kernel 3, patch 2) on image[1, 8, 8], 10 classes. Params: stem 40 + 16
    /// (bn), a block 80 + 16 + 72 + 16 = 184, head 90: 146 + 184·depth.
    /// </summary>
    public static IrGraph ConvMixer(int depth = 2)
    {
        var b = new Builder("ConvMixer", Shape.Image(1, 8, 8));
        var img = Shape.Image(8, 4, 4);
        b.Add("input", "input", Shape.Image(1, 8, 8), line: 3);
        b.Add("stem.0", "conv2d", img, Conv(8, 2, 2, 0, 1), [T("weight", 8, 1, 2, 2), T("bias", 8)], multAdds: 128 * 4, line: 5);
        b.Add("stem.1", "gelu", img, line: 5);
        BatchNorm(b, "stem.2", img, 8, 5);
        for (var i = 0; i < depth; i++)
        {
            var blockIn = b.Last;
            b.Add($"blocks.{i}.token.0", "conv2d", img, Conv(8, 3, 1, 1, 8), [T("weight", 8, 1, 3, 3), T("bias", 8)], multAdds: 128 * 9, line: 8);
            b.Add($"blocks.{i}.token.1", "gelu", img, line: 8);
            BatchNorm(b, $"blocks.{i}.token.2", img, 8, 8);
            b.Add($"blocks.{i}.token.3", "add", img, inputs: [b.Last, blockIn], multAdds: 0, line: 10);
            b.Add($"blocks.{i}.channel.0", "conv2d", img, Conv(8, 1, 1, 0, 1), [T("weight", 8, 8, 1, 1), T("bias", 8)], multAdds: 128 * 8, line: 9);
            b.Add($"blocks.{i}.channel.1", "gelu", img, line: 9);
            BatchNorm(b, $"blocks.{i}.channel.2", img, 8, 9);
        }
        b.Add("head.0", "avgpool", Shape.Vector(8), multAdds: 0, line: 12);
        b.Add("head.1", "linear", Shape.Vector(10), new() { ["out"] = 10L, ["bias"] = true }, [T("weight", 10, 8), T("bias", 10)], multAdds: 80, line: 12);
        return b.Build(Train());
    }

    /// <summary>
    /// ViT(dim 16, depth 1, heads 2, patch 4, mlp 4) on image[3, 8, 8], 10 classes: 4 patches + a class token.
    /// Params: linear 48·16+16 = 784, cls 16, pos 5·16 = 80, per block ln 32 + attn (768+48+256+16 = 1088)
    /// + ln 32 + mlp (16·64+64 + 64·16+16 = 2128), head ln 32 + linear 170.
    /// </summary>
    public static IrGraph Vit()
    {
        var b = new Builder("ViT", Shape.Image(3, 8, 8));
        var tok = Shape.Tokens(5, 16);
        b.Add("input", "input", Shape.Image(3, 8, 8));
        b.Add("stem.0", "patches", Shape.Tokens(4, 48), new() { ["size"] = 4L });
        b.Add("stem.1", "linear", Shape.Tokens(4, 16), new() { ["out"] = 16L, ["bias"] = true }, [T("weight", 16, 48), T("bias", 16)], multAdds: 4 * 48 * 16);
        b.Add("stem.2", "cls_token", tok, @params: [T("token", 1, 16)]);
        b.Add("stem.3", "pos_embed", tok, @params: [T("weight", 5, 16)]);
        var blockIn = b.Last;
        b.Add("blocks.0.token.0", "layernorm", tok, new() { ["eps"] = 1e-6 }, [T("weight", 16), T("bias", 16)]);
        b.Add("blocks.0.token.1", "attention", tok, new() { ["heads"] = 2L, ["bias"] = true },
            [T("qkv.weight", 48, 16), T("qkv.bias", 48), T("proj.weight", 16, 16), T("proj.bias", 16)], multAdds: 5 * 16 * 48 + 2 * 5 * 5 * 16 + 5 * 16 * 16);
        var tokenAdd = b.Add("blocks.0.token.2", "add", tok, inputs: [b.Last, blockIn]);
        b.Add("blocks.0.channel.0", "layernorm", tok, new() { ["eps"] = 1e-6 }, [T("weight", 16), T("bias", 16)]);
        b.Add("blocks.0.channel.1", "linear", Shape.Tokens(5, 64), new() { ["out"] = 64L, ["bias"] = true }, [T("weight", 64, 16), T("bias", 64)], multAdds: 5 * 16 * 64);
        b.Add("blocks.0.channel.2", "gelu", Shape.Tokens(5, 64));
        b.Add("blocks.0.channel.3", "dropout", Shape.Tokens(5, 64), new() { ["p"] = 0.0 });
        b.Add("blocks.0.channel.4", "linear", tok, new() { ["out"] = 16L, ["bias"] = true }, [T("weight", 16, 64), T("bias", 16)], multAdds: 5 * 64 * 16);
        b.Add("blocks.0.channel.5", "add", tok, inputs: [b.Last, tokenAdd]);
        b.Add("head.0", "layernorm", tok, new() { ["eps"] = 1e-6 }, [T("weight", 16), T("bias", 16)]);
        b.Add("head.1", "cls", Shape.Vector(16));
        b.Add("head.2", "linear", Shape.Vector(10), new() { ["out"] = 10L, ["bias"] = true }, [T("weight", 10, 16), T("bias", 10)], multAdds: 160);
        return b.Build(new TrainConfig(new Dictionary<string, object> { ["epochs"] = 1L, ["optimizer"] = new TrainCall("sgd", new Dictionary<string, object>()) }));
    }
}
