using ArchDsl.Compiler;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Model;

/// <summary>
/// A torch module built from an <see cref="IrGraph"/>: one set of parameters and buffers per IR node, named
/// exactly as the IR names them (<c>&lt;node.Name&gt;.&lt;tensor name&gt;</c>, e.g. <c>blocks.0.token.0.weight</c>,
/// <c>blocks.2.token.0.qkv.bias</c>, <c>stem.2.running_mean</c>) with exactly the IR's shapes. The forward pass
/// runs the nodes in graph order over a batch <c>[B, ...per-sample shape]</c>.
/// <para><b>Module tree.</b> Each dot-separated segment of a node name is a (parameter-less) submodule, so
/// <see cref="torch.nn.Module.named_parameters"/> and <see cref="torch.nn.Module.state_dict"/> yield the IR names; nodes
/// without tensors get no module. Parameters are float32; <c>num_batches_tracked</c> is int64 (as in PyTorch).</para>
/// <para><b>Initialisation</b> is deterministic from <c>seed</c> (libtorch's global generator is seeded, then
/// nodes are initialised in graph order on the CPU; moving to another device afterwards keeps the values):
/// conv2d and linear (including attention's <c>qkv</c> and <c>proj</c>) as PyTorch's <c>Conv2d</c>/<c>Linear</c>
/// defaults — weight <c>kaiming_uniform_(a=√5)</c>, bias <c>U(-1/√fan_in, 1/√fan_in)</c>; batchnorm and layernorm
/// weight 1, bias 0, running mean 0, running var 1; <c>cls_token.token</c> and <c>pos_embed.weight</c>
/// <c>trunc_normal_(std=0.02, a=-2, b=2)</c> as timm's (original) ViT/DeiT initialisation. Each op's rule is its module's
/// <c>Init</c> (Ops/).</para>
/// <para><b>Weights interchange</b>: <see cref="SaveWeights"/> writes every parameter and buffer under its IR name to
/// a safetensors file (metadata <c>archdsl.arch</c>, <c>archdsl.format</c> = <see cref="WeightsFormat"/>);
/// <see cref="LoadWeights"/> checks names, shapes and dtypes and reports every mismatch at once.</para>
/// </summary>
public sealed partial class IrModel : nn.Module<Tensor, Tensor>
{
    /// <summary>The value of the <c>archdsl.format</c> metadata key in weight files.</summary>
    public const string WeightsFormat = "archdsl-ir-weights/1";

    readonly NodeKernel?[] _kernels;
    readonly bool[]?[] _narrow;
    readonly AmpPolicy?[] _amp;
    readonly int[][] _inputs;
    readonly List<int>[] _freeAfter;
    readonly long[] _inputDims;

    public IrGraph Graph { get; }

    /// <summary>The nodes that compute the class token alone, in graph order (<see cref="FirstTokenPlan"/>; empty when none).</summary>
    public IReadOnlyList<string> FirstTokenNodes { get; } = [];

    /// <summary>The batch-norm nodes that also apply the exact GELU before them, fused (<see cref="GeluBatchNormFusion"/>; empty when none).</summary>
    public IReadOnlyList<string> GeluBatchNormNodes { get; } = [];

    /// <summary>The residual adds that compute the fused batch norm before them, the sum in its kernel (<see cref="GeluBatchNormFusion"/>; empty when none).</summary>
    public IReadOnlyList<string> GeluBatchNormAddNodes { get; } = [];

    /// <summary>The GELU nodes that add the bias of the linear before them, fused (<see cref="LinearGeluFusion"/>; empty when none).</summary>
    public IReadOnlyList<string> LinearGeluNodes { get; } = [];

    /// <summary>
    /// How image values (and conv weights) are laid out: <see cref="memory_format.ChannelsLast"/> for graphs with a
    /// convolution, else contiguous (see <see cref="PreferredMemoryFormat"/>). Shapes, names, values and weight files
    /// are the same either way; only speed differs.
    /// </summary>
    public memory_format MemoryFormat { get; }

