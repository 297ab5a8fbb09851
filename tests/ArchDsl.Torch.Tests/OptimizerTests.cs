using ArchDsl.Torch;
using static ArchDsl.Torch.torch;
using F = ArchDsl.Torch.torch.nn.functional;

namespace ArchDsl.Torch.Tests;

/// <summary>Optimizer steps and gradient clipping against torch.optim / torch.nn.utils in PyTorch 1.13.</summary>
public class OptimizerTests : TorchTest
{
    /// <summary>A 2-layer MLP whose parameters start from fixed data, so PyTorch can start from the same values.</summary>
    sealed class Mlp : nn.Module<Tensor, Tensor>
    {
        public Mlp(IReadOnlyDictionary<string, Tensor> init) : base("Mlp")
        {
            register_module("fc1", new nn.Linear(6, 8));
            register_module("fc2", new nn.Linear(8, 3));
            load_state_dict(init, strict: false);
        }
        public override Tensor forward(Tensor x)
        {
            var l = children().Cast<nn.Linear>().ToArray();
            return l[1].forward(l[0].forward(x).gelu());
        }
    }

    static Dictionary<string, Tensor> MlpInit() => new()
    {
        ["fc1.weight"] = Data(70, 8, 6), ["fc1.bias"] = Data(71, 8),
        ["fc2.weight"] = Data(72, 3, 8), ["fc2.bias"] = Data(73, 3),
    };

    const string PyMlp = """
        F = torch.nn.functional
        m = torch.nn.Sequential()
        m.fc1 = torch.nn.Linear(6, 8); m.fc2 = torch.nn.Linear(8, 3)
        m.load_state_dict({k: x[k] for k in ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']})
        def loss_at(i):
            return F.cross_entropy(m.fc2(F.gelu(m.fc1(x['x%d' % i]))), x['y%d' % i], label_smoothing=0.1)
        """;

    static Dictionary<string, Tensor> Batches(Dictionary<string, Tensor> d, int steps)
    {
        for (var i = 0; i < steps; i++)
        {
            d[$"x{i}"] = Data(100 + i, 5, 6) * 2;
            d[$"y{i}"] = Labels(200 + i, 5, 3);
        }
        return d;
    }

    [Fact]
    public void AdamW_steps_match_torch_optim_AdamW_with_a_changing_lr_and_beta1_and_param_groups()
    {
        using var scope = NewDisposeScope();
        const int steps = 5;
        var inputs = Batches(MlpInit(), steps);
        using var model = new Mlp(inputs);
        var named = model.named_parameters().ToList();
        var decay = named.Where(p => p.name.EndsWith("weight"));
        var noDecay = named.Where(p => p.name.EndsWith("bias"));
        using var opt = new Modules.AdamW(new[] { new optim.ParamGroup(decay), new optim.ParamGroup(noDecay, weight_decay: 0.0) },
            lr: 0.05, beta1: 0.8, beta2: 0.99, eps: 1e-6, weight_decay: 0.1);
        for (var i = 0; i < steps; i++)
        {
            using var step = NewDisposeScope();
            opt.lr = 0.05 * (1 - i / 10.0);
            opt.beta1 = 0.8 + 0.03 * i;   // as one-cycle does
            opt.zero_grad();
            F.cross_entropy(model.forward(inputs[$"x{i}"]), inputs[$"y{i}"], label_smoothing: 0.1).backward();
            opt.step();
        }
        var py = PyTorch.Run(PyMlp + "\n" + $$"""
            decay = [p for n, p in m.named_parameters() if n.endswith('weight')]
            nodecay = [p for n, p in m.named_parameters() if n.endswith('bias')]
            opt = torch.optim.AdamW([{'params': decay}, {'params': nodecay, 'weight_decay': 0.0}],
                                    lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)
            for i in range({{steps}}):
                for g in opt.param_groups: g['lr'] = 0.05 * (1 - i / 10.0); g['betas'] = (0.8 + 0.03 * i, 0.99)
                opt.zero_grad(); loss_at(i).backward(); opt.step()
            for k, v in m.state_dict().items(): out[k] = v
            for n, p in m.named_parameters():
                out[n + '.exp_avg'] = opt.state[p]['exp_avg']; out[n + '.exp_avg_sq'] = opt.state[p]['exp_avg_sq']
            """, inputs);
        foreach (var (n, p) in named) AssertClose(py[n], p, what: n);
        var state = opt.state_dict();
        foreach (var (n, _) in named)
        {
            AssertClose(py[n + ".exp_avg"], state[n + ".exp_avg"], what: n + ".exp_avg");
            AssertClose(py[n + ".exp_avg_sq"], state[n + ".exp_avg_sq"], what: n + ".exp_avg_sq");
            Assert.Equal(steps, state[n + ".step"].item<long>());
        }
        // the update really moved the parameters
        Assert.True(MaxAbsDiff(inputs["fc1.weight"], model.named_parameters().First().parameter) > 1e-2);
    }

