using ArchDsl.Torch;
using static ArchDsl.Torch.torch;
using F = ArchDsl.Torch.torch.nn.functional;

namespace ArchDsl.Torch.Tests;

/// <summary>Each op against PyTorch 1.13 (python3-torch) on the same inputs: max abs diff ≤ 1e-5.</summary>
public class OpsVsPyTorchTests : TorchTest
{
    [Fact]
    public void Conv2d_with_stride_padding_groups_dilation_and_bias()
    {
        using var scope = NewDisposeScope();
        var inputs = new Dictionary<string, Tensor>
        {
            ["x"] = Data(1, 2, 6, 9, 9),
            ["w_dw"] = Data(2, 6, 1, 5, 5),      // depthwise: groups = 6
            ["b_dw"] = Data(3, 6),
            ["w_g"] = Data(4, 4, 3, 3, 3),       // groups = 2
            ["w_p"] = Data(5, 8, 6, 3, 3),       // patch stem: stride 3
            ["b_p"] = Data(6, 8),
        };
        var x = inputs["x"];
        var ours = new Dictionary<string, Tensor>
        {
            ["dw"] = F.conv2d(x, inputs["w_dw"], inputs["b_dw"], padding: new long[] { 2 }, groups: 6),
            ["dw_same"] = F.conv2d(x, inputs["w_dw"], inputs["b_dw"], null, nn.Padding.Same, groups: 6),
            ["g"] = F.conv2d(x, inputs["w_g"], null, strides: new long[] { 2, 1 }, padding: new long[] { 1, 0 }, dilation: new long[] { 1, 2 }, groups: 2),
            ["p"] = F.conv2d(x, inputs["w_p"], inputs["b_p"], strides: new long[] { 3 }),
        };
        var py = PyTorch.Run("""
            F = torch.nn.functional
            out['dw'] = F.conv2d(x['x'], x['w_dw'], x['b_dw'], padding=2, groups=6)
            out['dw_same'] = F.conv2d(x['x'], x['w_dw'], x['b_dw'], padding='same', groups=6)
            out['g'] = F.conv2d(x['x'], x['w_g'], None, stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2)
            out['p'] = F.conv2d(x['x'], x['w_p'], x['b_p'], stride=3)
            """, inputs);
        foreach (var k in ours.Keys) AssertClose(py[k], ours[k], what: k);
        Assert.Equal(new long[] { 2, 8, 3, 3 }, ours["p"].shape);
    }

    [Fact]
    public void Batch_norm_train_updates_running_stats_and_eval_uses_them()
    {
        using var scope = NewDisposeScope();
        var inputs = new Dictionary<string, Tensor>
        {
            ["x"] = Data(10, 4, 3, 5, 5) * 3 + 1,
            ["w"] = Data(11, 3),
            ["b"] = Data(12, 3),
            ["rm"] = Data(13, 3),
            ["rv"] = Data(14, 3).abs() + 0.5,
        };
        var rm = inputs["rm"].clone();
        var rv = inputs["rv"].clone();
        var train = F.batch_norm(inputs["x"], rm, rv, inputs["w"], inputs["b"], training: true, momentum: 0.2, eps: 1e-5);
        var eval = F.batch_norm(inputs["x"], rm, rv, inputs["w"], inputs["b"], training: false, eps: 1e-3);
        var py = PyTorch.Run("""
            F = torch.nn.functional
            rm, rv = x['rm'].clone(), x['rv'].clone()
            out['train'] = F.batch_norm(x['x'], rm, rv, x['w'], x['b'], training=True, momentum=0.2, eps=1e-5)
            out['rm'], out['rv'] = rm, rv
            out['eval'] = F.batch_norm(x['x'], rm, rv, x['w'], x['b'], training=False, eps=1e-3)
            """, inputs);
        AssertClose(py["train"], train, what: "train");
        AssertClose(py["rm"], rm, what: "running_mean");
        AssertClose(py["rv"], rv, what: "running_var");
        AssertClose(py["eval"], eval, what: "eval");
        Assert.True(MaxAbsDiff(rm, inputs["rm"]) > 1e-3, "running_mean was not updated");
    }