    /// <summary>
    /// Channels-last for any graph with a <c>conv2d</c>: oneDNN's CPU convolutions run in NHWC, so contiguous NCHW
    /// values are reordered inside every convolution and its backward. Measured on the default ConvMixer (2 CPU
    /// threads, batch 128, PyTorch 1.13 eager, same libtorch): a training step takes 649 ms contiguous and 451 ms
    /// channels-last (with activations applied to the NHWC view, as NodeKernel does). Graphs without convolutions gain nothing.
    /// </summary>
    public static memory_format PreferredMemoryFormat(IrGraph graph) =>
        graph.Nodes.Any(n => OpCatalog.IdOf(n.Op) == OpId.Conv2d) ? memory_format.ChannelsLast : memory_format.Contiguous;

    /// <summary>
    /// Builds the module, initialised from <paramref name="seed"/>, then moved to <paramref name="device"/> (default CPU)
    /// and laid out in <paramref name="format"/> (default: <see cref="PreferredMemoryFormat"/>).
    /// </summary>
    public IrModel(IrGraph graph, long seed = 0, Device? device = null, memory_format? format = null)
        : this(graph, seed, device, format, firstToken: true) { }

    /// <param name="firstToken">whether nodes whose value is read only at the class token compute that token alone
    /// (<see cref="FirstTokenPlan"/>); false computes every token of every node, as the graph is written</param>
    /// <param name="fuse">whether a batch norm takes in the exact GELU before it (<see cref="GeluBatchNormFusion"/>) and a GELU the
    /// bias of the linear before it (<see cref="LinearGeluFusion"/>); false runs each node's own kernel</param>
    internal IrModel(IrGraph graph, long seed, Device? device, memory_format? format, bool firstToken, bool fuse = true) : base("IrModel")
    {
        Graph = graph ?? throw new ArgumentNullException(nameof(graph));
        MemoryFormat = format ?? PreferredMemoryFormat(graph);
        if (MemoryFormat is not (memory_format.Contiguous or memory_format.ChannelsLast))
            throw new ArgumentException($"memory format {MemoryFormat} is not one a model can run in (Contiguous or ChannelsLast)", nameof(format));
        NativeHeap.Configure(); // once per process: no per-step unmapping and re-faulting of libtorch's buffers
        var nodes = graph.Nodes;
        for (var i = 0; i < nodes.Count; i++)
        {
            if (nodes[i].Id != i) throw new ArgumentException($"IR node '{nodes[i].Name}' has id {nodes[i].Id} at position {i}; ids must be positions");
            foreach (var j in nodes[i].Inputs)
                if (j < 0 || j >= i) throw new ArgumentException($"IR node '{nodes[i].Name}' reads node {j}, which does not precede it");
        }
        if (graph.Output < 0 || graph.Output >= nodes.Count) throw new ArgumentException($"IR output {graph.Output} is not a node");

        _inputDims = graph.Input.Dims.Select(d => (long)d).ToArray();
        _kernels = new NodeKernel?[nodes.Count];
        var modules = new OpModule?[nodes.Count];
        _amp = new AmpPolicy?[nodes.Count];
        _inputs = nodes.Select(n => n.Inputs.ToArray()).ToArray();

        // An intermediate value is freed (its handle; autograd keeps what backward needs) right after its last reader.
        var lastUse = new int[nodes.Count];
        for (var i = 0; i < nodes.Count; i++)
            foreach (var j in nodes[i].Inputs) lastUse[j] = Math.Max(lastUse[j], i);
        _freeAfter = new List<int>[nodes.Count];
        for (var i = 0; i < nodes.Count; i++) _freeAfter[i] = new List<int>();
        for (var j = 0; j < nodes.Count; j++)
            if (j != graph.Output && nodes[j].Op != OpCatalog.InputOp && lastUse[j] > j) _freeAfter[lastUse[j]].Add(j);

        using (NewDisposeScope())
        {
            manual_seed(seed);
            var scopes = new Dictionary<string, nn.Module>(StringComparer.Ordinal) { [""] = this };
            foreach (var node in nodes)
            {
                var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
                foreach (var spec in node.Params)
                {
                    var p = new nn.Parameter(empty(spec.Shape.ToArray()));
                    Register(scopes, node, spec.Name, p, isParam: true);
                    tensors[spec.Name] = p;
                }
                foreach (var spec in node.Buffers)
                {
                    var b = spec.Name == "num_batches_tracked"
                        ? zeros(spec.Shape.ToArray(), ScalarType.Int64)
                        : zeros(spec.Shape.ToArray());
                    Register(scopes, node, spec.Name, b, isParam: false);
                    tensors[spec.Name] = b;
                }
                // The op's module (Ops/) initialises its tensors and makes its kernel; the input node has none.
                if (OpModules.For(node) is { } module)
                {
                    modules[node.Id] = module;
                    var view = OpModules.Tensors(node, tensors);
                    module.Init(view);
                    _kernels[node.Id] = module.Create(view);
                    _amp[node.Id] = module.Amp(view);
                }
            }
        }
        _narrow = new bool[]?[nodes.Count];
        if (firstToken)
        {
            var plan = FirstTokenPlan.Make(graph, modules, _kernels);
            _narrow = plan.Narrow;
            for (var i = 0; i < nodes.Count; i++)
                if (plan.FirstOnly[i] && _kernels[i] is IFirstTokenKernel whole) _kernels[i] = whole.FirstTokenOnly();
            FirstTokenNodes = nodes.Where(n => plan.FirstOnly[n.Id]).Select(n => n.Name).ToArray();
        }
        var firstOnly = FirstTokenNodes.ToHashSet(StringComparer.Ordinal);
        if (fuse) (GeluBatchNormNodes, GeluBatchNormAddNodes) = GeluBatchNormFusion.Apply(graph, _kernels, i => firstOnly.Contains(nodes[i].Name));
        if (fuse) LinearGeluNodes = LinearGeluFusion.Apply(graph, _kernels); // after it: a GELU a batch norm took in is no GELU node now
        if (device is not null && device.type != DeviceType.CPU) base.to(device);
        if (MemoryFormat == memory_format.ChannelsLast) base.to(memory_format.ChannelsLast);
    }

