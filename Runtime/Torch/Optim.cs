using ArchDsl.Torch.Modules;

namespace ArchDsl.Torch;

public static partial class torch
{
    public static partial class optim
    {
        /// <summary>A group of parameters sharing hyperparameters; null fields take the optimizer's defaults.</summary>
        public sealed class ParamGroup
        {
            public ParamGroup(IEnumerable<(string name, nn.Parameter parameter)> parameters, double? weight_decay = null, double? lr_scale = null)
            {
                Parameters = parameters.ToList();
                WeightDecay = weight_decay;
                LrScale = lr_scale;
            }
            public ParamGroup(IEnumerable<nn.Parameter> parameters, double? weight_decay = null, double? lr_scale = null)
                : this(parameters.Select((p, i) => ($"{i}", p)), weight_decay, lr_scale) { }
            public IReadOnlyList<(string name, nn.Parameter parameter)> Parameters { get; }
            public double? WeightDecay { get; }
            /// <summary>This group's learning rate is <c>lr * LrScale</c> (default 1).</summary>
            public double? LrScale { get; }
        }

        /// <summary>
        /// Base of the optimizers. The learning rate is set by the caller each step (schedules live outside).
        /// Optimizer state tensors are created lazily, belong to the optimizer (never to a dispose scope),
        /// and are freed by <see cref="Dispose"/>. State is exported and imported as named tensors
        /// (<c>&lt;parameter name&gt;.&lt;state&gt;</c>, with <c>.step</c> an int64 scalar) for checkpoints.
        /// </summary>
        public abstract class Optimizer : IDisposable
        {
            protected readonly List<ParamGroup> Groups;
            protected readonly List<(string key, nn.Parameter p, ParamGroup g)> Entries = new();
            // per parameter key: state name → tensor
            protected readonly Dictionary<string, Dictionary<string, Tensor>> State = new();
            protected readonly Dictionary<string, long> Steps = new();

            protected Optimizer(IEnumerable<ParamGroup> groups, double lr)
            {
                Groups = groups.ToList();
                this.lr = lr;
                var keys = new HashSet<string>();
                for (var gi = 0; gi < Groups.Count; gi++)
                    foreach (var (name, p) in Groups[gi].Parameters)
                    {
                        // Unnamed parameters are numbered within their group; make keys unique across groups.
                        var key = Groups.Count > 1 && int.TryParse(name, out _) ? $"{gi}.{name}" : name;
                        if (!keys.Add(key)) throw new ArgumentException($"optimizer: parameter '{key}' appears twice");
                        Entries.Add((key, p, Groups[gi]));
                    }
            }

            /// <summary>The base learning rate (each group uses lr × its LrScale).</summary>
            public double lr { get; set; }

            public IEnumerable<nn.Parameter> parameters() => Entries.Select(e => e.p);

            public abstract void step();

            public unsafe void zero_grad(bool set_to_none = true)
            {
                var hs = Entries.Select(e => e.p.Handle).ToArray();
                fixed (IntPtr* p = hs)
                    Native.Check(set_to_none ? Native.ats_clear_grads(p, hs.Length) : Native.ats_zero_grads(p, hs.Length));
            }

            protected static bool HasGrad(nn.Parameter p)
            {
                var h = Native.CheckNullable(Native.ats_grad(p.Handle));
                if (h == IntPtr.Zero) return false;
                Native.ats_free(h);
                return true;
            }

            protected Tensor? GetState(string key, string name) =>
                State.TryGetValue(key, out var s) && s.TryGetValue(name, out var t) ? t : null;

            protected Tensor NewState(string key, string name, Tensor like, bool zero = true)
            {
                var t = (zero ? zeros_like(like) : empty_like(like)).DetachFromDisposeScope();
                SetState(key, name, t);
                return t;
            }

            protected void SetState(string key, string name, Tensor t)
            {
                t.DetachFromDisposeScope();
                if (!State.TryGetValue(key, out var s)) State[key] = s = new Dictionary<string, Tensor>();
                if (s.TryGetValue(name, out var old) && !ReferenceEquals(old, t)) old.Dispose();
                s[name] = t;
            }

            /// <summary>
            /// Copies of the state as named tensors (<c>param.exp_avg</c>, <c>param.step</c>, ...). The copies are
            /// new tensors owned by the caller (or the current dispose scope).
            /// </summary>
            public Dictionary<string, Tensor> state_dict()
            {
                var d = new Dictionary<string, Tensor>();
                foreach (var (key, states) in State)
                    foreach (var (n, t) in states)
                        d[$"{key}.{n}"] = t.detach().clone();
                foreach (var (key, s) in Steps) d[$"{key}.step"] = tensor(s);
                return d;
            }

            /// <summary>Replaces the state with copies of <paramref name="source"/> (as written by <see cref="state_dict"/>).</summary>
            public void load_state_dict(IReadOnlyDictionary<string, Tensor> source)
            {
                var byKey = Entries.ToDictionary(e => e.key, e => e.p);
                foreach (var states in State.Values)
                    foreach (var t in states.Values) t.Dispose();
                State.Clear();
                Steps.Clear();
                foreach (var (full, t) in source)
                {
                    var key = byKey.Keys.Where(k => full.StartsWith(k + ".", StringComparison.Ordinal)).OrderByDescending(k => k.Length).FirstOrDefault()
                        ?? throw new ArgumentException($"optimizer state '{full}' names no parameter of this optimizer");
                    var name = full[(key.Length + 1)..];
                    if (name == "step") { Steps[key] = t.item<long>(); continue; }
                    var p = byKey[key];
                    if (!t.shape.SequenceEqual(p.shape))
                        throw new ArgumentException($"optimizer state '{full}' has shape [{string.Join(", ", t.shape)}], parameter [{string.Join(", ", p.shape)}]");
                    using var onDevice = t.to(p.device).DetachFromDisposeScope();
                    using var typed = onDevice.to(p.dtype).DetachFromDisposeScope();
                    SetState(key, name, typed.clone());
                }
            }

            public virtual void Dispose()
            {
                foreach (var states in State.Values)
                    foreach (var t in states.Values) t.Dispose();
                State.Clear();
                GC.SuppressFinalize(this);
            }
        }

        public static AdamW AdamW(IEnumerable<nn.Parameter> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
            double eps = 1e-8, double weight_decay = 1e-2, bool amsgrad = false, bool maximize = false) =>
            new(new[] { new ParamGroup(parameters) }, lr, beta1, beta2, eps, weight_decay, amsgrad, maximize);
        public static AdamW AdamW(IEnumerable<(string name, nn.Parameter parameter)> named, double lr = 1e-3, double beta1 = 0.9,
            double beta2 = 0.999, double eps = 1e-8, double weight_decay = 1e-2, bool amsgrad = false, bool maximize = false) =>
            new(new[] { new ParamGroup(named) }, lr, beta1, beta2, eps, weight_decay, amsgrad, maximize);
        public static SGD SGD(IEnumerable<nn.Parameter> parameters, double lr, double momentum = 0, double dampening = 0,
            double weight_decay = 0, bool nesterov = false, bool maximize = false) =>
            new(new[] { new ParamGroup(parameters) }, lr, momentum, dampening, weight_decay, nesterov, maximize);
        public static SGD SGD(IEnumerable<(string name, nn.Parameter parameter)> named, double lr, double momentum = 0, double dampening = 0,
            double weight_decay = 0, bool nesterov = false, bool maximize = false) =>
            new(new[] { new ParamGroup(named) }, lr, momentum, dampening, weight_decay, nesterov, maximize);
    }
}
