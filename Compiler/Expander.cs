using System.Runtime.CompilerServices;
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
/// </summary>
internal sealed class Expander
{
    private readonly DiagnosticBag _diags;
    private readonly Evaluator _ev;
    private readonly Dictionary<string, BlockDecl> _blocks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ArchDecl> _archs = new(StringComparer.Ordinal);
    private readonly List<IrNode> _nodes = new();
    private readonly List<Span> _spans = new(); // each node's source span, for the checks on the whole graph
    private readonly DiagnosticBag _trainDiags;
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly List<string> _blockStack = new();
    private long _work;
    private bool _aborted;

    /// <summary>The value flowing along a chain: the node that produced it and its shape. Null = unknown after an error.</summary>
    private sealed record Flow(int Id, Shape Shape);

    /// <param name="trainDiags">Receives what training needs of the graph beyond compiling (<see cref="TrainChecks"/>).</param>
    public Expander(IReadOnlyList<SpecFile> files, DiagnosticBag diags, DiagnosticBag? trainDiags = null)
    {
        _diags = diags;
        _trainDiags = trainDiags ?? new DiagnosticBag();
        _ev = new Evaluator(diags);
        foreach (var file in files.Distinct())
        {
            foreach (var b in file.Blocks)
            {
                CheckParams(b.Params, $"block '{b.Name}'");
                if (OpCatalog.TryGet(b.Name, out _))
                    Error(CompilerCodes.DuplicateDeclaration, $"block '{b.Name}' has the name of a built-in op", b.NameSpan, "rename the block");
                else if (_blocks.TryGetValue(b.Name, out var first))
                    Error(CompilerCodes.DuplicateDeclaration, $"block '{b.Name}' is declared twice (first at {first.NameSpan})", b.NameSpan);
                else _blocks[b.Name] = b;
            }
            foreach (var a in file.Archs)
            {
                CheckParams(a.Params, $"arch '{a.Name}'");
                if (_archs.TryGetValue(a.Name, out var first))
                    Error(CompilerCodes.DuplicateDeclaration, $"arch '{a.Name}' is declared twice (first at {first.NameSpan})", a.NameSpan);
                else _archs[a.Name] = a;
            }
        }
    }

    private void Error(string code, string message, Span? span, string? hint = null) => _diags.Error(code, message, span, hint);

    private void CheckParams(IReadOnlyList<ParamDecl> ps, string owner)
    {
        var seen = new Dictionary<string, ParamDecl>(StringComparer.Ordinal);
        foreach (var p in ps)
        {
            if (seen.TryGetValue(p.Name, out var first))
                Error(CompilerCodes.DuplicateParameter, $"parameter '{p.Name}' of {owner} is declared twice (first at {first.NameSpan})", p.NameSpan);
            else seen[p.Name] = p;
        }
    }

    // ---- arch resolution -----------------------------------------------------------------------------

    private sealed class ParamSlot(string name, Expr? value, Span nameSpan)
    {
        public string Name { get; } = name;
        public Expr? Value { get; set; } = value;
        public Span NameSpan { get; } = nameSpan;
    }

