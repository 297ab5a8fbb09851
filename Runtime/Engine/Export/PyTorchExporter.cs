using System.Globalization;
using System.Text;
using ArchDsl.Compiler;
using ArchDsl.Runtime.Model;
using ArchDsl.Runtime.Training;
using ArchDsl.Torch;

namespace ArchDsl.Runtime.Export;

/// <summary>
/// <c>archc export --format pytorch</c>: one self-contained Python file in timm's style — the helper modules the ops
/// need, a class per kind of block (identical blocks share one), the model class with <c>forward</c> top to bottom —
/// and the weights as safetensors under the same names as the module's <c>state_dict</c>, so
/// <c>create_model(weights)</c> loads them with <c>strict=True</c>. The model takes [0, 1] pixels: the run's input
/// normalisation is its first step (non-persistent buffers, so not in the weights); <c>CLASSES</c> names the logits.
/// The file needs only torch: Debian 12 has no <c>safetensors</c> package, so it carries a 20-line reader of the format.
/// </summary>
public static class PyTorchExporter
{
    /// <summary>Writes <c>&lt;name&gt;.py</c> and <c>&lt;name&gt;.safetensors</c> into <paramref name="outDir"/> (both or neither, <see cref="ExportFiles"/>); returns their paths.</summary>
    /// <exception cref="ExportException">the graph does not nest into modules, or a file cannot be written.</exception>
    public static string[] Write(ExportSource source, string outDir, string? name = null)
    {
        name ??= FileStem(source.Graph.Arch);
        var text = new System.Text.UTF8Encoding(false).GetBytes(Source(source, name));
        var weights = Safetensors.Serialize(source.Model.state_dict(), new Dictionary<string, string> { ["format"] = "pt" });
        return ExportFiles.Write(outDir, [(name + ".py", text), (name + ".safetensors", weights)]);
    }

    /// <summary>
    /// How to load what <see cref="Write"/> wrote into <paramref name="outDir"/>, for the user: with a Python that has
    /// torch — <see cref="Bench.PythonExecutable"/> (<c>$ARCHDSL_PYTHON</c>, else Debian's <c>/usr/bin/python3</c>, the
    /// one python3-torch installs for; a pyenv or venv <c>python3</c> earlier on PATH does not see it).
    /// </summary>
    public static string LoadHint(string outDir, string module) =>
        $"load it with a Python that has torch (Debian's python3-torch is /usr/bin/python3's; a pyenv or venv python3 does not see it):\n" +
        $"  cd {outDir} && {Bench.PythonExecutable} -c \"import {module}; print({module}.create_model('{module}.safetensors'))\"";

    /// <summary>A file name for the arch: <c>ConvMixer</c> → <c>convmixer</c>.</summary>
    public static string FileStem(string arch) =>
        new string(arch.ToLowerInvariant().Select(ch => char.IsAsciiLetterOrDigit(ch) ? ch : '_').ToArray()) is var s && char.IsAsciiLetter(s[0]) ? s : "model_" + s;