    /// <summary>Registers a node's tensor under <c>node.Name + "." + local</c>, creating one submodule per path segment.</summary>
    void Register(Dictionary<string, nn.Module> scopes, IrNode node, string local, Tensor t, bool isParam)
    {
        var full = node.Name + "." + local;
        var parts = full.Split('.');
        if (parts.Any(string.IsNullOrEmpty)) throw new ArgumentException($"IR tensor name '{full}' has an empty segment");
        nn.Module owner = this;
        var path = "";
        for (var i = 0; i < parts.Length - 1; i++)
        {
            path = path.Length == 0 ? parts[i] : path + "." + parts[i];
            if (!scopes.TryGetValue(path, out var next))
            {
                next = new Scope(path);
                try { owner.register_module(parts[i], next); }
                catch (ArgumentException e) { throw new ArgumentException($"IR names clash: cannot make '{path}' a module ({e.Message})", e); }
                scopes[path] = next;
            }
            owner = next;
        }
        try
        {
            if (isParam) owner.register_parameter(parts[^1], (nn.Parameter)t);
            else owner.register_buffer(parts[^1], t);
        }
        catch (ArgumentException e) { throw new ArgumentException($"IR names clash: tensor '{full}' of node '{node.Name}' ({e.Message})", e); }
    }

    /// <summary>A parameter-less module standing for one segment of the IR's hierarchical names.</summary>
    sealed class Scope : nn.Module
    {
        public Scope(string path) : base(path) { }
    }

    /// <summary>Moves parameters and buffers to <paramref name="device"/> in place and returns this model.</summary>
    /// <summary>
    /// Makes every BatchNorm take its training statistics over all ranks of <paramref name="group"/> (synchronised
    /// BatchNorm, <see cref="Distributed.SyncBatchNorm"/>); evaluation still uses the running statistics.
    /// </summary>
    public void SyncBatchNorm(torch.distributed.ProcessGroup group)
    {
        foreach (var k in _kernels.OfType<BatchNormModule.BatchNorm>()) k.SyncGroup = group;
    }