    public IrGraph? Run(SpecFile root, IReadOnlyList<Override> overrides, string? archName)
    {
        ArchDecl? entry;
        if (archName is not null)
        {
            entry = root.Archs.LastOrDefault(a => a.Name == archName) ?? (_archs.TryGetValue(archName, out var found) ? found : null);
            if (entry is null)
            {
                var close = Suggest.Closest(archName, _archs.Keys);
                Error(CompilerCodes.UnknownArch, $"no arch named '{archName}' in {root.Source.Path} or its imports", null,
                    close is not null ? $"did you mean '{close}'?" : _archs.Count > 0 ? $"archs: {string.Join(", ", _archs.Keys)}" : null);
                return null;
            }
        }
        else
        {
            entry = root.Archs.LastOrDefault();
            if (entry is null)
            {
                Error(CompilerCodes.UnknownArch, $"{root.Source.Path} declares no arch", new Span(root.Source, 0, 0),
                    "declare one: arch Name(dim = 128) followed by input, stem, mixer and head statements");
                return null;
            }
        }

        // The derivation chain, entry first, root (the arch with a parameter list) last.
        var chain = new List<ArchDecl> { entry };
        while (chain[^1].Base is { } b)
        {
            if (!_archs.TryGetValue(b.Name, out var baseArch))
            {
                var close = Suggest.Closest(b.Name, _archs.Keys.Where(k => k != chain[^1].Name));
                Error(CompilerCodes.UnknownBase, $"arch '{chain[^1].Name}' derives from '{b.Name}', which is no arch here", b.NameSpan,
                    close is not null ? $"did you mean '{close}'?" : "import the file that declares it");
                return null;
            }
            if (chain.Contains(baseArch))
            {
                Error(CompilerCodes.BaseCycle, $"arch '{entry.Name}' derives from itself: {string.Join(" = ", chain.Select(a => a.Name))} = {baseArch.Name}", b.NameSpan);
                return null;
            }
            chain.Add(baseArch);
        }
        chain.Reverse();
        var rootArch = chain[0];

        var slots = rootArch.Params.Select(p => new ParamSlot(p.Name, p.Default, p.NameSpan)).ToList();
        var body = rootArch.Body.ToList();
        foreach (var derived in chain.Skip(1))
        {
            ApplyBaseArgs(derived.Base!, slots, rootArch.Name);
            body = ReplaceStatements(body, derived.Body);
        }

        var trainOverrides = new List<(string Key, string? Sub, Expr Value, Span KeySpan)>();
        foreach (var o in WithoutConflicts(overrides)) ApplyOverride(o, slots, trainOverrides, entry.Name);

        // Parameters: a default (or an override's value) may use any other parameter; each is evaluated once,
        // on first use, and a parameter that depends on itself is an error.
        var scope = new Scope(null, $"arch '{entry.Name}' parameters");
        var bySlot = new Dictionary<string, ParamSlot>(StringComparer.Ordinal);
        foreach (var slot in slots) bySlot.TryAdd(slot.Name, slot);
        var evaluating = new List<string>();
        scope.Lazy = name =>
        {
            if (!bySlot.TryGetValue(name, out var slot)) return null;
            if (evaluating.Contains(name))
            {
                var cycle = string.Join(" -> ", evaluating.Skip(evaluating.IndexOf(name)).Append(name));
                Error(CompilerCodes.ParameterCycle, $"parameter '{name}' depends on itself ({cycle})", slot.Value?.Span ?? slot.NameSpan);
                return new UnknownVal(slot.NameSpan);
            }
            Val value;
            if (slot.Value is null)
            {
                Error(CompilerCodes.MissingArgument, $"parameter '{slot.Name}' of arch '{rootArch.Name}' has no default", slot.NameSpan,
                    $"give it one ({slot.Name} = …) or set it from a derived arch or --set {slot.Name}=…");
                value = new UnknownVal(slot.NameSpan);
            }
            else
            {
                evaluating.Add(name);
                try { value = _ev.Eval(slot.Value, scope); }
                finally { evaluating.RemoveAt(evaluating.Count - 1); }
            }
            if (!scope.HasOwn(name)) scope.Set(name, value);
            return value;
        };
        foreach (var slot in slots) scope.TryLookup(slot.Name, out _);

        return Build(entry, body, scope, trainOverrides);
    }

    private void ApplyBaseArgs(ArchBase b, List<ParamSlot> slots, string rootName)
    {
        var words = new BinderWords(() => $"arch '{b.Name}' takes {slots.Count} parameters, but more are given",
            n => $"arch '{b.Name}' has no parameter '{n}'", () => $"its parameters: {string.Join(", ", slots.Select(s => s.Name))}",
            n => $"parameter '{n}' of arch '{b.Name}' is given twice");
        foreach (var (slot, a) in ArgBinder.Match(b.Args, slots.Select(s => s.Name).ToArray(), a => a.Name, a => a.Span, ArgNameSpan, words, _diags, out _))
            slots[slot].Value = a.Value;
    }

    private static Span ArgNameSpan(Arg a) => a.Name is null ? a.Span : new Span(a.Span.Source, a.Span.Start, Math.Min(a.Name.Length, a.Span.Length));

    private static string KindOf(Stmt s) => s switch
    {
        InputStmt => "input",
        StageStmt st => st.Kind,
        MixerStmt => "mixer",
        TrainStmt => "train",
        _ => "?",
    };

    /// <summary>A derived arch's statements replace the base's statements of the same kind, in the base's place.</summary>
    private static List<Stmt> ReplaceStatements(List<Stmt> baseBody, IReadOnlyList<Stmt> derived)
    {
        var result = new List<Stmt>();
        var kinds = derived.Select(KindOf).ToHashSet();
        var placed = new HashSet<string>();
        foreach (var s in baseBody)
        {
            var kind = KindOf(s);
            if (!kinds.Contains(kind)) { result.Add(s); continue; }
            if (placed.Add(kind)) result.AddRange(derived.Where(d => KindOf(d) == kind));
        }
        foreach (var kind in kinds.Where(k => !placed.Contains(k)))
        {
            var extra = derived.Where(d => KindOf(d) == kind).ToList();
            var headAt = result.FindIndex(s => KindOf(s) == "head");
            if (kind == "input") result.InsertRange(0, extra);
            else if (kind != "train" && kind != "head" && headAt >= 0) result.InsertRange(headAt, extra);
            else result.AddRange(extra);
        }
        return result;
    }

    /// <summary>
    /// The overrides with each key once: a key given twice with the same value counts once; with two
    /// values it is a conflict (reported at the second), since which should win would depend on order.
    /// </summary>
    private IEnumerable<Override> WithoutConflicts(IReadOnlyList<Override> overrides)
    {
        var seen = new Dictionary<string, Override>(StringComparer.Ordinal);
        foreach (var o in overrides)
        {
            if (o.Malformed) { yield return o; continue; }
            if (!seen.TryGetValue(o.Key, out var first)) { seen[o.Key] = o; yield return o; continue; }
            if (first.Value.Trim() == o.Value.Trim()) continue;
            Error(CompilerCodes.ConflictingOverride, $"override '{o.Key}' is given twice, as {first.Value.Trim()} and as {o.Value.Trim()}",
                new Span(new SourceText("--set", o.ToString()), 0, o.Key.Length), $"keep one --set {o.Key}=…");
        }
    }

