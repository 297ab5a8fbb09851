using ArchDsl.Compiler.Analysis;
using ArchDsl.Dsl;

namespace ArchDsl.Compiler;

/// <summary>
/// Binds, expands and shape-checks one arch into an <see cref="IrGraph"/>.
/// <para><b>Node names</b> (stable, hierarchical, like PyTorch module paths; they prefix parameter
/// names, <c>blocks.0.token.0.weight</c>):</para>
/// <list type="bullet">
/// <item><c>input</c> — the graph input.</item>
/// <item><c>stem.i</c>, <c>head.i</c>, <c>layers.i</c> — step i of that stage's chain (<c>layers</c>
/// numbers on across several <c>layers</c> statements).</item>
/// <item><c>blocks.b.token.i</c>, <c>blocks.b.channel.i</c> — step i of mixer block b's token / channel
/// chain (b numbers on across mixer statements); <c>blocks.b.token_norm</c> its pre/post norm,
/// <c>blocks.b.token_drop</c> the drop-path on its branch, <c>blocks.b.token_add</c> its residual add.</item>
/// <item>Inside any chain, a step that expands to several nodes is a group named by its index:
/// a block call <c>P.i</c> holds its body's steps <c>P.i.j</c>; <c>residual { }</c> at <c>P.i</c> holds its
/// body <c>P.i.j</c> and the add <c>P.i.add</c>; <c>repeat n { }</c> at <c>P.i</c> holds repetition r as
/// <c>P.i.r.j</c>.</item>
/// </list>
/// A node's origin is the source span of the step (or mixer entry) that made it.
/// <para>The stages, one class each: <see cref="Declarations"/> (blocks and archs by name), <see cref="ArchResolver"/>
/// (entry arch, derivation), <see cref="OverrideBinder"/> (<c>--set</c>), <see cref="ArchParameters"/> (the parameter
/// scope), then the statements here: <see cref="ChainExpander"/> for stem / layers / head chains,
/// <see cref="MixerExpander"/> for mixers, <see cref="GraphBuilder"/> emitting the nodes.</para>
/// </summary>
internal sealed class Expander
{
    private readonly DiagnosticBag _diags;
    private readonly DiagnosticBag _trainDiags;
    private readonly Evaluator _ev;
    private readonly Declarations _decls;
    private readonly GraphBuilder _graph;
    private readonly ChainExpander _chains;
    private readonly MixerExpander _mixers;
    private readonly OverrideBinder _overrides;

    /// <param name="trainDiags">Receives what training needs of the graph beyond compiling (<see cref="TrainChecks"/>).</param>
    public Expander(IReadOnlyList<SpecFile> files, DiagnosticBag diags, DiagnosticBag? trainDiags = null)
    {
        _diags = diags;
        _trainDiags = trainDiags ?? new DiagnosticBag();
        _ev = new Evaluator(diags);
        _decls = new Declarations(files, diags);
        _graph = new GraphBuilder(diags);
        _chains = new ChainExpander(diags, _ev, _decls.Blocks, _graph);
        _mixers = new MixerExpander(diags, _ev, _chains, _graph);
        _overrides = new OverrideBinder(diags);
    }

    /// <summary>Each given train key's value span, once <see cref="Run"/> has resolved the train section.</summary>
    public IReadOnlyDictionary<string, Span> TrainSpans { get; private set; } = new Dictionary<string, Span>();

    public IrGraph? Run(SpecFile root, IReadOnlyList<Override> overrides, string? archName)
    {
        var arch = new ArchResolver(_diags, _decls.Archs).Resolve(root, archName);
        if (arch is null) return null;
        var trainOverrides = _overrides.Apply(overrides, arch.Slots, arch.Entry.Name);
        var scope = new ArchParameters(_diags, _ev).Bind(arch);
        return Build(arch.Entry, arch.Body, scope, trainOverrides);
    }

    // ---- statements ----------------------------------------------------------------------------------