    /// <summary>Whether the graph has a BatchNorm (whose training statistics depend on the batch a process sees).</summary>
    public bool HasBatchNorm => _kernels.OfType<BatchNormModule.BatchNorm>().Any();

    public new IrModel to(Device device)
    {
        base.to(device);
        return this;
    }
    public new IrModel to(string device) => to(Device.Parse(device));

    /// <summary>The device of the parameters (CPU for a model without parameters).</summary>
    public Device device => parameters().FirstOrDefault()?.device ?? CPU;

    /// <summary>Number of trainable elements (equals <see cref="IrGraph.ParamCount"/>).</summary>
    public long ParameterCount => parameters().Sum(p => p.numel());

    /// <summary>The per-sample input shape as dims, for making a batch: <c>[B, ..InputDims]</c>.</summary>
    public IReadOnlyList<long> InputDims => _inputDims;

    /// <summary>
    /// Runs the graph on <paramref name="x"/> of shape <c>[B, ..per-sample input shape]</c> and returns the output node's
    /// value (<c>[B, classes]</c> for a classifier). Intermediate handles are released as soon as their last reader ran.
    /// </summary>
    public override Tensor forward(Tensor x)
    {
        CheckInput(x);
        var n = _kernels.Length;
        var values = new Tensor?[n];
        var training = this.training;
        var input = MemoryFormat == memory_format.ChannelsLast && x.dim() == 4 ? x.to(memory_format.ChannelsLast) : x;
        using var amp = AmpRun.Begin(this);
        try
        {
            for (var i = 0; i < n; i++)
            {
                var k = _kernels[i];
                var ins = _inputs[i];
                values[i] = k is null
                    ? input
                    : ins.Length switch
                    {
                        1 or 2 => CallOn(i, k, values, training, amp),
                        _ => throw new InvalidOperationException($"node '{Graph.Nodes[i].Name}' has {ins.Length} inputs"),
                    };
                foreach (var j in _freeAfter[i])
                {
                    values[j]!.Dispose();
                    values[j] = null;
                }
            }
            var result = amp?.Float32(values[Graph.Output]!) ?? values[Graph.Output]!;
            values[Graph.Output] = null;
            if (!ReferenceEquals(input, x) && !ReferenceEquals(input, result)) input.Dispose();
            return result;
        }
        catch
        {
            for (var i = 0; i < n; i++)
                if (values[i] is { } v && !ReferenceEquals(v, x) && !ReferenceEquals(v, input)) v.Dispose();
            if (!ReferenceEquals(input, x)) input.Dispose();
            throw;
        }
    }

    /// <summary>Node <paramref name="i"/> on its inputs' values, those its plan cuts to the class token (<c>[:, 0:1]</c>) cut.</summary>
    Tensor CallOn(int i, NodeKernel k, Tensor?[] values, bool training, AmpRun? amp)
    {
        var ins = _inputs[i];
        var cut = _narrow[i];
        var a = values[ins[0]]!;
        var b = ins.Length == 2 ? values[ins[1]]! : null;
        if (cut is null) return Call(i, k, a, b, training, amp);
        using var a1 = cut[0] ? a.narrow(1, 0, 1) : null;
        using var b1 = b is not null && cut[1] ? b.narrow(1, 0, 1) : null;
        return Call(i, k, a1 ?? a, b1 ?? b, training, amp);
    }

    void CheckInput(Tensor x)
    {
        var s = x.shape;
        var ok = s.Length == _inputDims.Length + 1;
        for (var i = 0; ok && i < _inputDims.Length; i++) ok = s[i + 1] == _inputDims[i];
        if (!ok)
            throw new ArgumentException(
                $"{Graph.Arch}: the input batch has shape [{string.Join(", ", s)}], but the model expects [B, {string.Join(", ", _inputDims)}] " +
                $"(a batch of {Graph.Input})");
        if (x.dtype != ScalarType.Float32)
            throw new ArgumentException($"{Graph.Arch}: the input batch is {x.dtype}; the model expects Float32");
    }