    private void ApplyOverride(Override o, List<ParamSlot> slots, List<(string, string?, Expr, Span)> train, string archName)
    {
        var text = $"{o.Key}={o.Value}";
        var src = new SourceText(Override.SourceName, text);
        var keySpan = new Span(src, 0, o.Key.Length);
        if (o.Malformed || o.Key.Length == 0)
        {
            Error(CompilerCodes.BadOverride, $"override '{o.Key}' is not name=value", keySpan, "write --set dim=256 or --set train.epochs=3");
            return;
        }
        var parts = o.Key.Split('.');
        if (parts[0] == "train" && parts.Length > 1)
        {
            if (parts.Length > 3 || parts.Any(p => p.Length == 0))
            {
                Error(CompilerCodes.BadOverride, $"override '{o.Key}' is not train.key or train.key.argument", keySpan);
                return;
            }
            if (!TrainSchema.KeyNames.Contains(parts[1]))
            {
                var close = Suggest.Closest(parts[1], TrainSchema.KeyNames);
                Error(CompilerCodes.UnknownOverride, $"unknown train key '{parts[1]}' in override '{o.Key}'", keySpan,
                    close is not null ? $"did you mean 'train.{close}'?" : $"train keys: {string.Join(", ", TrainSchema.KeyNames)}");
                return;
            }
            if (parts.Length == 3 && !TrainSchema.IsCallKey(parts[1]))
            {
                Error(CompilerCodes.UnknownOverride, $"train key '{parts[1]}' takes no arguments, so 'train.{parts[1]}.{parts[2]}' names nothing", keySpan,
                    $"set the key itself: --set train.{parts[1]}=…");
                return;
            }
            if (ParseOverrideValue(src, o.Key.Length + 1) is { } tv)
                train.Add((parts[1], parts.Length == 3 ? parts[2] : null, tv, keySpan));
            return;
        }
        var slot = slots.Find(s => s.Name == o.Key);
        if (slot is null)
        {
            var close = Suggest.Closest(o.Key, slots.Select(s => s.Name).Append("train"));
            Error(CompilerCodes.UnknownOverride, $"arch '{archName}' has no parameter '{o.Key}' to override", keySpan,
                close is not null ? $"did you mean '{close}'?" : $"its parameters: {string.Join(", ", slots.Select(s => s.Name))}; train keys: train.<key>");
            return;
        }
        if (ParseOverrideValue(src, o.Key.Length + 1) is { } value) slot.Value = value;
    }

    /// <summary>The value of an override, parsed by the spec grammar; null after reporting its syntax errors.</summary>
    private Expr? ParseOverrideValue(SourceText src, int start)
    {
        var parsed = SpecParser.ParseExpression(src, start);
        _diags.AddRange(parsed.Diagnostics);
        return parsed.Expr;
    }

    // ---- statements ----------------------------------------------------------------------------------

    private IrGraph? Build(ArchDecl entry, List<Stmt> body, Scope scope, List<(string Key, string? Sub, Expr Value, Span KeySpan)> trainOverrides)
    {
        Flow? x = null;
        Shape? input = null;
        var seen = new Dictionary<string, Stmt>();
        var next = new Dictionary<string, int>();
        var blockIndex = 0;
        var missingInputReported = false;
        TrainStmt? train = null;

        foreach (var stmt in body)
        {
            if (_aborted) break;
            var kind = KindOf(stmt);
            if (kind is "input" or "stem" or "head" or "train")
            {
                if (seen.TryGetValue(kind, out var first))
                {
                    Error(CompilerCodes.DuplicateStatement, $"arch '{entry.Name}' has a second '{kind}' statement (the first is at {first.Span})", stmt.Span,
                        kind is "stem" or "head" ? "join the two into one chain with ->" : null);
                    continue;
                }
                seen[kind] = stmt;
            }
            if (kind is not ("input" or "train") && input is null && !missingInputReported)
            {
                missingInputReported = true;
                Error(CompilerCodes.MissingInput, $"arch '{entry.Name}' has no input before its first {kind}", stmt.Span,
                    "start the arch with: input image[channels, size, size]");
            }
            switch (stmt)
            {
                case InputStmt inp:
                    if (_nodes.Count > 0)
                    {
                        Error(CompilerCodes.BadInput, "input must come before the stages", inp.Span);
                        break;
                    }
                    input = InputShape(inp, scope);
                    x = input is null ? null : new Flow(AddNode("input", OpCatalog.InputOp, [], [], [], input, [], [], 0, inp.Span)!.Id, input);
                    break;
                case StageStmt st:
                {
                    var start = next.GetValueOrDefault(st.Kind);
                    x = ExpandChain(st.Body, scope, st.Kind, start, x, 0);
                    next[st.Kind] = start + st.Body.Steps.Count;
                    break;
                }
                case MixerStmt m:
                    x = ExpandMixer(m, scope, ref blockIndex, x);
                    break;
                case TrainStmt t:
                    train = t;
                    break;
            }
        }
        if (input is null && !missingInputReported)
            Error(CompilerCodes.MissingInput, $"arch '{entry.Name}' has no input statement", entry.NameSpan, "add: input image[channels, size, size]");

        var trainConfig = ResolveTrain(train, scope, trainOverrides, out var trainSpans);
        if (_diags.HasErrors || x is null || input is null) return null;
        var graph = new IrGraph(entry.Name, input, _nodes.ToList(), x.Id, trainConfig);
        TrainChecks.CheckModel(graph, _spans, _diags);
        if (_diags.HasErrors) return null;
        TrainChecks.CheckTraining(graph, _spans, trainSpans, classifier: seen.ContainsKey("head") || train is not null, _trainDiags);
        return graph;
    }

