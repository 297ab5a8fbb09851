using System.Diagnostics;
using System.Text;
using ArchDsl.Compiler.Printers;

namespace ArchDsl.Compiler.Tests;

public class DotTests
{
    /// <summary>
    /// A strict reader for the DOT subset the printer writes: <c>digraph ID { stmt* }</c> with node
    /// statements, edges, attribute statements, <c>key=value;</c> and nested subgraphs. Every ID must be a
    /// double-quoted string or a bare alphanumeric word (keywords, attribute names/values). It records
    /// declared nodes, edges with their attributes, and clusters with their nodes.
    /// </summary>
    internal sealed class DotReader
    {
        private readonly List<(string Text, bool Quoted)> _tokens = new();
        private int _pos;
        public readonly Dictionary<string, Dictionary<string, string>> Nodes = new();
        public readonly List<(string From, string To, Dictionary<string, string> Attrs)> Edges = new();
        public readonly Dictionary<string, List<string>> Clusters = new(); // cluster → nodes directly or transitively inside
        public readonly Dictionary<string, string?> ClusterParent = new();
        public string GraphName = "";

        public DotReader(string text)
        {
            Tokenize(text);
            Expect("digraph");
            GraphName = Id(quotedOnly: true);
            Expect("{");
            Statements(new Stack<string>());
            Assert.True(_pos == _tokens.Count, $"text after the closing brace at token {_pos}");
        }

        private void Tokenize(string s)
        {
            var i = 0;
            while (i < s.Length)
            {
                var c = s[i];
                if (char.IsWhiteSpace(c)) { i++; continue; }
                if (c == '"')
                {
                    var sb = new StringBuilder();
                    i++;
                    while (true)
                    {
                        Assert.True(i < s.Length, "unterminated string");
                        if (s[i] == '\\') { Assert.True(i + 1 < s.Length); sb.Append(s[i]).Append(s[i + 1]); i += 2; continue; }
                        if (s[i] == '"') { i++; break; }
                        Assert.NotEqual('\n', s[i]);
                        sb.Append(s[i++]);
                    }
                    _tokens.Add((sb.ToString(), true));
                }
                else if (c == '-' && i + 1 < s.Length && s[i + 1] == '>') { _tokens.Add(("->", false)); i += 2; }
                else if ("{}[];=,".Contains(c)) { _tokens.Add((c.ToString(), false)); i++; }
                else if (char.IsAsciiLetterOrDigit(c) || c == '_' || c == '.')
                {
                    var start = i;
                    while (i < s.Length && (char.IsAsciiLetterOrDigit(s[i]) || s[i] == '_' || s[i] == '.')) i++;
                    _tokens.Add((s[start..i], false));
                }
                else Assert.Fail($"unexpected character '{c}' at {i}");
            }
        }

        private (string Text, bool Quoted) Peek(int k = 0) => _pos + k < _tokens.Count ? _tokens[_pos + k] : ("<eof>", false);
        private void Expect(string t) { Assert.Equal(t, Peek().Text); Assert.False(Peek().Quoted); _pos++; }
        private bool Accept(string t) { if (Peek().Text == t && !Peek().Quoted) { _pos++; return true; } return false; }

        private string Id(bool quotedOnly = false)
        {
            var (text, quoted) = Peek();
            Assert.True(quoted || (!quotedOnly && text.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '_' or '.')) && text is not ("{" or "}" or "[" or "]" or ";" or "=" or "," or "->"),
                $"expected an identifier at token {_pos}, found '{text}'");
            _pos++;
            return text;
        }

        private Dictionary<string, string> AttrList()
        {
            var attrs = new Dictionary<string, string>();
            if (!Accept("[")) return attrs;
            while (!Accept("]"))
            {
                var key = Id();
                Expect("=");
                attrs[key] = Id();
                Accept(",");
            }
            return attrs;
        }

