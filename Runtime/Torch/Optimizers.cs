// The optimizer classes live here, as in TorchSharp (TorchSharp.Modules.AdamW), so that torch.optim.AdamW(...) can be the factory.
namespace ArchDsl.Torch.Modules;

using static ArchDsl.Torch.torch;

/// <summary>AdamW (decoupled weight decay), the same update as torch.optim.AdamW.</summary>
public sealed class AdamW : torch.optim.Optimizer
{
    /// <summary>β1, settable between steps (one-cycle schedules cycle it, as PyTorch's OneCycleLR does through param_groups).</summary>
    public double beta1
    {
        get => _beta1;
        set => _beta1 = value is >= 0 and < 1 ? value : throw new ArgumentException($"AdamW: beta1 must be in [0, 1), got {value}");
    }
    private double _beta1;
    public double beta2 { get; }
    public double eps { get; }
    public double weight_decay { get; }
    public bool amsgrad { get; }
    public bool maximize { get; }

    public AdamW(IEnumerable<torch.optim.ParamGroup> groups, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
        double weight_decay = 1e-2, bool amsgrad = false, bool maximize = false) : base(groups, lr)
    {
        if (lr < 0 || eps < 0 || beta1 is < 0 or >= 1 || beta2 is < 0 or >= 1 || weight_decay < 0)
            throw new ArgumentException($"AdamW: invalid hyperparameters lr={lr} betas=({beta1}, {beta2}) eps={eps} weight_decay={weight_decay}");
        _beta1 = beta1; this.beta2 = beta2; this.eps = eps; this.weight_decay = weight_decay;
        this.amsgrad = amsgrad; this.maximize = maximize;
    }

    public override void step()
    {
        foreach (var (key, p, g) in Entries)
        {
            if (!HasGrad(p)) continue;
            var expAvg = GetState(key, "exp_avg") ?? NewState(key, "exp_avg", p);
            var expAvgSq = GetState(key, "exp_avg_sq") ?? NewState(key, "exp_avg_sq", p);
            var maxSq = amsgrad ? GetState(key, "max_exp_avg_sq") ?? NewState(key, "max_exp_avg_sq", p) : null;
            var step = Steps[key] = Steps.GetValueOrDefault(key) + 1;
            Native.Check(Native.ats_adamw_update(p.Handle, expAvg.Handle, expAvgSq.Handle, maxSq?.Handle ?? IntPtr.Zero, step,
                lr * (g.LrScale ?? 1), beta1, beta2, eps, g.WeightDecay ?? weight_decay, maximize ? 1 : 0));
        }
    }
}

/// <summary>SGD with optional momentum / dampening / Nesterov and L2 weight decay, as torch.optim.SGD.</summary>
public sealed class SGD : torch.optim.Optimizer
{
    /// <summary>Momentum, settable between steps (one-cycle schedules cycle it, as PyTorch's OneCycleLR does).</summary>
    public double momentum
    {
        get => _momentum;
        set => _momentum = value >= 0 ? value : throw new ArgumentException($"SGD: momentum must be >= 0, got {value}");
    }
    private double _momentum;
    public double dampening { get; }
    public double weight_decay { get; }
    public bool nesterov { get; }
    public bool maximize { get; }

    public SGD(IEnumerable<torch.optim.ParamGroup> groups, double lr, double momentum = 0, double dampening = 0, double weight_decay = 0,
        bool nesterov = false, bool maximize = false) : base(groups, lr)
    {
        if (nesterov && (momentum <= 0 || dampening != 0))
            throw new ArgumentException("SGD: Nesterov momentum requires a momentum and zero dampening");
        _momentum = momentum; this.dampening = dampening; this.weight_decay = weight_decay;
        this.nesterov = nesterov; this.maximize = maximize;
    }

    public override void step()
    {
        foreach (var (key, p, g) in Entries)
        {
            if (!HasGrad(p)) continue;
            var buf = GetState(key, "momentum_buffer");
            Native.Check(Native.ats_sgd_update(p.Handle, buf?.Handle ?? IntPtr.Zero, out var created, lr * (g.LrScale ?? 1), momentum,
                dampening, g.WeightDecay ?? weight_decay, nesterov ? 1 : 0, maximize ? 1 : 0));
            if (created != IntPtr.Zero) SetState(key, "momentum_buffer", new Tensor(created, scoped: false));
            Steps[key] = Steps.GetValueOrDefault(key) + 1;
        }
    }
}