    [Fact]
    public void SGD_with_momentum_nesterov_and_weight_decay_matches_torch_optim_SGD()
    {
        using var scope = NewDisposeScope();
        const int steps = 4;
        foreach (var (nesterov, dampening) in new[] { (false, 0.1), (true, 0.0) })
        {
            var inputs = Batches(MlpInit(), steps);
            using var model = new Mlp(inputs);
            using var opt = optim.SGD(model.named_parameters(), lr: 0.1, momentum: 0.9, dampening: dampening, weight_decay: 0.01, nesterov: nesterov);
            for (var i = 0; i < steps; i++)
            {
                using var step = NewDisposeScope();
                opt.zero_grad();
                F.cross_entropy(model.forward(inputs[$"x{i}"]), inputs[$"y{i}"], label_smoothing: 0.1).backward();
                opt.step();
            }
            var py = PyTorch.Run(PyMlp + "\n" + $$"""
                opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, dampening={{dampening}}, weight_decay=0.01, nesterov={{(nesterov ? "True" : "False")}})
                for i in range({{steps}}):
                    opt.zero_grad(); loss_at(i).backward(); opt.step()
                for n, p in m.named_parameters():
                    out[n] = p; out[n + '.momentum_buffer'] = opt.state[p]['momentum_buffer']
                """, inputs);
            var state = opt.state_dict();
            foreach (var (n, p) in model.named_parameters())
            {
                AssertClose(py[n], p, what: $"{n} (nesterov={nesterov})");
                AssertClose(py[n + ".momentum_buffer"], state[n + ".momentum_buffer"], what: n + ".momentum_buffer");
            }
        }
    }

    [Fact]
    public void Optimizer_state_round_trips_through_state_dict_and_continues_identically()
    {
        using var scope = NewDisposeScope();
        var inputs = Batches(MlpInit(), 4);
        using var a = new Mlp(inputs);
        using var b = new Mlp(inputs);
        using var optA = optim.AdamW(a.named_parameters(), lr: 0.01);
        using var optB = optim.AdamW(b.named_parameters(), lr: 0.01);
        void Step(nn.Module<Tensor, Tensor> m, optim.Optimizer o, int i)
        {
            using var s = NewDisposeScope();
            o.zero_grad();
            F.cross_entropy(m.forward(inputs[$"x{i}"]), inputs[$"y{i}"]).backward();
            o.step();
        }
        Step(a, optA, 0); Step(a, optA, 1);
        // checkpoint a's model and optimizer into b through a safetensors file, then both take two more steps
        var dir = Directory.CreateTempSubdirectory("archdsl-opt-").FullName;
        try
        {
            Safetensors.Save(Path.Combine(dir, "model.safetensors"), a.state_dict());
            Safetensors.Save(Path.Combine(dir, "optim.safetensors"), optA.state_dict());
            b.load_state_dict(Safetensors.Load(Path.Combine(dir, "model.safetensors")));
            optB.load_state_dict(Safetensors.Load(Path.Combine(dir, "optim.safetensors")));
        }
        finally { Directory.Delete(dir, true); }
        Step(a, optA, 2); Step(a, optA, 3);
        Step(b, optB, 2); Step(b, optB, 3);
        foreach (var ((n, pa), (_, pb)) in a.named_parameters().Zip(b.named_parameters()))
            Assert.Equal(0.0, MaxAbsDiff(pa, pb));
        Assert.Equal(4L, optB.state_dict()["fc1.weight.step"].item<long>());
    }

    [Fact]
    public void Clip_grad_norm_matches_pytorch_and_returns_the_total_norm()
    {
        using var scope = NewDisposeScope();
        var inputs = Batches(MlpInit(), 1);
        foreach (var (maxNorm, normType) in new[] { (0.5, 2.0), (100.0, 2.0), (0.1, double.PositiveInfinity), (0.3, 1.0) })
        {
            using var model = new Mlp(inputs);
            F.cross_entropy(model.forward(inputs["x0"]), inputs["y0"], label_smoothing: 0.1).backward();
            var total = nn.utils.clip_grad_norm_(model.parameters(), maxNorm, normType);
            var pyNorm = double.IsInfinity(normType) ? "float('inf')" : normType.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var py = PyTorch.Run(PyMlp + "\n" + $$"""
                loss_at(0).backward()
                out['total'] = torch.nn.utils.clip_grad_norm_(m.parameters(), {{maxNorm.ToString(System.Globalization.CultureInfo.InvariantCulture)}}, {{pyNorm}})
                for n, p in m.named_parameters(): out[n] = p.grad
                """, inputs);
            Assert.True(Math.Abs(py["total"].item<double>() - total) <= 1e-5, $"norm {normType}: total {total} vs {py["total"].item<double>()}");
            foreach (var (n, p) in model.named_parameters()) AssertClose(py[n], p.grad!, what: $"{n} grad (max {maxNorm}, p {normType})");
        }
        using var empty = new Mlp(inputs);
        Assert.Equal(0.0, nn.utils.clip_grad_norm_(empty.parameters(), 1.0)); // no gradients yet
    }
}