        private void Statements(Stack<string> clusters)
        {
            while (!Accept("}"))
            {
                if (Peek().Text is "graph" or "node" or "edge" && !Peek().Quoted) { _pos++; AttrList(); Expect(";"); continue; }
                if (Accept("subgraph"))
                {
                    var name = Id(quotedOnly: true);
                    Assert.False(Clusters.ContainsKey(name), $"cluster {name} declared twice");
                    Clusters[name] = new List<string>();
                    ClusterParent[name] = clusters.Count > 0 ? clusters.Peek() : null;
                    Expect("{");
                    clusters.Push(name);
                    Statements(clusters);
                    clusters.Pop();
                    continue;
                }
                var (first, firstQuoted) = Peek();
                if (!firstQuoted && Peek(1).Text == "=")
                {
                    _pos += 2;
                    Id();
                    Expect(";");
                    continue;
                }
                Assert.True(firstQuoted, $"node identifiers must be quoted: '{first}'");
                _pos++;
                if (Accept("->"))
                {
                    var to = Id(quotedOnly: true);
                    Edges.Add((first, to, AttrList()));
                }
                else
                {
                    Assert.False(Nodes.ContainsKey(first), $"node {first} declared twice");
                    Nodes[first] = AttrList();
                    foreach (var c in clusters) Clusters[c].Add(first);
                }
                Expect(";");
            }
        }
    }

    /// <summary>Reads the graph's DOT strictly and checks every edge endpoint is a declared node (used by the spec tests too).</summary>
    internal static DotReader Read(IrGraph g, bool collapse = false)
    {
        var dot = GraphDot.ToDot(g, collapse);
        var reader = new DotReader(dot);
        foreach (var (from, to, _) in reader.Edges)
        {
            Assert.True(reader.Nodes.ContainsKey(from), $"edge from undeclared {from}");
            Assert.True(reader.Nodes.ContainsKey(to), $"edge to undeclared {to}");
        }
        return reader;
    }

    [Fact]
    public void Every_node_is_declared_once_with_name_op_and_shape_and_every_input_is_an_edge()
    {
        var g = PrinterFixtures.ConvMixer(depth: 2);
        var dot = Read(g);
        Assert.Equal(g.Nodes.Select(n => n.Name).OrderBy(n => n, StringComparer.Ordinal), dot.Nodes.Keys.OrderBy(n => n, StringComparer.Ordinal));
        foreach (var n in g.Nodes)
            Assert.Equal($"{n.Name}\\n{GraphPrinter.OpWithAttrs(n)}\\n{n.OutputShape}", dot.Nodes[n.Name]["label"]);
        var expectedEdges = g.Nodes.SelectMany(n => n.Inputs.Select(i => (g.Nodes[i].Name, n.Name))).OrderBy(e => e).ToList();
        Assert.Equal(expectedEdges, dot.Edges.Select(e => (e.From, e.To)).OrderBy(e => e).ToList());
    }

    [Fact]
    public void Blocks_are_nested_clusters()
    {
        var dot = Read(PrinterFixtures.ConvMixer(depth: 2));
        Assert.Equal(["blocks.0.channel.0", "blocks.0.channel.1", "blocks.0.channel.2", "blocks.0.token.0", "blocks.0.token.1", "blocks.0.token.2", "blocks.0.token.3"],
            dot.Clusters["cluster_blocks_0"].OrderBy(n => n, StringComparer.Ordinal));
        Assert.Equal("cluster_blocks", dot.ClusterParent["cluster_blocks_0"]);
        Assert.Equal("cluster_blocks_1", dot.ClusterParent["cluster_blocks_1_token"]);
        Assert.Null(dot.ClusterParent["cluster_stem"]);
        Assert.Equal(["head.0", "head.1"], dot.Clusters["cluster_head"]);
        Assert.DoesNotContain(dot.Clusters.Values, c => c.Contains("input"));
    }

    [Fact]
    public void Residual_edges_are_dashed_and_labelled_and_chain_edges_plain()
    {
        var dot = Read(PrinterFixtures.Vit());
        var skips = dot.Edges.Where(e => e.Attrs.TryGetValue("style", out var s) && s == "dashed").Select(e => (e.From, e.To)).ToList();
        Assert.Equal([("stem.3", "blocks.0.token.2"), ("blocks.0.token.2", "blocks.0.channel.5")], skips);
        Assert.All(dot.Edges.Where(e => e.Attrs.ContainsKey("style")), e => Assert.Equal("residual", e.Attrs["label"]));
        Assert.Equal(dot.Edges.Count - 2, dot.Edges.Count(e => e.Attrs.Count == 0));
    }

    [Fact]
    public void Awkward_names_are_quoted_and_escaped()
    {
        var b = new PrinterFixtures.Builder("Odd \"arch\" \\ name", Shape.Vector(4));
        b.Add("input", "input", Shape.Vector(4));
        b.Add("a\"b.c d.0", "linear", Shape.Vector(2), new() { ["out"] = 2L, ["bias"] = false }, [new TensorSpec("weight", [2, 4])]);
        b.Add("a\"b.c d.1", "relu", Shape.Vector(2));
        b.Add("x\\y.0", "identity", Shape.Vector(2));
        var g = b.Build(new TrainConfig(new Dictionary<string, object>()));
        var dot = Read(g);
        Assert.Equal("Odd \\\"arch\\\" \\\\ name", dot.GraphName);
        Assert.Contains("a\\\"b.c d.0", dot.Nodes.Keys);
        Assert.Contains("x\\\\y.0", dot.Nodes.Keys);
        Assert.Contains("cluster_a_b_c_d", dot.Clusters.Keys);
        Assert.Contains("cluster_a_b", dot.Clusters.Keys);
        Assert.Contains("cluster_x_y", dot.Clusters.Keys);
    }

    [Fact]
    public void Clusters_whose_ids_would_collide_get_distinct_ids()
    {
        var b = new PrinterFixtures.Builder("X", Shape.Vector(4));
        b.Add("input", "input", Shape.Vector(4));
        b.Add("a-b.0", "relu", Shape.Vector(4));
        b.Add("a_b.0", "relu", Shape.Vector(4));
        var dot = Read(b.Build(new TrainConfig(new Dictionary<string, object>())));
        Assert.Equal(["a-b.0"], dot.Clusters["cluster_a_b"]);
        Assert.Equal(["a_b.0"], dot.Clusters["cluster_a_b_2"]);
    }

    [Fact]
    public void Repeated_blocks_are_drawn_once_in_a_cluster_that_says_how_many()
    {
        var g = CompilerTestKit.SpecGraph("imagenet/vit-b16.arch");
        var dot = Read(g, collapse: true);
        var blockNodes = g.Nodes.Where(n => n.Name.StartsWith("blocks.0.", StringComparison.Ordinal)).Select(n => n.Name).ToList();
        var others = g.Nodes.Where(n => !n.Name.StartsWith("blocks.", StringComparison.Ordinal)).Select(n => n.Name);
        Assert.Equal(others.Concat(blockNodes).Order(StringComparer.Ordinal), dot.Nodes.Keys.Order(StringComparer.Ordinal));
        Assert.Contains("label=\"blocks.{0..11} ×12\";", GraphDot.ToDot(g));
        Assert.Contains(("blocks.0.channel_add", "head.0"), dot.Edges.Select(e => (e.From, e.To))); // block 11's output, drawn from block 0's place
        Assert.Contains(("stem.3", "blocks.0.token_norm"), dot.Edges.Select(e => (e.From, e.To)));
        Assert.DoesNotContain(dot.Edges, e => e.From == "blocks.0.channel_add" && e.To.StartsWith("blocks.0.", StringComparison.Ordinal)); // no loop back
    }

    [Fact]
    public void A_depthwise_and_a_pointwise_conv_are_labelled_differently()
    {
        var dot = Read(CompilerTestKit.SpecGraph("convmixer.arch", "kernel=9"), collapse: true);
        var depthwise = dot.Nodes["blocks.0.token.0"]["label"];
        var pointwise = dot.Nodes["blocks.0.channel.0"]["label"];
        Assert.Contains("groups=128, kernel=9", depthwise);
        Assert.Contains("groups=1, kernel=1", pointwise);
        Assert.NotEqual(depthwise.Split("\\n")[1], pointwise.Split("\\n")[1]);
    }

    /// <summary>ViT-B laid out by Graphviz: collapsed, a fraction of the height of every block drawn.</summary>
    [Fact]
    public async Task Graphviz_lays_out_the_collapsed_ViT_B_far_shorter()
    {
        var g = CompilerTestKit.SpecGraph("imagenet/vit-b16.arch");
        var (collapsedNodes, collapsedHeight) = await Plain(GraphDot.ToDot(g));
        var (allNodes, allHeight) = await Plain(GraphDot.ToDot(g, collapse: false));
        Assert.Equal(g.Nodes.Count, allNodes);
        Assert.Equal(g.Nodes.Count - 11 * 8, collapsedNodes);
        Assert.True(collapsedHeight * 5 < allHeight, $"collapsed height {collapsedHeight} vs {allHeight}");
    }

    /// <summary>Runs <c>dot -Tplain</c>: the node count and the graph's height (inches) it reports; fails on any message.</summary>
    private static async Task<(int Nodes, double Height)> Plain(string text)
    {
        var dotExe = TestSupport.Tools.Require(TestSupport.Tools.Dot, "graphviz");
        var psi = new ProcessStartInfo(dotExe, "-Tplain") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        p.StandardInput.Write(text);
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0 && stderr.Length == 0, $"dot exit {p.ExitCode}: {stderr}");
        var lines = (await stdout).Split('\n');
        var height = double.Parse(lines[0].Split(' ')[3], System.Globalization.CultureInfo.InvariantCulture);
        return (lines.Count(l => l.StartsWith("node ", StringComparison.Ordinal)), height);
    }

    /// <summary>Graphviz itself (<c>apt-get install graphviz</c>, which scripts/setup.sh runs) lays the output out.</summary>
    [Fact]
    public async Task Graphviz_accepts_the_output()
    {
        var g = PrinterFixtures.Vit();
        Read(g);
        Assert.Equal(g.Nodes.Count, (await Plain(GraphDot.ToDot(g))).Nodes);
    }
}