    [Fact]
    public void BatchNorm2d_module_matches_torch_nn_BatchNorm2d_including_num_batches_tracked()
    {
        using var scope = NewDisposeScope();
        var inputs = new Dictionary<string, Tensor> { ["x1"] = Data(20, 4, 3, 4, 4) * 2, ["x2"] = Data(21, 4, 3, 4, 4) + 0.5 };
        using var bn = new nn.BatchNorm2d(3, momentum: 0.1);
        bn.forward(inputs["x1"]);
        bn.forward(inputs["x2"]);
        bn.eval();
        var y = bn.forward(inputs["x1"]);
        var py = PyTorch.Run("""
            bn = torch.nn.BatchNorm2d(3, momentum=0.1)
            bn(x['x1']); bn(x['x2']); bn.eval()
            out['y'] = bn(x['x1']).detach()
            for k, v in bn.state_dict().items(): out[k] = v
            """, inputs);
        AssertClose(py["y"], y, what: "y");
        var sd = bn.state_dict();
        Assert.Equal(py.Keys.Where(k => k != "y").OrderBy(k => k), sd.Keys.OrderBy(k => k));
        foreach (var k in sd.Keys) AssertClose(py[k], sd[k], what: k);
        Assert.Equal(2L, sd["num_batches_tracked"].item<long>());
    }

    [Fact]
    public void Layer_norm_linear_activations_softmax_pooling()
    {
        using var scope = NewDisposeScope();
        var inputs = new Dictionary<string, Tensor>
        {
            ["t"] = Data(30, 2, 7, 12) * 2,
            ["lw"] = Data(31, 12), ["lb"] = Data(32, 12),
            ["w"] = Data(33, 5, 12), ["b"] = Data(34, 5),
            ["img"] = Data(35, 2, 3, 7, 7),
        };
        var t = inputs["t"];
        var ours = new Dictionary<string, Tensor>
        {
            ["ln"] = F.layer_norm(t, new long[] { 12 }, inputs["lw"], inputs["lb"], 1e-6),
            ["lin"] = F.linear(t, inputs["w"], inputs["b"]),
            ["lin_nobias"] = F.linear(t, inputs["w"]),
            ["gelu"] = F.gelu(t), ["gelu_tanh"] = F.gelu(t, "tanh"),
            ["relu"] = F.relu(t), ["silu"] = F.silu(t), ["tanh"] = F.tanh(t), ["sigmoid"] = F.sigmoid(t),
            ["softmax"] = F.softmax(t, -1), ["log_softmax"] = F.log_softmax(t, 1),
            ["pool"] = F.avg_pool2d(inputs["img"], new long[] { 3 }, new long[] { 2 }, new long[] { 1 }, count_include_pad: false),
            ["pool_incl"] = F.avg_pool2d(inputs["img"], new long[] { 3 }, new long[] { 1 }, new long[] { 1 }, count_include_pad: true),
            ["gap"] = F.global_avg_pool2d(inputs["img"]),
            ["adaptive"] = F.adaptive_avg_pool2d(inputs["img"], new long[] { 1 }),
            ["pad"] = F.pad(inputs["img"], new long[] { 1, 2, 0, 1 }, value: 0.5),
            ["pad_reflect"] = F.pad(inputs["img"], new long[] { 2, 2, 2, 2 }, nn.PaddingModes.Reflect),
        };
        var py = PyTorch.Run("""
            F = torch.nn.functional
            t = x['t']
            out['ln'] = F.layer_norm(t, (12,), x['lw'], x['lb'], 1e-6)
            out['lin'] = F.linear(t, x['w'], x['b'])
            out['lin_nobias'] = F.linear(t, x['w'])
            out['gelu'] = F.gelu(t); out['gelu_tanh'] = F.gelu(t, approximate='tanh')
            out['relu'] = F.relu(t); out['silu'] = F.silu(t); out['tanh'] = torch.tanh(t); out['sigmoid'] = torch.sigmoid(t)
            out['softmax'] = F.softmax(t, -1); out['log_softmax'] = F.log_softmax(t, 1)
            out['pool'] = F.avg_pool2d(x['img'], 3, 2, 1, count_include_pad=False)
            out['pool_incl'] = F.avg_pool2d(x['img'], 3, 1, 1, count_include_pad=True)
            out['gap'] = x['img'].mean((-2, -1))
            out['adaptive'] = F.adaptive_avg_pool2d(x['img'], 1)
            out['pad'] = F.pad(x['img'], (1, 2, 0, 1), value=0.5)
            out['pad_reflect'] = F.pad(x['img'], (2, 2, 2, 2), mode='reflect')
            """, inputs);
        foreach (var k in ours.Keys) AssertClose(py[k], ours[k], what: k);
    }

