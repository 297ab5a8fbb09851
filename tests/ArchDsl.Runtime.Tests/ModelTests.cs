using ArchDsl.Compiler;
using ArchDsl.Runtime.Model;
using ArchDsl.Torch;
using static ArchDsl.Runtime.Tests.ModelTestKit;
using static ArchDsl.Torch.torch;
using F = ArchDsl.Torch.torch.nn.functional;

namespace ArchDsl.Runtime.Tests;

[Collection(TorchModelCollection.Name)]
public sealed class ModelTests
{
    public static TheoryData<string, string[]> Families => new()
    {
        { "convmixer.arch", new[] { "dim=32", "depth=2" } },
        { "vit.arch", new[] { "dim=48", "depth=2", "heads=3" } },
        { "mlp-mixer.arch", new[] { "dim=32", "depth=2" } },
        { "resmlp.arch", new[] { "dim=32", "depth=2" } },
        { "gmlp.arch", new[] { "dim=32", "depth=2" } },
    };

    [Theory]
    [MemberData(nameof(Families))]
    public void Parameter_and_buffer_names_shapes_and_dtypes_are_the_IRs(string spec, string[] overrides)
    {
        var g = CompileSpec(spec, overrides);
        using var m = new IrModel(g);
        var expectedParams = g.Nodes.SelectMany(n => n.Params.Select(p => (name: $"{n.Name}.{p.Name}", shape: p.Shape.ToArray()))).ToList();
        var expectedBuffers = g.Nodes.SelectMany(n => n.Buffers.Select(p => (name: $"{n.Name}.{p.Name}", shape: p.Shape.ToArray()))).ToList();
        var actualParams = m.named_parameters().Select(p => (p.name, shape: p.parameter.shape)).ToList();
        var actualBuffers = m.named_buffers().Select(b => (b.name, shape: b.buffer.shape)).ToList();

        Assert.Equal(expectedParams.Select(p => p.name), actualParams.Select(p => p.name));
        Assert.Equal(expectedBuffers.Select(p => p.name), actualBuffers.Select(p => p.name));
        for (var i = 0; i < expectedParams.Count; i++) Assert.Equal(expectedParams[i].shape, actualParams[i].shape);
        for (var i = 0; i < expectedBuffers.Count; i++) Assert.Equal(expectedBuffers[i].shape, actualBuffers[i].shape);
        Assert.Equal(g.ParamCount, m.ParameterCount);
        Assert.All(m.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        Assert.All(m.parameters(), p => Assert.True(p.requires_grad));
        Assert.All(m.named_buffers(), b => Assert.Equal(b.name.EndsWith(".num_batches_tracked") ? ScalarType.Int64 : ScalarType.Float32, b.buffer.dtype));
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void Forward_and_backward_give_logits_and_a_gradient_for_every_parameter(string spec, string[] overrides)
    {
        var g = CompileSpec(spec, overrides);
        using var m = new IrModel(g, seed: 1);
        using var scope = NewDisposeScope();
        var x = Rand(3, new[] { 4L }.Concat(g.Input.Dims.Select(d => (long)d)).ToArray());
        var y = Labels(4, 4, 10);
        var logits = m.forward(x);
        Assert.Equal(new long[] { 4, 10 }, logits.shape);
        var loss = F.cross_entropy(logits, y);
        var l = loss.item<double>();
        Assert.True(double.IsFinite(l) && l > 0, $"loss {l}");
        loss.backward();
        foreach (var (name, p) in m.named_parameters())
        {
            var grad = p.grad;
            Assert.True(grad is not null, $"{name} has no gradient");
            Assert.True(grad!.isfinite().logical_not().sum().item<long>() == 0, $"{name} has a non-finite gradient");
            Assert.True(MaxAbs(grad) > 0, $"{name} has an all-zero gradient");
        }
    }

    [Fact]
    public void Conv_graphs_run_channels_last_and_compute_what_the_contiguous_layout_computes()
    {
        var g = CompileSpec("convmixer.arch", "dim=32", "depth=2");
        Assert.Equal(memory_format.ChannelsLast, IrModel.PreferredMemoryFormat(g));
        Assert.Equal(memory_format.Contiguous, IrModel.PreferredMemoryFormat(CompileSpec("vit.arch", "dim=48", "depth=1", "heads=3")));
        using var nhwc = new IrModel(g, seed: 3);
        using var nchw = new IrModel(g, seed: 3, format: memory_format.Contiguous);
        Assert.Equal(memory_format.ChannelsLast, nhwc.MemoryFormat);
        Assert.Equal(new long[] { 4, 1, 2, 1 }, nhwc.state_dict()["stem.0.weight"].stride());          // [32, 1, 2, 2]
        Assert.Equal(new long[] { 25, 1, 5, 1 }, nhwc.state_dict()["blocks.0.token.0.weight"].stride()); // depthwise [32, 1, 5, 5]

        using var scope = NewDisposeScope();
        // The stem's output (through a graph cut) is NHWC although the one-channel input's layout is ambiguous:
        // without that every later convolution would run NCHW, at two thirds of the speed.
        using var stem = new IrModel(Cut(g, 2));
        Assert.Equal(memory_format.ChannelsLast, stem.MemoryFormat);
        var features = stem.forward(Rand(1, 4, 1, 28, 28));
        Assert.True(features.is_contiguous(channels_last) && !features.is_contiguous(), $"stem output strides [{string.Join(", ", features.stride())}]");

        foreach (var train in new[] { true, false })
        {
            nhwc.train(train); nchw.train(train);
            nhwc.zero_grad(); nchw.zero_grad();
            var x = Rand(4, 6, 1, 28, 28);
            var y = Labels(5, 6, 10);
            var a = nhwc.forward(x);
            var b = nchw.forward(x);
            Assert.True(MaxAbsDiff(a, b) < 1e-5, $"train={train}: logits differ by {MaxAbsDiff(a, b)}");
            if (!train) continue;
            F.cross_entropy(a, y).backward();
            F.cross_entropy(b, y).backward();
            var gb = nchw.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!);
            foreach (var (name, p) in nhwc.named_parameters())
                Assert.True(MaxAbsDiff(p.grad!, gb[name]) < 1e-4, $"{name}: gradients differ by {MaxAbsDiff(p.grad!, gb[name])}");
        }
        var sb = nchw.state_dict();
        foreach (var (k, v) in nhwc.state_dict()) Assert.True(MaxAbsDiff(v, sb[k]) < 1e-5, $"{k} after a training forward");

        // Weight files do not record the layout: NHWC weights load into an NCHW model and compute the same.
        var file = Path.Combine(Path.GetTempPath(), $"archdsl-nhwc-{Guid.NewGuid():N}.safetensors");
        try
        {
            nhwc.SaveWeights(file);
            using var loaded = new IrModel(g, seed: 99, format: memory_format.Contiguous);
            loaded.LoadWeights(file);
            loaded.eval(); nhwc.eval();
            var x = Rand(6, 3, 1, 28, 28);
            Assert.True(MaxAbsDiff(nhwc.forward(x), loaded.forward(x)) < 1e-5);
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void Initialisation_is_deterministic_from_the_seed_and_follows_PyTorchs_defaults()
    {
        var g = CompileSpec("vit.arch", "dim=48", "depth=1", "heads=3");
        using var a = new IrModel(g, seed: 7);
        using var b = new IrModel(g, seed: 7);
        using var c = new IrModel(g, seed: 8);
        var sa = a.state_dict(); var sb = b.state_dict(); var sc = c.state_dict();
        foreach (var k in sa.Keys) Assert.Equal(0, MaxAbsDiff(sa[k], sb[k]));
        Assert.True(MaxAbsDiff(sa["blocks.0.token.0.qkv.weight"], sc["blocks.0.token.0.qkv.weight"]) > 0);

        // Linear(16 → 48): kaiming_uniform(a=√5) gives bound √(6/((1+5)·16)) = 1/√16; the bias has the same bound.
        AssertUniformIn(sa["stem.1.weight"], 1 / Math.Sqrt(16));
        AssertUniformIn(sa["stem.1.bias"], 1 / Math.Sqrt(16));
        AssertUniformIn(sa["blocks.0.token.0.qkv.weight"], 1 / Math.Sqrt(48));
        AssertUniformIn(sa["blocks.0.channel.2.weight"], 1 / Math.Sqrt(192));
        // cls token and position embedding: trunc_normal(std 0.02)
        using var scope = NewDisposeScope();
        var pos = sa["stem.3.weight"];
        var std = pos.std(new long[] { 0, 1 }).item<double>();
        Assert.InRange(std, 0.017, 0.023);
        Assert.True(MaxAbs(pos) <= 2.0);
        Assert.Equal(1.0, sa["blocks.0.token_norm.weight"].min().item<double>());
        Assert.Equal(0.0, MaxAbs(sa["blocks.0.token_norm.bias"]));

        var cm = CompileSpec("convmixer.arch", "dim=16", "depth=1", "kernel=5");
        using var m = new IrModel(cm);
        var s = m.state_dict();
        AssertUniformIn(s["blocks.0.token.0.weight"], 1 / Math.Sqrt(25)); // depthwise: fan_in = 1·5·5
        AssertUniformIn(s["blocks.0.channel.0.weight"], 1 / Math.Sqrt(16));
        Assert.Equal(1.0, s["stem.2.running_var"].min().item<double>());
        Assert.Equal(0.0, MaxAbs(s["stem.2.running_mean"]));
        Assert.Equal(0L, s["stem.2.num_batches_tracked"].item<long>());
    }

    /// <summary>The graph up to and including node <paramref name="output"/>.</summary>
    static IrGraph Cut(IrGraph g, int output) => g with { Nodes = g.Nodes.Take(output + 1).ToList(), Output = output };

    static void AssertUniformIn(Tensor t, double bound)
    {
        var max = MaxAbs(t);
        Assert.True(max <= bound * (1 + 1e-6), $"max |w| {max} exceeds the bound {bound}");
        Assert.True(max >= bound * 0.8, $"max |w| {max} is far below the bound {bound}: not U(-b, b)?");
    }

    [Fact]
    public void Patches_then_linear_equals_a_stride_p_convolution_with_the_weight_reshaped()
    {
        var g = CompileText("""
            arch P(dim = 8)
            input image[3, 12, 8]
            stem patches(4) -> linear(dim)
            head avgpool -> linear(5)
            """);
        using var m = new IrModel(g, seed: 2);
        using var scope = NewDisposeScope();
        var x = Rand(5, 2, 3, 12, 8);
        var w = m.state_dict()["stem.1.weight"];
        var b = m.state_dict()["stem.1.bias"];
        Assert.Equal(new long[] { 8, 48 }, w.shape);
        // the model's first two nodes, through a graph cut at stem.1
        var cut = Cut(g, 2);
        using var stem = new IrModel(cut);
        stem.load_state_dict(new Dictionary<string, Tensor> { ["stem.1.weight"] = w, ["stem.1.bias"] = b });
        var tokens = stem.forward(x);                                       // [2, 6, 8]
        var conv = F.conv2d(x, w.reshape(8, 3, 4, 4), b, new long[] { 4 });   // [2, 8, 3, 2]
        var expected = conv.flatten(2).transpose(1, 2);                      // [2, 6, 8]
        Assert.Equal(new long[] { 2, 6, 8 }, tokens.shape);
        Assert.True(MaxAbsDiff(tokens, expected) < 1e-5);
    }

    [Fact]
    public void Train_mode_updates_batchnorm_statistics_and_eval_mode_uses_them()
    {
        var g = CompileSpec("convmixer.arch", "dim=16", "depth=1");
        using var m = new IrModel(g);
        using var scope = NewDisposeScope();
        var x = Rand(1, 8, 1, 28, 28);
        m.train();
        using (no_grad()) m.forward(x);
        var s = m.state_dict();
        Assert.Equal(1L, s["stem.2.num_batches_tracked"].item<long>());
        Assert.True(MaxAbs(s["stem.2.running_mean"]) > 0);
        m.eval();
        var e1 = m.forward(x);
        var e2 = m.forward(x);
        Assert.Equal(0, MaxAbsDiff(e1, e2));
        Assert.Equal(1L, s["stem.2.num_batches_tracked"].item<long>());
        m.train();
        var t = m.forward(x);
        Assert.True(MaxAbsDiff(t, e1) > 1e-4, "train mode (batch statistics) should differ from eval mode (running statistics)");
    }

    [Fact]
    public void Droppath_zeroes_or_rescales_whole_samples_in_training_and_is_identity_in_eval()
    {
        var g = CompileText("""
            arch D(p = 0.5)
            input image[2, 4, 4]
            stem flatten -> droppath(p) -> dropout(p)
            head avgpool
            """);
        using var m = new IrModel(g);
        using var scope = NewDisposeScope();
        var cut = Cut(g, 2); // input -> flatten -> droppath
        using var dp = new IrModel(cut);
        var x = Rand(9, 64, 2, 4, 4).abs().add(0.1);
        var flat = x.flatten(2).transpose(1, 2);
        dp.eval();
        Assert.Equal(0, MaxAbsDiff(dp.forward(x), flat));
        dp.train();
        manual_seed(3);
        var y = dp.forward(x);
        var ratio = y.div(flat); // per element: 0 or 1/keep = 2
        var kept = 0;
        for (var i = 0; i < 64; i++)
        {
            var r = ratio[i];
            var lo = r.min().item<double>(); var hi = r.max().item<double>();
            Assert.True(Math.Abs(lo - hi) < 1e-6, $"sample {i} is not dropped or kept as a whole ({lo}..{hi})");
            Assert.True(Math.Abs(lo) < 1e-6 || Math.Abs(lo - 2) < 1e-5, $"sample {i} scaled by {lo}, not 0 or 1/keep");
            if (lo > 1) kept++;
        }
        Assert.InRange(kept, 16, 48); // Binomial(64, 0.5)

        // dropout after it: in eval the whole model is the identity up to the mean
        m.eval();
        Assert.True(MaxAbsDiff(m.forward(x), flat.mean(new long[] { 1 })) < 1e-6);
    }

    [Fact]
    public void Layout_ops_flatten_transpose_cls_and_avgpool_on_tokens_match_hand_computed_values()
    {
        var g = CompileText("""
            arch L(dim = 4)
            input image[3, 2, 5]
            stem flatten -> transpose -> transpose -> cls_token -> pos_embed
            head cls
            """);
        using var m = new IrModel(g, seed: 5);
        using var scope = NewDisposeScope();
        var x = Rand(2, 3, 3, 2, 5);
        var s = m.state_dict();
        var tok = s["stem.3.token"]; var pos = s["stem.4.weight"];
        Assert.Equal(new long[] { 1, 3 }, tok.shape);
        Assert.Equal(new long[] { 11, 3 }, pos.shape);
        var y = m.forward(x);                                   // cls output: token + pos[0]
        var expected = tok.add(pos.select(0, 0).unsqueeze(0)).expand(3, 3);
        Assert.True(MaxAbsDiff(y, expected) < 1e-7);
        var cut = Cut(g, 5);
        using var m2 = new IrModel(cut);
        m2.load_state_dict(s);
        var all = m2.forward(x);                                // [3, 11, 3]
        var tokens = x.permute(0, 2, 3, 1).reshape(3, 10, 3);   // pixel-major tokens of C features
        Assert.True(MaxAbsDiff(all.narrow(1, 1, 10), tokens.add(pos.narrow(0, 1, 10))) < 1e-6);
    }

    [Fact]
    public void Weights_round_trip_through_safetensors_with_the_IR_names()
    {
        var g = CompileSpec("convmixer.arch", "dim=16", "depth=2");
        var dir = Directory.CreateTempSubdirectory("archdsl-model-").FullName;
        try
        {
            var path = Path.Combine(dir, "w.safetensors");
            using var a = new IrModel(g, seed: 1);
            using (var sc = NewDisposeScope())
            {
                a.train();
                using (no_grad()) a.forward(Rand(1, 4, 1, 28, 28)); // running statistics and num_batches_tracked move
            }
            a.SaveWeights(path);
            var described = Safetensors.Describe(path);
            Assert.Equal(a.state_dict().Keys.OrderBy(k => k, StringComparer.Ordinal), described.Select(d => d.name));
            Safetensors.Load(path, out var meta).Values.ToList().ForEach(t => t.Dispose());
            Assert.Equal(IrModel.WeightsFormat, meta["archdsl.format"]);
            Assert.Equal("ConvMixer", meta["archdsl.arch"]);

            using var b = new IrModel(g, seed: 2);
            b.LoadWeights(path);
            var sa = a.state_dict(); var sb = b.state_dict();
            foreach (var k in sa.Keys) Assert.Equal(0, MaxAbsDiff(sa[k], sb[k]));
            Assert.Equal(1L, sb["blocks.1.channel.2.num_batches_tracked"].item<long>());
            using var scope = NewDisposeScope();
            a.eval(); b.eval();
            var x = Rand(2, 3, 1, 28, 28);
            Assert.Equal(0, MaxAbsDiff(a.forward(x), b.forward(x)));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Loading_mismatched_weights_reports_every_problem_in_one_message_and_leaves_the_model_untouched()
    {
        var g = CompileSpec("convmixer.arch", "dim=16", "depth=2");
        var dir = Directory.CreateTempSubdirectory("archdsl-model-").FullName;
        try
        {
            var path = Path.Combine(dir, "bad.safetensors");
            using var m = new IrModel(g);
            using (var sc = NewDisposeScope())
            {
                var d = m.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value);
                d.Remove("head.1.bias");
                d.Remove("stem.2.running_var");
                d["extra.weight"] = zeros(3);
                d["blocks.0.token.0.weight"] = zeros(16, 1, 3, 3);
                d["stem.0.bias"] = zeros(new long[] { 16 }, ScalarType.Float64);
                Safetensors.Save(path, d);
            }
            var before = m.state_dict()["stem.0.bias"].data<float>();
            var e = Assert.Throws<WeightsMismatchException>(() => m.LoadWeights(path));
            Assert.Contains("5 problems", e.Message);
            Assert.Contains("head.1.bias", e.Message);
            Assert.Contains("stem.2.running_var", e.Message);
            Assert.Contains("extra.weight", e.Message);
            Assert.Contains("blocks.0.token.0.weight: the file has [16, 1, 3, 3], the model expects [16, 1, 5, 5]", e.Message);
            Assert.Contains("stem.0.bias: the file has Float64, the model expects Float32", e.Message);
            Assert.Equal(2, e.Missing.Count);
            Assert.Single(e.Unexpected);
            Assert.Single(e.ShapeMismatches);
            Assert.Single(e.DtypeMismatches);
            Assert.Equal(before, m.state_dict()["stem.0.bias"].data<float>());
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void A_wrong_input_shape_is_a_clear_exception_naming_the_expected_shape_and_the_model_still_works()
    {
        var g = CompileSpec("vit.arch", "dim=24", "depth=1", "heads=2");
        using var m = new IrModel(g);
        using var scope = NewDisposeScope();
        var e = Assert.Throws<ArgumentException>(() => m.forward(Rand(1, 2, 3, 28, 28)));
        Assert.Contains("[2, 3, 28, 28]", e.Message);
        Assert.Contains("[B, 1, 28, 28]", e.Message);
        var e2 = Assert.Throws<ArgumentException>(() => m.forward(Rand(1, 2, 28, 28)));
        Assert.Contains("[B, 1, 28, 28]", e2.Message);
        Assert.Equal(new long[] { 2, 10 }, m.forward(Rand(1, 2, 1, 28, 28)).shape);
    }

    [Fact]
    public void A_shape_error_inside_libtorch_surfaces_as_a_dotnet_exception_with_libtorchs_message()
    {
        // A graph whose per-node shapes were tampered with after compilation: the linear's weight no
        // longer fits its input, so libtorch itself rejects the matmul mid-forward.
        var g = CompileSpec("convmixer.arch", "dim=16", "depth=1");
        var head = g.Nodes[^1];
        var bad = head with { Params = new[] { new TensorSpec("weight", new long[] { 10, 17 }), new TensorSpec("bias", new long[] { 10 }) } };
        var broken = g with { Nodes = g.Nodes.Take(g.Nodes.Count - 1).Append(bad).ToList() };
        using var m = new IrModel(broken);
        using var scope = NewDisposeScope();
        var live = LiveTensorHandles;
        var e = Assert.ThrowsAny<Exception>(() => m.forward(Rand(1, 2, 1, 28, 28)));
        Assert.Contains("cannot be multiplied", e.Message); // libtorch's own words: "mat1 and mat2 shapes cannot be multiplied (2x16 and 17x10)"
        Assert.Contains("2x16", e.Message);
        // the process lives on and the intermediate values of the failed pass were released
        Assert.True(LiveTensorHandles <= live + 2, $"{LiveTensorHandles - live} handles leaked by the failed forward");
        using var good = new IrModel(g);
        Assert.Equal(new long[] { 2, 10 }, good.forward(Rand(1, 2, 1, 28, 28)).shape);
    }

    [Fact]
    public void Ops_on_the_layouts_the_family_specs_do_not_use_run_forward_and_backward()
    {
        // One graph through layouts the family specs do not use: layernorm on an image and on a vector, batchnorm on
        // tokens, pooling and activations between them. (That every op has a module is OpCatalogTests' check.)
        var g = CompileText("""
            arch All(dim = 8)
            input image[2, 8, 8]
            stem conv(dim, kernel: 3, padding: 1) -> silu -> layernorm -> pool(3) -> relu -> flatten -> batchnorm
            mixer * 1 {
              token: fourier -> tanh
              channel: linear(dim) -> sigmoid -> dropout(0.1)
              norm: layer, post
              residual: both
            }
            head avgpool -> layernorm -> identity -> linear(3)
            """);
        using var m = new IrModel(g);
        using var scope = NewDisposeScope();
        var y = m.forward(Rand(1, 3, 2, 8, 8));
        Assert.Equal(new long[] { 3, 3 }, y.shape);
        y.sum().backward();
        Assert.All(m.named_parameters(), p => Assert.True(p.parameter.grad is not null, p.name));
    }
}