    /// <summary>The Python source of the model (<paramref name="module"/>: its module name, for the usage in its docstring).</summary>
    public static string Source(ExportSource source, string module)
    {
        var graph = source.Graph;
        var tree = new ModuleTree(graph);
        var w = new Writer(graph);
        var root = w.Class(tree.Root, ClassName(graph.Arch), isRoot: true);
        var card = source.Card;
        var sb = new StringBuilder();
        sb.Append($""""
            """{graph.Arch}, exported by archc (ArchDsl) from {source.Origin}.

            Self-contained: needs only torch (Debian's python3-torch, i.e. /usr/bin/python3, not a pyenv or venv python3). Load and run:

                import {module}
                model = {module}.create_model('{module}.safetensors')  # state_dict loaded with strict=True; eval mode
                probs = model(images).softmax(-1)  # images: [B, {card.Input.Channels}, {card.Input.Height}, {card.Input.Width}] float32, pixels in [0, 1]
                names = [{module}.CLASSES[i] for i in probs.argmax(-1)]

            The input normalisation (x - MEAN) / STD per channel is the model's first step; CLASSES name the logits.
            Compiled with: {(card.Overrides.Length == 0 ? "no --set overrides" : string.Join(" ", card.Overrides.Select(o => "--set " + o)))}.
            """
            import json
            import struct

            import torch
            from torch import nn

            INPUT_SIZE = ({card.Input.Channels}, {card.Input.Height}, {card.Input.Width})  # (C, H, W)
            MEAN = {Tuple(card.Normalization?.Mean ?? Enumerable.Repeat(0.0, card.Input.Channels).ToList())}
            STD = {Tuple(card.Normalization?.Std ?? Enumerable.Repeat(1.0, card.Input.Channels).ToList())}
            CLASSES = {Tuple(card.Classes.Select(ExportNode.Py).ToList())}
            """");
        sb.Append('\n');
        foreach (var h in w.Helpers.Values) sb.Append("\n\n").Append(h.Source.TrimEnd()).Append('\n');
        foreach (var c in w.Classes) sb.Append("\n\n").Append(c);
        sb.Append("\n\n");
        sb.Append(Footer(root));
        return sb.ToString();
    }

    /// <summary>The safetensors reader and <c>create_model</c>, which builds <paramref name="root"/> and loads the weights strictly.</summary>
    private static string Footer(string root) => $$""""
        def load_safetensors(path):
            """Reads a safetensors file (8-byte little-endian header size, JSON header, raw little-endian tensors)."""
            dtypes = {'F32': torch.float32, 'F64': torch.float64, 'I64': torch.int64, 'I32': torch.int32}
            with open(path, 'rb') as f:
                data = f.read()
            n = struct.unpack('<Q', data[:8])[0]
            header = json.loads(data[8:8 + n])
            header.pop('__metadata__', None)
            tensors = {}
            for name, e in header.items():
                begin, end = e['data_offsets']
                raw = bytearray(data[8 + n + begin:8 + n + end])
                flat = torch.frombuffer(raw, dtype=dtypes[e['dtype']]) if raw else torch.empty(0, dtype=dtypes[e['dtype']])
                tensors[name] = flat.reshape(e['shape'])
            return tensors


        def create_model(weights=None):
            """The model in eval mode, with the weights of the safetensors file `weights` (strict: every name must match)."""
            model = {{root}}()
            if weights is not None:
                model.load_state_dict(load_safetensors(weights), strict=True)
            return model.eval()

        """";

    private static string Tuple(IReadOnlyList<double> v) => Tuple(v.Select(x => ExportNode.Py(x)).ToList());
    private static string Tuple(IReadOnlyList<string> items) => items.Count == 1 ? $"({items[0]},)" : $"({string.Join(", ", items)})";

    /// <summary>A class name for <paramref name="s"/>: <c>conv_mixer</c> → <c>ConvMixer</c>.</summary>
    internal static string ClassName(string s)
    {
        var parts = s.Split(['_', '-', '.', ' '], StringSplitOptions.RemoveEmptyEntries);
        var name = string.Concat(parts.Select(p => char.ToUpperInvariant(p[0]) + p[1..]));
        return name.Length > 0 && char.IsAsciiLetter(name[0]) ? name : "Module" + name;
    }

    /// <summary>The class name of one of a numbered container's items: <c>blocks</c> → <c>block</c>.</summary>
    internal static string Singular(string s) => s.EndsWith('s') && s.Length > 1 ? s[..^1] : s + "_item";

    /// <summary>Writes the classes, innermost first, sharing one class among containers of identical text.</summary>
    private sealed class Writer(IrGraph graph)
    {
        public readonly Dictionary<string, PyHelper> Helpers = new(StringComparer.Ordinal);
        public readonly List<string> Classes = [];
        private readonly ClassTable _classes = new(Reserved);

        /// <summary>The constructor expression of <paramref name="item"/> (a leaf's module, nn.Sequential, or a class of its own).</summary>
        public string Expression(ModuleTree.Item item, string parentSegment)
        {
            if (item.IsLeaf) return Leaf(item.Node!);
            if (!ModuleTree.IsSequential(item))
                return Class(item, ClassName(int.TryParse(item.Segment, out _) ? Singular(parentSegment) : item.Segment), isRoot: false) + "()";
            var parts = item.Children.Select(c => Expression(c, item.Segment)).ToList();
            if (parts.Count > 1 && parts.All(p => p == parts[0]))
                return $"nn.Sequential(*[{parts[0]} for _ in range({parts.Count})])";
            return "nn.Sequential(\n" + string.Concat(parts.Select(p => Indent(p, 1) + ",\n")) + ")";
        }

        private string Leaf(IrNode node)
        {
            var form = PyTorchForms.For(node);
            if (form.Module is null) throw new ExportException($"node '{node.Name}' ({node.Op}) has no module of its own to export");
            var expr = form.Module(PyTorchForms.Node(node));
            foreach (var h in form.Helpers.Where(h => expr.Contains(h.Name + "(", StringComparison.Ordinal))) Helpers.TryAdd(h.Name, h);
            return expr;
        }

        /// <summary>Writes the class of <paramref name="item"/> (unless one with the same body exists) and returns its name.</summary>
        public string Class(ModuleTree.Item item, string name, bool isRoot)
        {
            var init = new StringBuilder();
            var forward = new StringBuilder();
            if (isRoot)
            {
                init.Append("        self.register_buffer('pixel_mean', torch.tensor(MEAN).view(1, -1, 1, 1), persistent=False)\n");
                init.Append("        self.register_buffer('pixel_std', torch.tensor(STD).view(1, -1, 1, 1), persistent=False)\n");
                forward.Append("        x = (x - self.pixel_mean) / self.pixel_std\n");
            }
            var vars = ModuleTree.Variables(item);
            for (var k = 0; k < item.Children.Count; k++)
            {
                var c = item.Children[k];
                var (ins, output) = vars[k];
                if (c.Node is { } n && PyTorchForms.For(n) is { Module: null, Binary: { } binary })
                {
                    forward.Append($"        {output} = {binary(ins[0], ins[1])}\n");
                    continue;
                }
                var expr = Expression(c, item.Segment);
                var attr = IsIdentifier(c.Segment) && !(isRoot && c.Segment is "pixel_mean" or "pixel_std") ? $"self.{c.Segment}" : $"getattr(self, '{c.Segment}')";
                init.Append(attr.StartsWith("self.", StringComparison.Ordinal)
                    ? $"        {attr} = {Indent(expr, 2).TrimStart()}\n"
                    : $"        self.add_module('{c.Segment}', {Indent(expr, 2).TrimStart()})\n");
                forward.Append($"        {output} = {attr}({ins[0]})\n");
            }
            forward.Append($"        return {vars[^1].Output}\n");
            var doc = $"    \"\"\"{ModuleTree.Summary(graph, item, isRoot, "->")}\"\"\"\n\n";
            var body = $"    def __init__(self):\n        super().__init__()\n{init}\n    def forward(self, x):\n{forward}";
            var (unique, isNew) = _classes.Name((isRoot ? "root" : "") + body, name);
            if (isNew) Classes.Add($"class {unique}(nn.Module):\n{doc}{body}");
            return unique;
        }

        /// <summary>Names a block class must not take: every op's helper class (used or not yet) and the file's own names.</summary>
        private static readonly HashSet<string> Reserved = OpModules.All.Values.SelectMany(m => m.PyTorch.Helpers).Select(h => h.Name)
            .Concat(["nn", "torch", "json", "struct", "INPUT_SIZE", "MEAN", "STD", "CLASSES"]).ToHashSet(StringComparer.Ordinal);

        private static string Indent(string text, int levels) => text.Replace("\n", "\n" + new string(' ', 4 * levels)).Insert(0, new string(' ', 4 * levels));
        private static readonly HashSet<string> Keywords = ["False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
            "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal", "not", "or",
            "pass", "raise", "return", "try", "while", "with", "yield", "training"];
        private static bool IsIdentifier(string s) =>
            s.Length > 0 && (char.IsAsciiLetter(s[0]) || s[0] == '_') && s.All(ch => char.IsAsciiLetterOrDigit(ch) || ch == '_') && !Keywords.Contains(s);
    }
}

/// <summary>The PyTorch form of each IR node, from its op module (Runtime/Engine/Model/Ops).</summary>
internal static class PyTorchForms
{
    public static PyTorchForm For(IrNode node) =>
        (OpModules.For(node) ?? throw new ExportException($"node '{node.Name}' ({node.Op}) cannot be exported")).PyTorch;

    public static ExportNode Node(IrNode node)
    {
        var t = OpModules.Tensors(node, new Dictionary<string, torch.Tensor>());
        return new ExportNode(node, (key, type) =>
            type == typeof(long) ? t.Attr<long>(key) : type == typeof(double) ? t.Attr<double>(key)
            : type == typeof(bool) ? t.Attr<bool>(key) : t.Attr<string>(key));
    }
}