    [Fact]
    public void Attention_fourier_and_cross_entropy_with_label_smoothing()
    {
        using var scope = NewDisposeScope();
        var inputs = new Dictionary<string, Tensor>
        {
            ["q"] = Data(40, 2, 3, 5, 4), ["k"] = Data(41, 2, 3, 6, 4), ["v"] = Data(42, 2, 3, 6, 4),
            ["mask"] = Data(43, 5, 6).gt(-0.5), ["qs"] = Data(44, 2, 3, 6, 4),
            ["tok"] = Data(45, 2, 9, 8),
            ["logits"] = Data(46, 6, 10) * 3, ["y"] = Labels(47, 6, 10), ["soft"] = Data(48, 6, 10).softmax(1),
        };
        var ours = new Dictionary<string, Tensor>
        {
            ["attn"] = F.scaled_dot_product_attention(inputs["q"], inputs["k"], inputs["v"]),
            ["attn_mask"] = F.scaled_dot_product_attention(inputs["q"], inputs["k"], inputs["v"], inputs["mask"]),
            ["attn_causal"] = F.scaled_dot_product_attention(inputs["qs"], inputs["qs"], inputs["qs"], is_causal: true),
            ["fourier"] = fft.fft2(inputs["tok"]).real,
            ["fftn"] = fft.fftn(inputs["tok"], new long[] { 1, 2 }).real,
            ["ce"] = F.cross_entropy(inputs["logits"], inputs["y"]),
            ["ce_ls"] = F.cross_entropy(inputs["logits"], inputs["y"], label_smoothing: 0.1),
            ["ce_sum"] = F.cross_entropy(inputs["logits"], inputs["y"], reduction: nn.Reduction.Sum, label_smoothing: 0.2),
            ["ce_none"] = F.cross_entropy(inputs["logits"], inputs["y"], reduction: nn.Reduction.None),
            ["ce_soft"] = F.cross_entropy(inputs["logits"], inputs["soft"], label_smoothing: 0.1),
        };
        var py = PyTorch.Run("""
            F = torch.nn.functional
            def sdpa(q, k, v, mask=None, causal=False):
                s = q @ k.transpose(-2, -1) / q.shape[-1] ** 0.5
                if causal:
                    s = s.masked_fill(~torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool).tril(), float('-inf'))
                if mask is not None:
                    s = s.masked_fill(~mask, float('-inf'))
                return torch.softmax(s, -1) @ v
            out['attn'] = sdpa(x['q'], x['k'], x['v'])
            out['attn_mask'] = sdpa(x['q'], x['k'], x['v'], x['mask'])
            out['attn_causal'] = sdpa(x['qs'], x['qs'], x['qs'], causal=True)
            # and the module PyTorch's ViT uses, for the unmasked case
            mha_q = x['q'].transpose(1, 2).reshape(2, 5, 12)
            out['fourier'] = torch.fft.fft2(x['tok']).real
            out['fftn'] = torch.fft.fftn(x['tok'], dim=(1, 2)).real
            out['ce'] = F.cross_entropy(x['logits'], x['y'])
            out['ce_ls'] = F.cross_entropy(x['logits'], x['y'], label_smoothing=0.1)
            out['ce_sum'] = F.cross_entropy(x['logits'], x['y'], reduction='sum', label_smoothing=0.2)
            out['ce_none'] = F.cross_entropy(x['logits'], x['y'], reduction='none')
            out['ce_soft'] = F.cross_entropy(x['logits'], x['soft'], label_smoothing=0.1)
            """, inputs);
        foreach (var k in ours.Keys) AssertClose(py[k], ours[k], what: k);
    }

