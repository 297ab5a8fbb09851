using System.Globalization;
using System.Text;
using ArchDsl.Compiler;
using ArchDsl.Runtime.Model;
using ArchDsl.Runtime.Training;
using ArchDsl.Torch;

namespace ArchDsl.Runtime.Export;

/// <summary>
/// <c>archc export --format torchsharp</c>: one C# file defining the model as a TorchSharp <c>nn.Module&lt;Tensor,
/// Tensor&gt;</c> (TorchSharp 0.107; a class per kind of block, identical blocks sharing one, <c>forward</c> top to
/// bottom) whose <c>state_dict</c> names equal the weight file's, and the weights as safetensors — the same file, under
/// the same names, as the PyTorch export's. Safetensors rather than TorchSharp's own <c>Module.load</c> format: it is the
/// one weight format of every ArchDsl export and run, readable by any tool, while <c>Module.load</c>'s format is
/// TorchSharp's alone (PyTorch needs a converter script to write it); the file carries a 40-line safetensors reader
/// (TorchSharp 0.107 has none) and loads with <c>load_state_dict(…, strict: true)</c>. The model takes [0, 1] pixels:
/// the normalisation is its first step (non-persistent buffers); <c>Classes</c> names the logits.
/// </summary>
public static class TorchSharpExporter
{
    /// <summary>Writes <c>&lt;name&gt;.cs</c> and <c>&lt;name&gt;.safetensors</c> into <paramref name="outDir"/> (both or neither, <see cref="ExportFiles"/>); returns their paths.</summary>
    /// <exception cref="ExportException">the graph does not nest into modules, or a file cannot be written.</exception>
    public static string[] Write(ExportSource source, string outDir, string? name = null)
    {
        name ??= PyTorchExporter.FileStem(source.Graph.Arch);
        var text = new UTF8Encoding(false).GetBytes(Source(source, name));
        var weights = Safetensors.Serialize(source.Model.state_dict(), new Dictionary<string, string> { ["format"] = "pt" });
        return ExportFiles.Write(outDir, [(name + ".cs", text), (name + ".safetensors", weights)]);
    }

    /// <summary>The namespace of an export named <paramref name="name"/> (its file stem): <c>convmixer</c> → <c>Exported.Convmixer</c>.</summary>
    public static string Namespace(string name) => "Exported." + PyTorchExporter.ClassName(name);

    /// <summary>The C# source of the model (<paramref name="name"/>: the file stem, which names its namespace and weight file).</summary>
    public static string Source(ExportSource source, string name)
    {
        var graph = source.Graph;
        var w = new Writer(graph);
        var root = w.Class(new ModuleTree(graph).Root, PyTorchExporter.ClassName(graph.Arch), isRoot: true);
        var card = source.Card;
        var c = card.Input.Channels;
        string Floats(IReadOnlyList<double>? v) => string.Join(", ", (v ?? Enumerable.Repeat(0.0, c).ToList()).Select(x => Cs.Literal((float)x)));
        var sb = new StringBuilder();
        sb.Append($$"""
            // {{graph.Arch}}, exported by archc (ArchDsl) from {{source.Origin}}.
            //
            // Self-contained: needs only TorchSharp (0.107, package TorchSharp-cpu). Load and run:
            //
            //     using var model = {{Namespace(name)}}.Model.Create("{{name}}.safetensors");  // strict load; eval mode
            //     using var probs = model.call(images).softmax(-1);  // images: [B, {{c}}, {{card.Input.Height}}, {{card.Input.Width}}] float32, pixels in [0, 1]
            //     var names = probs.argmax(-1).data<long>().Select(i => {{Namespace(name)}}.Model.Classes[i]);
            //
            // The input normalisation (x - Mean) / Std per channel is the model's first step; Classes name the logits.
            // Compiled with: {{(card.Overrides.Length == 0 ? "no --set overrides" : string.Join(" ", card.Overrides.Select(o => "--set " + o)))}}.
            #nullable enable
            using System;
            using System.Collections.Generic;
            using System.IO;
            using System.Linq;
            using System.Text.Json;
            using TorchSharp;
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            namespace {{Namespace(name)}};

            /// <summary>How to build, load and feed the model.</summary>
            public static class Model
            {
                /// <summary>(C, H, W) of one input image.</summary>
                public static readonly long[] InputSize = { {{c}}, {{card.Input.Height}}, {{card.Input.Width}} };
                public static readonly float[] Mean = { {{Floats(card.Normalization?.Mean)}} };
                public static readonly float[] Std = { {{Floats(card.Normalization?.Std ?? Enumerable.Repeat(1.0, c).ToList())}} };
                /// <summary>The class of each logit, in order.</summary>
                public static readonly string[] Classes = { {{string.Join(", ", card.Classes.Select(Cs.Literal))}} };

                /// <summary>The model in eval mode, with the weights of the safetensors file <paramref name="weights"/> (strict: every name must match).</summary>
                public static {{root}} Create(string? weights = null)
                {
                    var model = new {{root}}();
                    if (weights is not null)
                    {
                        var tensors = Safetensors.Load(weights);
                        var (missing, unexpected) = model.load_state_dict(tensors, strict: true);
                        if (missing.Count + unexpected.Count > 0)
                            throw new InvalidDataException($"{weights}: missing {string.Join(", ", missing)}; unexpected {string.Join(", ", unexpected)}");
                        foreach (var t in tensors.Values) t.Dispose();
                    }
                    model.eval();
                    return model;
                }
            }

            """);
        foreach (var h in w.Helpers.Values) sb.Append('\n').Append(h.Source.TrimEnd()).Append('\n');
        foreach (var cls in w.Classes) sb.Append('\n').Append(cls);
        sb.Append('\n').Append(Reader);
        return sb.ToString();
    }