    // ---- weights ---------------------------------------------------------------------------------

    /// <summary>Every parameter and buffer under its IR name, to <paramref name="path"/> (safetensors; written atomically).</summary>
    public void SaveWeights(string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var meta = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["archdsl.format"] = WeightsFormat,
            ["archdsl.arch"] = Graph.Arch,
        };
        if (metadata != null)
            foreach (var (k, v) in metadata) meta[k] = v;
        Safetensors.Save(path, state_dict(), meta);
    }

    /// <summary>
    /// Loads parameters and buffers saved by <see cref="SaveWeights"/> (or written by anyone with the IR names).
    /// Throws <see cref="WeightsMismatchException"/> listing every missing, unexpected, mis-shaped and mis-typed tensor
    /// before touching the model; on success every tensor is overwritten (copied to the model's device).
    /// </summary>
    public void LoadWeights(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"weights file '{path}' does not exist", path);
        var own = state_dict();
        var file = Safetensors.Describe(path).ToDictionary(e => e.name, StringComparer.Ordinal);
        var missing = own.Keys.Where(k => !file.ContainsKey(k)).Select(k => $"{k} {Describe(own[k].dtype, own[k].shape)}").ToList();
        var unexpected = file.Keys.Where(k => !own.ContainsKey(k)).OrderBy(k => k, StringComparer.Ordinal)
            .Select(k => $"{k} {Describe(file[k].dtype, file[k].shape)}").ToList();
        var shapes = new List<string>();
        var dtypes = new List<string>();
        foreach (var (k, t) in own)
        {
            if (!file.TryGetValue(k, out var f)) continue;
            var want = t.shape;
            if (!want.SequenceEqual(f.shape)) shapes.Add($"{k}: the file has [{string.Join(", ", f.shape)}], the model expects [{string.Join(", ", want)}]");
            if (t.dtype != f.dtype) dtypes.Add($"{k}: the file has {f.dtype}, the model expects {t.dtype}");
        }
        if (missing.Count + unexpected.Count + shapes.Count + dtypes.Count > 0)
            throw new WeightsMismatchException(path, Graph.Arch, missing, unexpected, shapes, dtypes);

        using var scope = NewDisposeScope();
        var loaded = Safetensors.Load(path);
        using (no_grad())
            foreach (var (k, t) in own) t.copy_(loaded[k]);
    }

    static string Describe(ScalarType dtype, long[] shape) => $"{dtype}[{string.Join(", ", shape)}]";
}

/// <summary>A weights file that does not fit the model: every problem is listed (the message has them all).</summary>
public sealed class WeightsMismatchException : Exception
{
    public string Path { get; }
    public IReadOnlyList<string> Missing { get; }
    public IReadOnlyList<string> Unexpected { get; }
    public IReadOnlyList<string> ShapeMismatches { get; }
    public IReadOnlyList<string> DtypeMismatches { get; }

    public WeightsMismatchException(string path, string arch, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected,
        IReadOnlyList<string> shapes, IReadOnlyList<string> dtypes)
        : base(Format(path, arch, missing, unexpected, shapes, dtypes))
    {
        Path = path; Missing = missing; Unexpected = unexpected; ShapeMismatches = shapes; DtypeMismatches = dtypes;
    }

    static string Format(string path, string arch, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected,
        IReadOnlyList<string> shapes, IReadOnlyList<string> dtypes)
    {
        var total = missing.Count + unexpected.Count + shapes.Count + dtypes.Count;
        var sb = new System.Text.StringBuilder($"weights file '{path}' does not fit {arch} ({total} problem{(total == 1 ? "" : "s")}):");
        void Section(string title, IReadOnlyList<string> items)
        {
            if (items.Count == 0) return;
            sb.Append($"\n  {title} ({items.Count}):");
            foreach (var i in items) sb.Append("\n    ").Append(i);
        }
        Section("missing from the file", missing);
        Section("unexpected in the file", unexpected);
        Section("shape mismatch", shapes);
        Section("dtype mismatch", dtypes);
        return sb.ToString();
    }
}
