using ArchDsl.Torch;
using static ArchDsl.Torch.torch;
using F = ArchDsl.Torch.torch.nn.functional;

namespace ArchDsl.Torch.Tests;

public class ModuleTests : TorchTest
{
    static nn.Sequential Build() => new(
        ("stem", new nn.Conv2d(3, 8, 2, stride: 2)),
        ("norm", new nn.BatchNorm2d(8)),
        ("blocks", new nn.Sequential(new nn.Conv2d(8, 8, 5, nn.Padding.Same, groups: 8), new nn.BatchNorm2d(8))),
        ("head", new nn.LayerNorm(8)));

    [Fact]
    public void Names_order_and_shapes_of_parameters_and_buffers_match_pytorch()
    {
        using var scope = NewDisposeScope();
        using var m = Build();
        var py = PyTorch.Run("""
            from collections import OrderedDict
            nn = torch.nn
            m = nn.Sequential(OrderedDict(stem=nn.Conv2d(3, 8, 2, stride=2), norm=nn.BatchNorm2d(8),
                blocks=nn.Sequential(nn.Conv2d(8, 8, 5, padding='same', groups=8), nn.BatchNorm2d(8)), head=nn.LayerNorm(8)))
            for i, (k, v) in enumerate(m.named_parameters()): out['p%02d.%s' % (i, k)] = torch.tensor(v.shape, dtype=torch.int64)
            for i, (k, v) in enumerate(m.named_buffers()): out['b%02d.%s' % (i, k)] = torch.tensor(v.shape, dtype=torch.int64)
            """, new Dictionary<string, Tensor>());
        var expectP = py.Keys.Where(k => k.StartsWith('p')).OrderBy(k => k).ToList();
        var expectB = py.Keys.Where(k => k.StartsWith('b')).OrderBy(k => k).ToList();
        var ps = m.named_parameters().ToList();
        var bs = m.named_buffers().ToList();
        Assert.Equal(expectP.Select(k => k[4..]), ps.Select(p => p.name));
        Assert.Equal(expectB.Select(k => k[4..]), bs.Select(b => b.name));
        for (var i = 0; i < ps.Count; i++) Assert.Equal(py[expectP[i]].data<long>(), ps[i].parameter.shape);
        for (var i = 0; i < bs.Count; i++) Assert.Equal(py[expectB[i]].data<long>(), bs[i].buffer.shape);
        Assert.Equal(ps.Count + bs.Count, m.state_dict().Count);
    }

    [Fact]
    public void Moving_a_module_to_channels_last_restrides_its_4d_tensors_in_place_and_keeps_their_values()
    {
        using var scope = NewDisposeScope();
        using var m = Build();
        var before = m.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        var identities = m.parameters().ToList();
        m.to(channels_last);
        Assert.Equal(identities, m.parameters().ToList());                                    // same Parameter objects
        Assert.Equal(new long[] { 12, 1, 6, 3 }, m.state_dict()["stem.weight"].stride());     // [8, 3, 2, 2] as NHWC
        Assert.Equal(new long[] { 25, 1, 5, 1 }, m.state_dict()["blocks.0.weight"].stride()); // depthwise [8, 1, 5, 5]
        Assert.Equal(new long[] { 1 }, m.state_dict()["stem.bias"].stride());
        foreach (var (k, v) in m.state_dict()) Assert.Equal(before[k].to(float64).data<double>(), v.to(float64).data<double>());
    }

    [Fact]
    public void Default_init_follows_pytorch_bounds_and_modules_train_eval_move_and_load()
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        using var lin = new nn.Linear(100, 50);
        var w = lin.weight.data<float>();
        Assert.All(w, v => Assert.InRange(v, -0.1f, 0.1f));          // kaiming_uniform(a=√5) → U(-1/√fan_in, 1/√fan_in)
        Assert.True(w.Max() > 0.09f && w.Min() < -0.09f);
        Assert.True(lin.weight.requires_grad && lin.weight.is_leaf);

        using var m = Build();
        Assert.True(m.training);
        m.eval();
        Assert.All(m.modules(), x => Assert.False(x.training));
        m.train();
        Assert.All(m.modules(), x => Assert.True(x.training));

        var x = Data(5, 2, 3, 16, 16);
        var y = m.forward(x);                          // stem → [2, 8, 8, 8]; LayerNorm(8) normalizes the last dim
        Assert.Equal(new long[] { 2, 8, 8, 8 }, y.shape);
        Assert.Equal(1L, m.state_dict()["norm.num_batches_tracked"].item<long>());
        var before = m.parameters().First();
        m.to(CPU);
        Assert.Same(before, m.parameters().First());  // parameters move in place
        m.to(ScalarType.Float64);
        Assert.All(m.parameters(), p => Assert.Equal(ScalarType.Float64, p.dtype));
        Assert.Equal(ScalarType.Int64, m.state_dict()["norm.num_batches_tracked"].dtype);
        m.to(ScalarType.Float32);

        using var copy = Build();
        copy.load_state_dict(m.state_dict());
        foreach (var (k, v) in m.state_dict()) Assert.Equal(0.0, MaxAbsDiff(v, copy.state_dict()[k]));
        var bad = new Dictionary<string, Tensor>(m.state_dict()) { ["head.weight"] = zeros(3) };
        Assert.Contains("'head.weight' has shape [3]", Assert.Throws<ArgumentException>(() => copy.load_state_dict(bad)).Message);
        Assert.Contains("missing [stem.bias]", Assert.Throws<ArgumentException>(() =>
            copy.load_state_dict(m.state_dict().Where(kv => kv.Key != "stem.bias").ToDictionary(kv => kv.Key, kv => kv.Value))).Message);
    }

    [Fact]
    public void Zero_grad_clears_and_registration_rejects_bad_names()
    {
        using var scope = NewDisposeScope();
        using var lin = new nn.Linear(3, 2);
        F.linear(ones(1, 3), lin.weight, lin.bias).sum().backward();
        Assert.NotNull(lin.weight.grad);
        lin.zero_grad(set_to_none: false);
        Assert.Equal(new float[6], lin.weight.grad!.data<float>());
        lin.zero_grad();
        Assert.Null(lin.weight.grad);
        Assert.Throws<ArgumentException>(() => lin.register_parameter("weight", new nn.Parameter(zeros(1))));
        Assert.Throws<ArgumentException>(() => lin.register_buffer("a.b", zeros(1)));
    }
}