    /// <summary>The safetensors reader the file carries (TorchSharp 0.107 reads no safetensors).</summary>
    private const string Reader = """
        /// <summary>Reads a safetensors file: 8-byte little-endian header size, JSON header, raw little-endian tensors.</summary>
        public static class Safetensors
        {
            public static Dictionary<string, Tensor> Load(string path)
            {
                var data = File.ReadAllBytes(path);
                var n = (int)BitConverter.ToUInt64(data, 0);
                using var header = JsonDocument.Parse(new ReadOnlyMemory<byte>(data, 8, n));
                var tensors = new Dictionary<string, Tensor>();
                foreach (var e in header.RootElement.EnumerateObject())
                {
                    if (e.Name == "__metadata__") continue;
                    var shape = e.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
                    var offsets = e.Value.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt32()).ToArray();
                    var bytes = data.AsSpan(8 + n + offsets[0], offsets[1] - offsets[0]);
                    tensors[e.Name] = e.Value.GetProperty("dtype").GetString() switch
                    {
                        "F32" => tensor(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray(), shape),
                        "F64" => tensor(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(bytes).ToArray(), shape),
                        "I64" => tensor(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(bytes).ToArray(), shape),
                        "I32" => tensor(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(bytes).ToArray(), shape),
                        var d => throw new InvalidDataException($"{path}: tensor '{e.Name}' has dtype {d}; this reader takes F32, F64, I64, I32"),
                    };
                }
                return tensors;
            }
        }

        """;

    /// <summary>Writes the classes, innermost first, sharing one class among containers of identical text.</summary>
    private sealed class Writer(IrGraph graph)
    {
        public readonly Dictionary<string, CsHelper> Helpers = new(StringComparer.Ordinal);
        public readonly List<string> Classes = [];
        private readonly ClassTable _classes = new(Reserved);

        /// <summary>Names a block class must not take: every op's helper class and the file's own names.</summary>
        private static readonly HashSet<string> Reserved = OpModules.All.Values.SelectMany(m => m.TorchSharp.Helpers).Select(h => h.Name)
            .Concat(["Model", "Safetensors", "Module", "Tensor", "Sequential", "TorchSharp", "System"]).ToHashSet(StringComparer.Ordinal);

