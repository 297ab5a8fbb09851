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
    internal static DotReader Read(IrGraph g)
    {
        var dot = GraphDot.ToDot(g);
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
            Assert.Equal($"{n.Name}\\n{n.Op}\\n{n.OutputShape}", dot.Nodes[n.Name]["label"]);
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

    /// <summary>Graphviz itself (<c>apt-get install graphviz</c>, which scripts/setup.sh runs) lays the output out.</summary>
    [Fact]
    public async Task Graphviz_accepts_the_output()
    {
        var g = PrinterFixtures.Vit();
        var text = GraphDot.ToDot(g);
        Read(g);
        var dotExe = TestSupport.Tools.Require(TestSupport.Tools.Dot, "graphviz");
        var psi = new ProcessStartInfo(dotExe, "-Tplain") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        p.StandardInput.Write(text);
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0 && stderr.Length == 0, $"dot exit {p.ExitCode}: {stderr}");
        Assert.Equal(g.Nodes.Count, (await stdout).Split('\n').Count(l => l.StartsWith("node ", StringComparison.Ordinal)));
    }
}