    private Shape? InputShape(InputStmt inp, Scope scope)
    {
        var expected = inp.Layout switch { "image" => 3, "tokens" => 2, "vector" => 1, _ => -1 };
        if (expected < 0)
        {
            var close = Suggest.Closest(inp.Layout, ["image", "tokens", "vector"]);
            Error(CompilerCodes.BadInput, $"unknown input layout '{inp.Layout}'", inp.LayoutSpan,
                close is not null ? $"did you mean '{close}'?" : "layouts: image[C, H, W], tokens[N, D], vector[D]");
            return null;
        }
        var names = expected switch { 3 => "[C, H, W]", 2 => "[N, D]", _ => "[D]" };
        if (inp.Dims.Count != expected)
        {
            Error(CompilerCodes.BadInput, $"{inp.Layout} input needs {expected} sizes {names} but has {inp.Dims.Count}", inp.Span);
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
                    Error(CompilerCodes.BadInput, $"input size must be an integer from 1 to 1,000,000 but got {Evaluator.Describe(v)}", inp.Dims[i].Span,
                        Evaluator.IntegerHint(v));
                    ok = false;
                    break;
            }
        }
        if (!ok) return null;
        var shape = new Shape(expected switch { 3 => Layout.Image, 2 => Layout.Tokens, _ => Layout.Vector }, dims);
        if (shape.Elements > Limits.MaxElements)
        {
            Error(CompilerCodes.TooLarge, $"input {shape} is too large", inp.Span);
            return null;
        }
        return shape;
    }

    private TrainConfig ResolveTrain(TrainStmt? train, Scope scope, List<(string Key, string? Sub, Expr Value, Span KeySpan)> overrides,
                                     out IReadOnlyDictionary<string, Span> spans)
    {
        var entries = new List<(string Key, Expr Value, Span KeySpan)>();
        if (train is not null)
            foreach (var e in train.Entries)
            {
                var firstIdx = entries.FindIndex(x => x.Key == e.Key);
                if (firstIdx >= 0)
                {
                    Error(CompilerCodes.DuplicateTrainKey, $"train key '{e.Key}' is given twice (first at {entries[firstIdx].KeySpan})", e.KeySpan);
                    continue;
                }
                entries.Add((e.Key, e.Value, e.KeySpan));
            }
        // As Hydra composes: a whole value (train.optimizer=sgd, like choosing a config group) applies
        // first, then arguments (train.optimizer.lr=0.5) on top of it, whatever the command-line order.
        foreach (var (key, sub, value, keySpan) in overrides.OrderBy(o => o.Sub is null ? 0 : 1))
        {
            var idx = entries.FindIndex(x => x.Key == key);
            if (sub is null)
            {
                if (idx >= 0) entries[idx] = (key, value, keySpan);
                else entries.Add((key, value, keySpan));
                continue;
            }
            var current = idx >= 0 ? entries[idx].Value : null;
            var arg = new Arg(sub, value, value.Span);
            Expr? updated = current switch
            {
                null => new CallExpr(TrainSchema.DefaultCallName(key), [arg], keySpan, keySpan),
                CallExpr c => c with { Args = c.Args.Where(a => a.Name != sub).Append(arg).ToList() },
                Name n => new CallExpr(n.Id, [arg], n.Span, n.Span),
                StringLit s => new CallExpr(s.Value, [arg], s.Span, s.Span),
                _ => null,
            };
            if (updated is null)
            {
                Error(CompilerCodes.BadOverride, $"train key '{key}' does not hold a call, so its argument '{sub}' cannot be set", keySpan,
                    $"set the whole value: --set train.{key}=name({sub}: …)");
                continue;
            }
            if (idx >= 0) entries[idx] = (key, updated, entries[idx].KeySpan);
            else entries.Add((key, updated, keySpan));
        }
        return TrainSchema.Resolve(entries, scope, _ev, _diags, out spans);
    }

    // ---- mixer -----------------------------------------------------------------------------------------

    private Flow? ExpandMixer(MixerStmt m, Scope scope, ref int blockIndex, Flow? x)
    {
        var count = EvalCount(m.Count, scope, "mixer");
        Chain? token = null, channel = null;
        OpDef? normSig = null;
        Dictionary<string, BoundArg>? normArgs = null;
        var normPost = false;
        Span normSpan = m.Span;
        var residual = new HashSet<string> { "token", "channel" };
        Span residualSpan = m.Span;
        var dropPath = 0.0;
        Span dropSpan = m.Span;
        var ok = true;
        var keys = new Dictionary<string, MixerEntry>(StringComparer.Ordinal);
        string[] known = ["token", "channel", "norm", "residual", "drop_path"];

        foreach (var e in m.Entries)
        {
            if (!known.Contains(e.Key))
            {
                var close = Suggest.Closest(e.Key, known);
                Error(CompilerCodes.BadMixer, $"unknown mixer entry '{e.Key}'", e.KeySpan,
                    close is not null ? $"did you mean '{close}'?" : $"mixer entries: {string.Join(", ", known)}");
                ok = false;
                continue;
            }
            if (keys.TryGetValue(e.Key, out var first))
            {
                Error(CompilerCodes.BadMixer, $"mixer entry '{e.Key}' is given twice (first at {first.KeySpan})", e.KeySpan);
                ok = false;
                continue;
            }
            keys[e.Key] = e;
            switch (e.Key)
            {
                case "token" or "channel":
                {
                    var chain = e.Chain ?? ChainOf(e.Values, e.Span);
                    if (chain is null)
                    {
                        Error(CompilerCodes.BadMixer, $"mixer entry '{e.Key}' needs a chain of ops", e.Span, $"{e.Key}: conv(dim, kernel: 1) -> gelu");
                        ok = false;
                    }
                    else if (e.Key == "token") token = chain;
                    else channel = chain;
                    break;
                }
                case "norm":
                {
                    var values = MixerValues(e);
                    normSpan = e.Span;
                    if (values.Count is < 1 or > 2)
                    {
                        Error(CompilerCodes.BadMixer, "mixer norm takes a norm and an optional placement: norm: layer, pre", e.Span);
                        ok = false;
                        break;
                    }
                    var v = _ev.Eval(values[0], scope);
                    var (name, preset, nameSpan) = v switch
                    {
                        WordVal w => (w.Word, (IReadOnlyList<ArgVal>)[], values[0].Span),
                        CallVal c => (c.Name, c.Args, c.NameSpan),
                        _ => ((string?)null, (IReadOnlyList<ArgVal>)[], values[0].Span),
                    };
                    if (v is UnknownVal) { ok = false; break; }
                    if (name is null || !OpCatalog.TryGet(name, out var sig) || !OpCatalog.IsNorm(sig))
                    {
                        var close = name is null ? null : Suggest.Closest(name, OpCatalog.NormNames);
                        Error(CompilerCodes.BadMixer, $"mixer norm must be batch, layer, group, affine or none, not {Evaluator.Describe(v)}", nameSpan,
                            close is not null ? $"did you mean '{close}'?" : null);
                        ok = false;
                        break;
                    }
                    normSig = sig;
                    normArgs = BindOpArgs(sig, preset, values[0].Span);
                    if (normArgs is null) ok = false;
                    if (values.Count == 2)
                    {
                        var place = _ev.Eval(values[1], scope);
                        if (place is WordVal { Word: "pre" or "post" } pw) normPost = pw.Word == "post";
                        else if (place is not UnknownVal)
                        {
                            Error(CompilerCodes.BadMixer, $"norm placement must be pre or post, not {Evaluator.Describe(place)}", values[1].Span);
                            ok = false;
                        }
                    }
                    break;
                }
                case "residual":
                {
                    residualSpan = e.Span;
                    residual.Clear();
                    foreach (var expr in MixerValues(e))
                    {
                        var v = _ev.Eval(expr, scope);
                        switch (v)
                        {
                            case WordVal { Word: "token" or "channel" } w: residual.Add(w.Word); break;
                            case WordVal { Word: "both" }: residual.Add("token"); residual.Add("channel"); break;
                            case WordVal { Word: "none" }: break;
                            case UnknownVal: ok = false; break;
                            default:
                                Error(CompilerCodes.BadMixer, $"mixer residual must be token, channel, both or none, not {Evaluator.Describe(v)}", expr.Span,
                                    v is WordVal bad && Suggest.Closest(bad.Word, ["token", "channel", "both", "none"]) is { } c ? $"did you mean '{c}'?" : null);
                                ok = false;
                                break;
                        }
                    }
                    break;
                }
                case "drop_path":
                {
                    dropSpan = e.Span;
                    var values = MixerValues(e);
                    var v = values.Count == 1 ? _ev.Eval(values[0], scope) : null;
                    if (v is IntVal or FloatVal && (v is IntVal i ? i.Value : ((FloatVal)v).Value) is var p && p >= 0 && p < 1) dropPath = p;
                    else if (v is not UnknownVal)
                    {
                        Error(CompilerCodes.BadMixer, $"mixer drop_path must be a probability in [0, 1), not {(v is null ? "that" : Evaluator.Describe(v))}", e.Span);
                        ok = false;
                    }
                    break;
                }
            }
        }
        if (token is null && channel is null && keys.Count == m.Entries.Count && ok)
        {
            Error(CompilerCodes.BadMixer, "a mixer needs a token: or a channel: chain", m.Span, "token: attention(heads)   channel: linear(dim * 4) -> gelu -> linear(dim)");
            ok = false;
        }
        if (count is null || !ok) x = null;

        var blocks = count ?? 1;
        var nodesBefore = _nodes.Count;
        for (long b = 0; b < Math.Max(blocks, 1) && !_aborted; b++)
        {
            var prefix = $"blocks.{blockIndex}";
            if (count is not null && count > 0) blockIndex++;
            var dry = count is 0 ? null : x; // mixer * 0: check the chains once without building
            foreach (var (sub, chain) in new[] { ("token", token), ("channel", channel) })
            {
                if (chain is null) continue;
                var xin = dry;
                var h = xin;
                if (normSig is not null && normArgs is not null && normSig.IrOp != "identity" && !normPost)
                    h = EmitOp(normSig, normArgs, h, $"{prefix}.{sub}_norm", normSpan);
                var shapes = Scope.ForShape(xin?.Shape, chain.Span, scope);
                h = ExpandChain(chain, shapes, $"{prefix}.{sub}", 0, h, 0);
                if (residual.Contains(sub) && h is not null && xin is not null)
                {
                    if (!h.Shape.Equals(xin.Shape))
                    {
                        Error(CompilerCodes.ResidualShapeChange,
                            $"the {sub} sub-layer changes the shape from {xin.Shape} to {h.Shape}, so its residual add cannot work", chain.Span,
                            $"keep the shape in the {sub} chain, or drop its skip: residual: {(sub == "token" ? "channel" : "token")} (or none)");
                        h = null;
                    }
                    else
                    {
                        if (dropPath > 0)
                            h = EmitOp(DropoutOps.DropPath, new Dictionary<string, BoundArg> { ["p"] = new(dropPath, dropSpan) }, h, $"{prefix}.{sub}_drop", dropSpan);
                        if (h is not null)
                            h = Add(xin, h, $"{prefix}.{sub}_add", residualSpan);
                    }
                }
                if (normSig is not null && normArgs is not null && normSig.IrOp != "identity" && normPost)
                    h = EmitOp(normSig, normArgs, h, $"{prefix}.{sub}_norm", normSpan);
                dry = h;
            }
            if (count is 0) break;
            x = dry;
            if (x is null) break; // an error in the first block would repeat in every block
            if (b == 0 && count > 1 && !FitsLimit(_nodes.Count - nodesBefore, count.Value - 1, $"mixer * {count.Value:N0}", m.Count.Span)) return null;
        }
        return x;
    }

    /// <summary>The values of a mixer entry, whichever way the parser read them (a one-step chain is a value).</summary>
    private static IReadOnlyList<Expr> MixerValues(MixerEntry e)
    {
        if (e.Values.Count > 0 || e.Chain is null) return e.Values;
        return e.Chain.Steps.Select(s => s switch
        {
            OpStep { HasParens: true } op => new CallExpr(op.Op, op.Args, op.NameSpan, op.Span),
            OpStep op => (Expr)new Name(op.Op, op.NameSpan),
            _ => new StringLit("(a chain)", s.Span),
        }).ToList();
    }

    /// <summary>A chain from entry values, when the parser read <c>token: gelu</c> as a value.</summary>
    private static Chain? ChainOf(IReadOnlyList<Expr> values, Span span)
    {
        if (values.Count != 1) return null;
        Step? step = values[0] switch
        {
            Name n => new OpStep(n.Id, [], false, n.Span, n.Span),
            CallExpr c => new OpStep(c.Callee, c.Args, true, c.CalleeSpan, c.Span),
            _ => null,
        };
        return step is null ? null : new Chain([step], span);
    }

    // ---- chains ----------------------------------------------------------------------------------------

    private Flow? ExpandChain(Chain chain, Scope scope, string prefix, int start, Flow? x, int depth)
    {
        for (var i = 0; i < chain.Steps.Count && !_aborted; i++)
            x = ExpandStep(chain.Steps[i], scope, $"{prefix}.{start + i}", x, depth);
        return _aborted ? null : x;
    }

    private Flow? ExpandStep(Step step, Scope scope, string name, Flow? x, int depth)
    {
        RuntimeHelpers.EnsureSufficientExecutionStack();
        if (++_work > 4L * Limits.MaxNodes)
        {
            Abort($"expanding this spec takes more than {4L * Limits.MaxNodes:N0} steps", step.Span);
            return null;
        }
        if (depth > Limits.MaxDepth)
        {
            Error(CompilerCodes.TooDeep, $"blocks, repeats and residuals nest more than {Limits.MaxDepth} levels deep here", step.Span);
            _aborted = true;
            return null;
        }
        switch (step)
        {
            case ResidualStep r:
            {
                var h = ExpandChain(r.Body, scope, name, 0, x, depth + 1);
                if (h is null || x is null) return null;
                if (!h.Shape.Equals(x.Shape))
                {
                    Error(CompilerCodes.ResidualShapeChange,
                        $"residual body changes the shape from {x.Shape} to {h.Shape}; add needs both shapes equal", r.Span,
                        "make the body end in the input's shape, or take the chain out of residual { }");
                    return null;
                }
                return Add(x, h, $"{name}.add", r.Span);
            }
            case RepeatStep rep:
            {
                var count = EvalCount(rep.Count, scope, "repeat");
                if (count is null or 0)
                {
                    ExpandChain(rep.Body, scope, $"{name}.0", 0, null, depth + 1); // check the body without building it
                    return count is null ? null : x;
                }
                var nodesBefore = _nodes.Count;
                for (long r = 0; r < count && !_aborted; r++)
                {
                    x = ExpandChain(rep.Body, scope, $"{name}.{r}", 0, x, depth + 1);
                    if (x is null) break;
                    if (r == 0 && count > 1 && !FitsLimit(_nodes.Count - nodesBefore, count.Value - 1, $"repeat {count.Value:N0}", rep.Count.Span)) return null;
                }
                return _aborted ? null : x;
            }
            case OpStep op:
                return ExpandOp(op, scope, name, x, depth);
            default:
                return null;
        }
    }

    private long? EvalCount(Expr e, Scope scope, string what)
    {
        var v = Evaluator.WholeAsInteger(_ev.Eval(e, scope));
        switch (v)
        {
            case UnknownVal: return null;
            case IntVal { Value: < 0 } i:
                Error(CompilerCodes.InvalidArgument, $"{what} count must be ≥ 0 but is {i.Value}", e.Span);
                return null;
            case IntVal { Value: > Limits.MaxNodes } i:
                Error(CompilerCodes.TooLarge, $"{what} count {i.Value:N0} is over the limit of {Limits.MaxNodes:N0}", e.Span);
                return null;
            case IntVal i: return i.Value;
            case WordVal w when !Words.IsKnown(w.Word):
                _ev.ReportUndefined(w);
                return null;
            default:
                Error(CompilerCodes.ArgumentType, $"{what} count must be an integer but is {Evaluator.Describe(v)}", e.Span, Evaluator.IntegerHint(v));
                return null;
        }
    }

    private Flow? ExpandOp(OpStep op, Scope scope, string name, Flow? x, int depth)
    {
        var opName = op.Op;
        IReadOnlyList<ArgVal> preset = [];
        string? viaParam = null;
        var opNameSpan = op.NameSpan; // where the op's name is written: the step, or the value of the parameter it uses
        if (scope.TryLookup(op.Op, out var held))
        {
            viaParam = op.Op;
            switch (held)
            {
                case WordVal w: opName = w.Word; opNameSpan = w.Span; break;
                case CallVal c: opName = c.Name; preset = c.Args; opNameSpan = c.NameSpan; break;
                case UnknownVal: return null;
                default:
                    Error(CompilerCodes.NotAnOp, $"'{op.Op}' holds {Evaluator.Describe(held)}, not an op, so it cannot be a step", op.NameSpan,
                        "a step is an op (gelu, conv(…)), a block, or a parameter holding an op (act = gelu)");
                    return null;
            }
        }
        var stepArgs = op.Args.Select(a => _ev.EvalArg(a, scope)).ToList();
        var named = stepArgs.Where(a => a.Name is not null).Select(a => a.Name!).ToHashSet();
        var args = preset.Where(a => a.Name is null || !named.Contains(a.Name)).Concat(stepArgs).ToList();

        if (_blocks.TryGetValue(opName, out var block))
            return ExpandBlock(block, args, op, name, x, depth);
        if (!OpCatalog.TryGet(opName, out var sig))
        {
            // A parameter's bad value is one mistake however often the parameter is used: it is reported once, at the
            // value (the default in the header, or the --set override), with the first use as a secondary label.
            var close = Suggest.Closest(opName, OpCatalog.AllNames.Concat(_blocks.Keys));
            var unknown = new Diagnostic(CompilerCodes.UnknownOp,
                viaParam is null ? $"unknown op '{opName}'" : $"unknown op '{opName}' (the value of '{viaParam}')", opNameSpan,
                close is not null ? $"did you mean '{close}'?" : "ops: " + string.Join(", ", OpCatalog.AllNames.Order(StringComparer.Ordinal)));
            _diags.Add(viaParam is null ? unknown : unknown.WithLabel(op.NameSpan, $"'{viaParam}' used as a step here"));
            return null;
        }
        var bound = BindOpArgs(sig, args, op.Span);
        return bound is null ? null : EmitOp(sig, bound, x, name, op.Span);
    }

    /// <summary>Binds arguments to an op's signature; null after an error (reported) or an unknown value (already reported).</summary>
    private Dictionary<string, BoundArg>? BindOpArgs(OpDef op, IReadOnlyList<ArgVal> args, Span at) => ArgBinder.BindOp(op, args, at, _diags, _ev);

    private Flow? ExpandBlock(BlockDecl block, IReadOnlyList<ArgVal> args, OpStep call, string name, Flow? x, int depth)
    {
        var loopAt = _blockStack.IndexOf(block.Name);
        if (loopAt >= 0)
        {
            var cycle = string.Join(" -> ", _blockStack.Skip(loopAt).Append(block.Name));
            Error(CompilerCodes.BlockRecursion, $"block '{block.Name}' calls itself ({cycle})", call.NameSpan,
                "a block cannot expand into itself; use repeat n { … } to stack copies");
            return null;
        }
        var scope = new Scope(Scope.ForShape(x?.Shape, call.Span, null), $"block '{block.Name}' parameters");
        var words = new BinderWords(() => $"block '{block.Name}' takes {block.Params.Count} arguments, but more are given",
            n => $"block '{block.Name}' has no parameter '{n}'",
            () => block.Params.Count == 0 ? $"{block.Name} takes no arguments" : $"its parameters: {string.Join(", ", block.Params.Select(p => p.Name))}",
            n => $"argument '{n}' of block '{block.Name}' is given twice");
        var given = ArgBinder.Match(args, block.Params.Select(p => p.Name).ToArray(), a => a.Name, a => a.Span, a => a.NameSpan, words, _diags, out var ok)
            .ToDictionary(m => block.Params[m.Slot].Name, m => m.Arg, StringComparer.Ordinal);
        foreach (var p in block.Params)
        {
            if (scope.HasOwn(p.Name)) continue; // a duplicate parameter, reported at the declaration
            if (given.TryGetValue(p.Name, out var a)) scope.Set(p.Name, a.Value);
            else if (p.Default is not null) scope.Set(p.Name, _ev.Eval(p.Default, scope));
            else
            {
                Error(CompilerCodes.MissingArgument, $"block '{block.Name}' needs argument '{p.Name}'", call.Span,
                    $"usage: {block.Name}({string.Join(", ", block.Params.Select(q => q.Default is null ? q.Name : $"{q.Name}: …"))})");
                scope.Set(p.Name, new UnknownVal(call.Span));
                ok = false;
            }
        }
        _blockStack.Add(block.Name);
        try
        {
            var y = ExpandChain(block.Body, scope, name, 0, ok ? x : null, depth + 1);
            return ok ? y : null;
        }
        finally { _blockStack.RemoveAt(_blockStack.Count - 1); }
    }

    // ---- nodes -------------------------------------------------------------------------------------------

    private Flow? EmitOp(OpDef sig, IReadOnlyDictionary<string, BoundArg> args, Flow? x, string name, Span at)
    {
        if (x is null || _aborted) return null;
        var spec = OpCatalog.Infer(sig, args, x.Shape, at, _diags);
        if (spec is null) return null;
        var node = AddNode(name, sig.IrOp, spec.Attrs, [x.Id], [x.Shape], spec.Output, spec.Params, spec.Buffers, spec.MultAdds, at);
        return node is null ? null : new Flow(node.Id, node.OutputShape);
    }

    private Flow? Add(Flow a, Flow b, string name, Span at)
    {
        var node = AddNode(name, OpCatalog.AddOp, new Dictionary<string, object>(), [a.Id, b.Id], [a.Shape, b.Shape], a.Shape, [], [], 0, at);
        return node is null ? null : new Flow(node.Id, node.OutputShape);
    }

    private IrNode? AddNode(string name, string op, Dictionary<string, object> attrs, int[] inputs, Shape[] inputShapes, Shape output,
                            List<TensorSpec> ps, List<TensorSpec> bs, long multAdds, Span at)
    {
        if (_aborted) return null;
        if (_nodes.Count >= Limits.MaxNodes)
        {
            Abort($"the graph has more than {Limits.MaxNodes:N0} nodes", at);
            return null;
        }
        if (multAdds > Limits.MaxElements)
        {
            Error(CompilerCodes.TooLarge, $"{op} on {inputShapes.FirstOrDefault()} needs {multAdds:N0} mult-adds, over the limit of {Limits.MaxElements:N0}", at);
            return null;
        }
        if (!_names.Add(name)) throw new InvalidOperationException($"node name '{name}' made twice");
        var node = new IrNode(_nodes.Count, name, op, attrs, inputs, inputShapes, output, ps, bs, multAdds,
            new SourceLocation(at.File, at.Line, at.Column));
        _nodes.Add(node);
        _spans.Add(at);
        return node;
    }

    /// <summary>After the first of n identical expansions: would the rest go over the node limit? Then stop now, not after a million nodes.</summary>
    private bool FitsLimit(long perCopy, long moreCopies, string what, Span at)
    {
        if (perCopy == 0 || _nodes.Count + perCopy * moreCopies <= Limits.MaxNodes) return true;
        Abort($"{what} makes about {_nodes.Count + perCopy * moreCopies:N0} nodes, over the limit of {Limits.MaxNodes:N0}", at);
        return false;
    }

    private void Abort(string message, Span at)
    {
        if (_aborted) return;
        _aborted = true;
        Error(CompilerCodes.TooLarge, message, at, "lower the repeat / mixer counts");
    }
}