        /// <summary>The constructor expression of <paramref name="item"/> (a leaf's module, nn.Sequential, or a class of its own).</summary>
        public string Expression(ModuleTree.Item item, string parentSegment)
        {
            if (item.IsLeaf) return Leaf(item.Node!);
            if (!ModuleTree.IsSequential(item))
                return "new " + Class(item, PyTorchExporter.ClassName(int.TryParse(item.Segment, out _) ? PyTorchExporter.Singular(parentSegment) : item.Segment), isRoot: false) + "()";
            var parts = item.Children.Select(c => Expression(c, item.Segment)).ToList();
            if (parts.Count > 1 && parts.All(p => p == parts[0]))
                return $"nn.Sequential(Enumerable.Range(0, {parts.Count}).Select(i => (i.ToString(), (nn.Module<Tensor, Tensor>){parts[0]})).ToArray())";
            return "nn.Sequential(\n" + string.Join(",\n", parts.Select((p, i) => Indent($"(\"{i}\", {p})", 1))) + ")";
        }

        private string Leaf(IrNode node)
        {
            var form = Form(node);
            if (form.Module is null) throw new ExportException($"node '{node.Name}' ({node.Op}) has no module of its own to export");
            var expr = form.Module(PyTorchForms.Node(node));
            foreach (var h in form.Helpers.Where(h => expr.Contains("new " + h.Name + "(", StringComparison.Ordinal))) Helpers.TryAdd(h.Name, h);
            return expr;
        }

        private static TorchSharpForm Form(IrNode node) =>
            (OpModules.For(node) ?? throw new ExportException($"node '{node.Name}' ({node.Op}) cannot be exported")).TorchSharp;

        /// <summary>Writes the class of <paramref name="item"/> (unless one with the same body exists) and returns its name.</summary>
        public string Class(ModuleTree.Item item, string name, bool isRoot)
        {
            var fields = new StringBuilder();
            var init = new StringBuilder();
            var forward = new StringBuilder();
            if (isRoot)
            {
                fields.Append("    private readonly Tensor pixel_mean, pixel_std;\n");
                init.Append("        register_buffer(\"pixel_mean\", pixel_mean = tensor(Model.Mean).view(1, -1, 1, 1), persistent: false);\n");
                init.Append("        register_buffer(\"pixel_std\", pixel_std = tensor(Model.Std).view(1, -1, 1, 1), persistent: false);\n");
                forward.Append("        x = (x - pixel_mean) / pixel_std;\n");
            }
            var vars = ModuleTree.Variables(item);
            var declared = new HashSet<string> { "x" };
            for (var k = 0; k < item.Children.Count; k++)
            {
                var c = item.Children[k];
                var (ins, output) = vars[k];
                var assign = declared.Add(output) ? "var " + output : output;
                if (c.Node is { } n && Form(n) is { Module: null, Binary: { } binary })
                {
                    forward.Append($"        {assign} = {binary(ins[0], ins[1])};\n");
                    continue;
                }
                var field = "_" + c.Segment.Replace('-', '_');
                fields.Append($"    private readonly nn.Module<Tensor, Tensor> {field};\n");
                init.Append($"        register_module(\"{c.Segment}\", {field} = {Indent(Expression(c, item.Segment), 2).TrimStart()});\n");
                forward.Append($"        {assign} = {field}.call({ins[0]});\n");
            }
            forward.Append($"        return {vars[^1].Output};\n");
            var doc = System.Security.SecurityElement.Escape(ModuleTree.Summary(graph, item, isRoot, "→"));
            var body = $"{fields}\n    public \u0001() : base(nameof(\u0001))\n    {{\n{init}    }}\n\n    public override Tensor forward(Tensor x)\n    {{\n{forward}    }}\n";
            var (unique, isNew) = _classes.Name((isRoot ? "root" : "") + body, name);
            if (isNew) Classes.Add($"/// <summary>{doc}</summary>\npublic sealed class {unique} : nn.Module<Tensor, Tensor>\n{{\n{body.Replace("\u0001", unique)}}}\n");
            return unique;
        }

        private static string Indent(string text, int levels) => text.Replace("\n", "\n" + new string(' ', 4 * levels)).Insert(0, new string(' ', 4 * levels));
    }
}
