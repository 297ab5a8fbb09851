// Over 400 lines on purpose: Parameter, Module and the built-in layers (Linear, Conv2d, norms) with their init,
// as TorchSharp keeps nn.Module and its parameter plumbing together; each layer is a few lines over shared code.
namespace ArchDsl.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>
        /// A trainable tensor: a leaf that requires grad. Made from a tensor by aliasing its data (the
        /// source tensor keeps its own owner). Never owned by a dispose scope: the module (or whoever
        /// holds it) disposes it.
        /// </summary>
        public sealed class Parameter : Tensor
        {
            public Parameter(Tensor data, bool requires_grad = true) : base(Native.ats_detach(data.Handle), scoped: false)
            {
                if (requires_grad) this.requires_grad = true;
            }
        }

        /// <summary>
        /// A module with named parameters, buffers and submodules (PyTorch's naming: <c>blocks.0.weight</c>).
        /// Registered parameters and buffers belong to the module: they are taken out of any dispose scope
        /// and freed by <see cref="Dispose"/>.
        /// </summary>
        public abstract class Module : IDisposable
        {
            readonly List<KeyValuePair<string, Parameter?>> _parameters = new();
            readonly List<(string name, Tensor tensor, bool persistent)> _buffers = new();
            readonly List<KeyValuePair<string, Module>> _modules = new();
            bool _disposed;

            protected Module(string name) => this.name = name;
            public string name { get; }
            public bool training { get; private set; } = true;

            static void CheckName(string name, string what)
            {
                if (string.IsNullOrEmpty(name) || name.Contains('.'))
                    throw new ArgumentException($"{what} name '{name}' must be non-empty and contain no '.'");
            }
            bool Taken(string name) =>
                _parameters.Any(p => p.Key == name) || _buffers.Any(b => b.name == name) || _modules.Any(m => m.Key == name);

            public void register_parameter(string name, Parameter? param)
            {
                CheckName(name, "parameter");
                if (Taken(name)) throw new ArgumentException($"'{name}' is already registered in {this.name}");
                _parameters.Add(new(name, param));
            }

            /// <summary>Registers a buffer (running statistics, ...). The module takes ownership of <paramref name="tensor"/>.</summary>
            public void register_buffer(string name, Tensor tensor, bool persistent = true)
            {
                CheckName(name, "buffer");
                if (Taken(name)) throw new ArgumentException($"'{name}' is already registered in {this.name}");
                tensor.DetachFromDisposeScope();
                _buffers.Add((name, tensor, persistent));
            }

            public void register_module(string name, Module module)
            {
                CheckName(name, "module");
                if (Taken(name)) throw new ArgumentException($"'{name}' is already registered in {this.name}");
                _modules.Add(new(name, module));
            }

            /// <summary>Own parameter by local name (null if registered as null or absent).</summary>
            public Parameter? get_parameter(string name) => _parameters.FirstOrDefault(p => p.Key == name).Value;
            public Tensor? get_buffer(string name) => _buffers.FirstOrDefault(b => b.name == name).tensor;

            /// <summary>Self first, then descendants in registration order, with dotted paths ("" for self).</summary>
            public IEnumerable<(string name, Module module)> named_modules()
            {
                yield return ("", this);
                foreach (var (n, m) in _modules)
                    foreach (var (sub, mod) in m.named_modules())
                        yield return (sub.Length == 0 ? n : n + "." + sub, mod);
            }
            public IEnumerable<(string name, Module module)> named_children() => _modules.Select(m => (m.Key, m.Value));
            public IEnumerable<Module> children() => _modules.Select(m => m.Value);
            public IEnumerable<Module> modules() => named_modules().Select(m => m.module);

            public IEnumerable<(string name, Parameter parameter)> named_parameters(bool recurse = true)
            {
                var seen = new HashSet<Parameter>(ReferenceEqualityComparer.Instance);
                foreach (var (prefix, m) in recurse ? named_modules() : new[] { ("", this) })
                    foreach (var (n, p) in m._parameters)
                        if (p != null && seen.Add(p))
                            yield return (prefix.Length == 0 ? n : prefix + "." + n, p);
            }
            public IEnumerable<Parameter> parameters(bool recurse = true) => named_parameters(recurse).Select(p => p.parameter);

            public IEnumerable<(string name, Tensor buffer)> named_buffers(bool recurse = true, bool include_nonpersistent = true)
            {
                foreach (var (prefix, m) in recurse ? named_modules() : new[] { ("", this) })
                    foreach (var (n, t, persistent) in m._buffers)
                        if (persistent || include_nonpersistent)
                            yield return (prefix.Length == 0 ? n : prefix + "." + n, t);
            }
            public IEnumerable<Tensor> buffers(bool recurse = true) => named_buffers(recurse).Select(b => b.buffer);

            public Module train(bool on = true)
            {
                foreach (var m in modules()) m.training = on;
                return this;
            }
            public Module eval() => train(false);

            /// <summary>Moves every parameter and buffer to <paramref name="device"/> in place (the Parameter objects stay the same).</summary>
            public Module to(Device device)
            {
                foreach (var p in parameters()) Native.Check(Native.ats_set_data_to(p.Handle, device.ToString(), -1));
                foreach (var b in buffers()) Native.Check(Native.ats_set_data_to(b.Handle, device.ToString(), -1));
                return this;
            }
            public Module to(string device) => to(Device.Parse(device));
            /// <summary>
            /// Lays every 4-D parameter and buffer out in <paramref name="format"/> in place (as PyTorch's
            /// <c>module.to(memory_format=...)</c>: other ranks are left alone; the Parameter objects stay the same).
            /// </summary>
            public Module to(memory_format format)
            {
                foreach (var t in parameters().Cast<Tensor>().Concat(buffers()))
                    if (t.dim() == 4) Native.Check(Native.ats_set_data_memory_format(t.Handle, (int)format));
                return this;
            }

            /// <summary>Converts floating-point parameters and buffers to <paramref name="dtype"/> in place.</summary>
            public Module to(ScalarType dtype)
            {
                foreach (var t in parameters().Cast<Tensor>().Concat(buffers()))
                    if (IsFloating(t.dtype)) Native.Check(Native.ats_set_data_to(t.Handle, t.device.ToString(), (int)dtype));
                return this;
            }

            /// <summary>Drops (set_to_none, the default) or zeroes every parameter's gradient.</summary>
            public unsafe void zero_grad(bool set_to_none = true)
            {
                var hs = parameters().Select(p => p.Handle).ToArray();
                fixed (IntPtr* p = hs)
                    Native.Check(set_to_none ? Native.ats_clear_grads(p, hs.Length) : Native.ats_zero_grads(p, hs.Length));
            }

            /// <summary>Parameters and persistent buffers by full name. The tensors are the module's own: do not dispose them.</summary>
            public Dictionary<string, Tensor> state_dict()
            {
                var d = new Dictionary<string, Tensor>();
                foreach (var (n, p) in named_parameters()) d[n] = p;
                foreach (var (n, b) in named_buffers(include_nonpersistent: false)) d[n] = b;
                return d;
            }

            /// <summary>Copies values into the module's tensors. Strict: every key must match and every tensor be present.</summary>
            public (IList<string> missing, IList<string> unexpected) load_state_dict(IReadOnlyDictionary<string, Tensor> source, bool strict = true)
            {
                var own = state_dict();
                var missing = own.Keys.Where(k => !source.ContainsKey(k)).ToList();
                var unexpected = source.Keys.Where(k => !own.ContainsKey(k)).ToList();
                if (strict && (missing.Count > 0 || unexpected.Count > 0))
                    throw new ArgumentException($"load_state_dict({name}): missing [{string.Join(", ", missing)}], unexpected [{string.Join(", ", unexpected)}]");
                using (no_grad())
                {
                    foreach (var (k, dst) in own)
                    {
                        if (!source.TryGetValue(k, out var src)) continue;
                        if (!dst.shape.SequenceEqual(src.shape))
                            throw new ArgumentException($"load_state_dict({name}): '{k}' has shape [{string.Join(", ", src.shape)}], the module expects [{string.Join(", ", dst.shape)}]");
                        dst.copy_(src);
                    }
                }
                return (missing, unexpected);
            }

            public virtual void Dispose()
            {
                if (_disposed) return;
                _disposed = true;
                foreach (var (_, m) in _modules) m.Dispose();
                foreach (var (_, p) in _parameters) p?.Dispose();
                foreach (var (_, t, _) in _buffers) t.Dispose();
                GC.SuppressFinalize(this);
            }
        }

        public abstract class Module<T, TResult> : Module
        {
            protected Module(string name) : base(name) { }
            public abstract TResult forward(T input);
            public TResult call(T input) => forward(input);
        }

        // ---- standard layers (PyTorch's parameter names and default initialization) ------------------

        public sealed class Linear : Module<Tensor, Tensor>
        {
            public Parameter weight => get_parameter("weight")!;
            public Parameter? bias => get_parameter("bias");
            public Linear(long in_features, long out_features, bool hasBias = true, Device? device = null) : base("Linear")
            {
                using var scope = NewDisposeScope();
                register_parameter("weight", new Parameter(empty(new[] { out_features, in_features }, device: device)));
                if (hasBias) register_parameter("bias", new Parameter(empty(new[] { out_features }, device: device)));
                init.layer_default_(weight, bias);
            }
            public override Tensor forward(Tensor x) => functional.linear(x, weight, bias);
        }

        public sealed class Conv2d : Module<Tensor, Tensor>
        {
            readonly long[] _stride, _padding, _dilation;
            readonly Padding? _mode;
            public long groups { get; }
            public Parameter weight => get_parameter("weight")!;
            public Parameter? bias => get_parameter("bias");

            public Conv2d(long in_channels, long out_channels, long kernelSize, long stride = 1, long padding = 0, long dilation = 1,
                long groups = 1, bool bias = true, Device? device = null)
                : this(in_channels, out_channels, kernelSize, stride, padding, null, dilation, groups, bias, device) { }

            public Conv2d(long in_channels, long out_channels, long kernelSize, Padding padding, long stride = 1, long dilation = 1,
                long groups = 1, bool bias = true, Device? device = null)
                : this(in_channels, out_channels, kernelSize, stride, 0, padding, dilation, groups, bias, device) { }

            Conv2d(long cin, long cout, long k, long stride, long padding, Padding? mode, long dilation, long groups, bool hasBias, Device? device)
                : base("Conv2d")
            {
                if (cin % groups != 0 || cout % groups != 0)
                    throw new ArgumentException($"Conv2d: groups {groups} must divide in_channels {cin} and out_channels {cout}");
                _stride = new[] { stride, stride }; _padding = new[] { padding, padding }; _dilation = new[] { dilation, dilation };
                _mode = mode; this.groups = groups;
                using var scope = NewDisposeScope();
                register_parameter("weight", new Parameter(empty(new[] { cout, cin / groups, k, k }, device: device)));
                if (hasBias) register_parameter("bias", new Parameter(empty(new[] { cout }, device: device)));
                init.layer_default_(weight, bias);
            }
            public override Tensor forward(Tensor x) => _mode is { } m
                ? functional.conv2d(x, weight, bias, _stride, m, _dilation, groups)
                : functional.conv2d(x, weight, bias, _stride, _padding, _dilation, groups);
        }

        /// <summary>Batch normalization over dim 1 of [B, C, ...] (BatchNorm1d/2d in PyTorch); counts num_batches_tracked.</summary>
        public class BatchNorm : Module<Tensor, Tensor>
        {
            public double eps { get; }
            public double momentum { get; }
            public Parameter? weight => get_parameter("weight");
            public Parameter? bias => get_parameter("bias");
            public Tensor? running_mean => get_buffer("running_mean");
            public Tensor? running_var => get_buffer("running_var");
            public Tensor? num_batches_tracked => get_buffer("num_batches_tracked");

            public BatchNorm(long num_features, double eps = 1e-5, double momentum = 0.1, bool affine = true,
                bool track_running_stats = true, Device? device = null, string name = "BatchNorm") : base(name)
            {
                this.eps = eps; this.momentum = momentum;
                using var scope = NewDisposeScope();
                if (affine)
                {
                    register_parameter("weight", new Parameter(ones(new[] { num_features }, device: device)));
                    register_parameter("bias", new Parameter(zeros(new[] { num_features }, device: device)));
                }
                if (track_running_stats)
                {
                    register_buffer("running_mean", zeros(new[] { num_features }, device: device));
                    register_buffer("running_var", ones(new[] { num_features }, device: device));
                    register_buffer("num_batches_tracked", zeros(Array.Empty<long>(), ScalarType.Int64, device));
                }
            }
            public override Tensor forward(Tensor x)
            {
                var useBatchStats = training || running_mean == null;
                if (training && num_batches_tracked is { } n)
                    using (no_grad()) n.add_(1L);
                return functional.batch_norm(x, running_mean, running_var, weight, bias,
                    useBatchStats, momentum, eps);
            }
        }
        public sealed class BatchNorm2d : BatchNorm
        {
            public BatchNorm2d(long num_features, double eps = 1e-5, double momentum = 0.1, bool affine = true,
                bool track_running_stats = true, Device? device = null)
                : base(num_features, eps, momentum, affine, track_running_stats, device, "BatchNorm2d") { }
        }
        public sealed class BatchNorm1d : BatchNorm
        {
            public BatchNorm1d(long num_features, double eps = 1e-5, double momentum = 0.1, bool affine = true,
                bool track_running_stats = true, Device? device = null)
                : base(num_features, eps, momentum, affine, track_running_stats, device, "BatchNorm1d") { }
        }

        public sealed class LayerNorm : Module<Tensor, Tensor>
        {
            readonly long[] _shape;
            public double eps { get; }
            public Parameter? weight => get_parameter("weight");
            public Parameter? bias => get_parameter("bias");
            public LayerNorm(long[] normalized_shape, double eps = 1e-5, bool elementwise_affine = true, Device? device = null) : base("LayerNorm")
            {
                _shape = normalized_shape; this.eps = eps;
                using var scope = NewDisposeScope();
                if (elementwise_affine)
                {
                    register_parameter("weight", new Parameter(ones(normalized_shape, device: device)));
                    register_parameter("bias", new Parameter(zeros(normalized_shape, device: device)));
                }
            }
            public LayerNorm(long normalized_shape, double eps = 1e-5, bool elementwise_affine = true, Device? device = null)
                : this(new[] { normalized_shape }, eps, elementwise_affine, device) { }
            public override Tensor forward(Tensor x) => functional.layer_norm(x, _shape, weight, bias, eps);
        }

        public sealed class Dropout : Module<Tensor, Tensor>
        {
            public double p { get; }
            public Dropout(double p = 0.5) : base("Dropout") => this.p = p;
            public override Tensor forward(Tensor x) => functional.dropout(x, p, training);
        }

        /// <summary>Runs its modules in order; they are registered under their given names (or 0, 1, ...).</summary>
        public sealed class Sequential : Module<Tensor, Tensor>
        {
            readonly List<Module<Tensor, Tensor>> _layers = new();
            public Sequential(params Module<Tensor, Tensor>[] layers) : base("Sequential")
            {
                for (var i = 0; i < layers.Length; i++) Add(i.ToString(), layers[i]);
            }
            public Sequential(params (string name, Module<Tensor, Tensor> module)[] layers) : base("Sequential")
            {
                foreach (var (n, m) in layers) Add(n, m);
            }
            void Add(string n, Module<Tensor, Tensor> m)
            {
                register_module(n, m);
                _layers.Add(m);
            }
            /// <summary>Intermediate results are disposed as soon as the next layer has consumed them.</summary>
            public override Tensor forward(Tensor x)
            {
                var cur = x;
                foreach (var layer in _layers)
                {
                    var next = layer.forward(cur);
                    if (!ReferenceEquals(cur, x) && !ReferenceEquals(cur, next)) cur.Dispose();
                    cur = next;
                }
                return cur;
            }
        }

        /// <summary>In-place initializers (run without autograd), as torch.nn.init.</summary>
        public static class init
        {
            static (long fanIn, long fanOut) Fans(Tensor t)
            {
                var s = t.shape;
                if (s.Length < 2) throw new ArgumentException("fan in/out need a tensor with at least 2 dims");
                var receptive = s.Skip(2).Aggregate(1L, (a, b) => a * b);
                return (s[1] * receptive, s[0] * receptive);
            }
            static double Gain(string nonlinearity, double a) => nonlinearity switch
            {
                "relu" => Math.Sqrt(2),
                "leaky_relu" => Math.Sqrt(2 / (1 + a * a)),
                "tanh" => 5.0 / 3,
                "linear" or "sigmoid" or "conv2d" => 1,
                _ => throw new ArgumentException($"unknown nonlinearity {nonlinearity}"),
            };
            public static Tensor uniform_(Tensor t, double a = 0, double b = 1) { using (no_grad()) return t.uniform_(a, b); }
            /// <summary>
            /// PyTorch's default initialisation of Linear and Conv2d (their <c>reset_parameters</c>): weight
            /// <c>kaiming_uniform_(a=√5)</c>, i.e. U(±1/√fan_in), then bias U(±1/√fan_in), fan_in = the product of the
            /// weight's dims after the first. The weight is drawn first, so one seed gives PyTorch's values order.
            /// </summary>
            public static void layer_default_(Tensor weight, Tensor? bias)
            {
                kaiming_uniform_(weight, Math.Sqrt(5));
                if (bias is null) return;
                var fanIn = weight.shape.Skip(1).Aggregate(1L, (x, y) => x * y);
                var bound = fanIn > 0 ? 1 / Math.Sqrt(fanIn) : 0;
                uniform_(bias, -bound, bound);
            }
            public static Tensor normal_(Tensor t, double mean = 0, double std = 1) { using (no_grad()) return t.normal_(mean, std); }
            public static Tensor constant_(Tensor t, double v) { using (no_grad()) return t.fill_(v); }
            public static Tensor zeros_(Tensor t) { using (no_grad()) return t.zero_(); }
            public static Tensor ones_(Tensor t) { using (no_grad()) return t.fill_(1.0); }
            public static Tensor kaiming_uniform_(Tensor t, double a = 0, bool fan_in = true, string nonlinearity = "leaky_relu")
            {
                var (fi, fo) = Fans(t);
                var bound = Math.Sqrt(3.0) * Gain(nonlinearity, a) / Math.Sqrt(fan_in ? fi : fo);
                return uniform_(t, -bound, bound);
            }
            public static Tensor kaiming_normal_(Tensor t, double a = 0, bool fan_in = true, string nonlinearity = "leaky_relu")
            {
                var (fi, fo) = Fans(t);
                return normal_(t, 0, Gain(nonlinearity, a) / Math.Sqrt(fan_in ? fi : fo));
            }
            public static Tensor xavier_uniform_(Tensor t, double gain = 1)
            {
                var (fi, fo) = Fans(t);
                var bound = gain * Math.Sqrt(6.0 / (fi + fo));
                return uniform_(t, -bound, bound);
            }
            /// <summary>Normal(mean, std) truncated to [a, b] by inverse-CDF sampling (as PyTorch's trunc_normal_).</summary>
            public static Tensor trunc_normal_(Tensor t, double mean = 0, double std = 1, double a = -2, double b = 2)
            {
                using (no_grad())
                {
                    var l = NormCdf((a - mean) / std);
                    var u = NormCdf((b - mean) / std);
                    t.uniform_(2 * l - 1, 2 * u - 1).erfinv_().mul_(std * Math.Sqrt(2)).add_(mean).clamp_(a, b);
                    return t;
                }
            }
            static double NormCdf(double x)
            {
                using var v = tensor(new[] { x / Math.Sqrt(2) }).DetachFromDisposeScope();
                using var e = v.erf().DetachFromDisposeScope();
                return (1 + e.item<double>()) / 2;
            }
        }

        public static class utils
        {
            /// <summary>Scales gradients so their total <paramref name="norm_type"/>-norm is at most max_norm; returns the norm before clipping.</summary>
            public static unsafe double clip_grad_norm_(IEnumerable<Tensor> parameters, double max_norm, double norm_type = 2.0)
            {
                var hs = parameters.Select(p => p.Handle).ToArray();
                double total;
                fixed (IntPtr* p = hs) Native.Check(Native.ats_clip_grad_norm_(p, hs.Length, max_norm, norm_type, out total));
                return total;
            }
        }
    }
}