    /// <summary>The arch's statements in order: input, then stem / layers / head chains and mixers; the train section last.</summary>
    private IrGraph? Build(ArchDecl entry, List<Stmt> body, Scope scope, List<TrainOverride> trainOverrides)
    {
        Flow? x = null;
        Shape? input = null;
        var seen = new Dictionary<string, Stmt>();
        var next = new Dictionary<string, int>();
        var missingInputReported = false;
        TrainStmt? train = null;

        foreach (var stmt in body)
        {
            if (_graph.Aborted) break;
            if (!CheckPlace(entry, stmt, seen, input is not null, ref missingInputReported)) continue;
            switch (stmt)
            {
                case InputStmt inp:
                    if (_graph.Nodes.Count > 0)
                    {
                        _diags.Report(CompilerDiagnostics.InputNotFirst, inp.Span, null);
                        break;
                    }
                    input = InputShape(inp, scope);
                    x = input is null ? null : _graph.Input(input, inp.Span);
                    break;
                case StageStmt st:
                {
                    var start = next.GetValueOrDefault(st.Kind);
                    x = _chains.ExpandChain(st.Body, scope, st.Kind, start, x, 0);
                    next[st.Kind] = start + st.Body.Steps.Count;
                    break;
                }
                case MixerStmt m:
                    x = _mixers.Expand(m, scope, x);
                    break;
                case TrainStmt t:
                    train = t;
                    break;
            }
        }
        if (input is null && !missingInputReported)
            _diags.Report(CompilerDiagnostics.NoInput, entry.NameSpan, "add: input image[channels, size, size]", entry.Name);

        var trainConfig = TrainSchema.Resolve(_overrides.TrainEntries(train, trainOverrides), scope, _ev, _diags, out var trainSpans);
        TrainSpans = trainSpans;
        if (_diags.HasErrors || x is null || input is null) return null;
        var graph = new IrGraph(entry.Name, input, _graph.Nodes.ToList(), x.Id, trainConfig);
        TrainChecks.CheckModel(graph, _graph.Spans, _diags);
        if (_diags.HasErrors) return null;
        TrainChecks.CheckTraining(graph, _graph.Spans, trainSpans, classifier: seen.ContainsKey("head") || train is not null, _trainDiags);
        return graph;
    }

    /// <summary>
    /// False for a second input, stem, head or train statement (reported; it is skipped). The first statement
    /// that needs an input before there is one is reported once.
    /// </summary>
    private bool CheckPlace(ArchDecl entry, Stmt stmt, Dictionary<string, Stmt> seen, bool hasInput, ref bool missingInputReported)
    {
        var kind = ArchResolver.KindOf(stmt);
        if (kind is "input" or "stem" or "head" or "train")
        {
            if (seen.TryGetValue(kind, out var first))
            {
                var firstKeyword = new Span(first.Span.Source, first.Span.Start, Math.Min(kind.Length, first.Span.Length));
                _diags.Add(Diagnostic.Create(CompilerDiagnostics.DuplicateStatement, stmt.Span, kind is "stem" or "head" ? "join the two into one chain with ->" : null,
                    entry.Name, kind).WithLabel(firstKeyword, $"first '{kind}' statement here"));
                return false;
            }
            seen[kind] = stmt;
        }
        if (kind is not ("input" or "train") && !hasInput && !missingInputReported)
        {
            missingInputReported = true;
            _diags.Report(CompilerDiagnostics.InputAfterStages, stmt.Span, "start the arch with: input image[channels, size, size]", entry.Name, kind);
        }
        return true;
    }

    /// <summary>The input's shape: <c>image[C, H, W]</c>, <c>tokens[N, D]</c> or <c>vector[D]</c>, each size an integer from 1 to 1,000,000; null after an error.</summary>
    private Shape? InputShape(InputStmt inp, Scope scope)
    {
        var expected = inp.Layout switch { "image" => 3, "tokens" => 2, "vector" => 1, _ => -1 };
        if (expected < 0)
        {
            var close = Suggest.Closest(inp.Layout, ["image", "tokens", "vector"]);
            _diags.Report(CompilerDiagnostics.UnknownLayout, inp.LayoutSpan,
                close is not null ? $"did you mean '{close}'?" : "layouts: image[C, H, W], tokens[N, D], vector[D]", inp.Layout);
            return null;
        }
        var names = expected switch { 3 => "[C, H, W]", 2 => "[N, D]", _ => "[D]" };
        if (inp.Dims.Count != expected)
        {
            _diags.Report(CompilerDiagnostics.InputSizeCount, inp.Span, null, inp.Layout, expected, names, inp.Dims.Count);
            return null;
        }
        var dims = new int[expected];
        var ok = true;
        for (var i = 0; i < expected; i++)
        {
            var v = Evaluator.WholeAsInteger(_ev.Eval(inp.Dims[i], scope));
            switch (v)
            {
                case UnknownVal: ok = false; break;
                case IntVal { Value: >= 1 and <= 1_000_000 } iv: dims[i] = (int)iv.Value; break;
                case WordVal w when !Words.IsKnown(w.Word): _ev.ReportUndefined(w); ok = false; break;
                default:
                    _diags.Report(CompilerDiagnostics.InputSize, inp.Dims[i].Span, Evaluator.IntegerHint(v), Evaluator.Describe(v));
                    ok = false;
                    break;
            }
        }
        if (!ok) return null;
        var shape = new Shape(expected switch { 3 => Layout.Image, 2 => Layout.Tokens, _ => Layout.Vector }, dims);
        if (shape.Elements > Limits.MaxElements)
        {
            _diags.Report(CompilerDiagnostics.InputTooLarge, inp.Span, null, shape);
            return null;
        }
        return shape;
    }
}