    [Fact]
    public void Gradients_of_a_small_composite_match_autograd_in_pytorch()
    {
        using var scope = NewDisposeScope();
        var inputs = new Dictionary<string, Tensor>
        {
            ["img"] = Data(50, 4, 2, 8, 8),
            ["w1"] = Data(51, 6, 2, 2, 2), ["b1"] = Data(52, 6),
            ["wd"] = Data(53, 6, 1, 3, 3),
            ["g"] = Data(54, 6), ["beta"] = Data(55, 6),
            ["lw"] = Data(56, 6), ["lb"] = Data(57, 6),
            ["qkv"] = Data(58, 18, 6), ["wo"] = Data(59, 6, 6),
            ["head"] = Data(60, 5, 6), ["hb"] = Data(61, 5),
            ["y"] = Labels(62, 4, 5),
        };
        var names = new[] { "img", "w1", "b1", "wd", "g", "beta", "lw", "lb", "qkv", "wo", "head", "hb" };
        var leaf = names.ToDictionary(n => n, n => inputs[n].clone().requires_grad_());
        // stem conv (patch 2) -> gelu -> batchnorm(train) -> depthwise conv residual -> tokens ->
        // layernorm -> 2-head attention residual -> Fourier mix -> mean -> head -> CE(label smoothing)
        var h = F.conv2d(leaf["img"], leaf["w1"], leaf["b1"], strides: new long[] { 2 });
        h = F.batch_norm(F.gelu(h), null, null, leaf["g"], leaf["beta"], training: true);
        h = h + F.conv2d(h, leaf["wd"], null, padding: new long[] { 1 }, groups: 6).relu();
        var tok = h.flatten(2).transpose(1, 2);                                 // [4, 16, 6]
        var n = F.layer_norm(tok, new long[] { 6 }, leaf["lw"], leaf["lb"]);
        var qkv = F.linear(n, leaf["qkv"]).reshape(4, 16, 3, 2, 3).permute(2, 0, 3, 1, 4);
        var a = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2]).transpose(1, 2).reshape(4, 16, 6);
        tok = tok + F.linear(a, leaf["wo"]);
        tok = tok + fft.fft2(tok).real * 0.1;
        var logits = F.linear(tok.mean(new long[] { 1 }), leaf["head"], leaf["hb"]);
        var loss = F.cross_entropy(logits, inputs["y"], label_smoothing: 0.1);
        loss.backward();

        var py = PyTorch.Run("""
            F = torch.nn.functional
            L = {k: v.clone().requires_grad_() for k, v in x.items() if k != 'y'}
            h = F.conv2d(L['img'], L['w1'], L['b1'], stride=2)
            h = F.batch_norm(F.gelu(h), None, None, L['g'], L['beta'], training=True)
            h = h + F.conv2d(h, L['wd'], None, padding=1, groups=6).relu()
            tok = h.flatten(2).transpose(1, 2)
            n = F.layer_norm(tok, (6,), L['lw'], L['lb'])
            q, k, v = F.linear(n, L['qkv']).reshape(4, 16, 3, 2, 3).permute(2, 0, 3, 1, 4)
            a = (torch.softmax(q @ k.transpose(-2, -1) / 3 ** 0.5, -1) @ v).transpose(1, 2).reshape(4, 16, 6)
            tok = tok + F.linear(a, L['wo'])
            tok = tok + torch.fft.fft2(tok).real * 0.1
            logits = F.linear(tok.mean(1), L['head'], L['hb'])
            loss = F.cross_entropy(logits, x['y'], label_smoothing=0.1)
            loss.backward()
            out['loss'] = loss.detach()
            for k, v in L.items(): out['grad.' + k] = v.grad
            """, inputs);
        AssertClose(py["loss"], loss, what: "loss");
        foreach (var name in names) AssertClose(py["grad." + name], leaf[name].grad!, what: "grad " + name);
    }
}
