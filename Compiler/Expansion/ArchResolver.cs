using ArchDsl.Dsl;

namespace ArchDsl.Compiler;

/// <summary>A parameter of the root arch and the expression that gives its value: the default, then a derived arch's argument, then a <c>--set</c> override.</summary>
internal sealed class ParamSlot(string name, Expr? value, Span nameSpan)
{
    public string Name { get; } = name;
    public Expr? Value { get; set; } = value;
    public Span NameSpan { get; } = nameSpan;
}

/// <summary>
/// The arch to compile, resolved: <see cref="Entry"/> the arch asked for, <see cref="Root"/> the end of its
/// derivation chain (the arch with the parameter list), <see cref="Body"/> the statements after every derived arch
/// replaced its base's, <see cref="Slots"/> the root's parameters with the derived arches' arguments applied.
/// </summary>
internal sealed record ResolvedArch(ArchDecl Entry, ArchDecl Root, List<Stmt> Body, List<ParamSlot> Slots);

/// <summary>
/// Arch resolution: finds the entry arch (by name, else the file's last), follows <c>arch D = Base(args)</c> to the
/// root, and applies each derived arch's arguments and statements on top of its base's.
/// </summary>
internal sealed class ArchResolver(DiagnosticBag diags, IReadOnlyDictionary<string, ArchDecl> archs)
{
    private readonly DiagnosticBag _diags = diags;
    private readonly IReadOnlyDictionary<string, ArchDecl> _archs = archs;

    private void Error(string code, string message, Span? span, string? hint = null) => _diags.Error(code, message, span, hint);

    /// <summary>The resolved arch; null after an error (reported): no such arch, an unknown base, a derivation cycle.</summary>
    public ResolvedArch? Resolve(SpecFile root, string? archName)
    {
        var entry = FindEntry(root, archName);
        if (entry is null) return null;
        var chain = DerivationChain(entry);
        if (chain is null) return null;
        var rootArch = chain[0];

        var slots = rootArch.Params.Select(p => new ParamSlot(p.Name, p.Default, p.NameSpan)).ToList();
        var body = rootArch.Body.ToList();
        foreach (var derived in chain.Skip(1))
        {
            ApplyBaseArgs(derived.Base!, slots, rootArch.Name);
            body = ReplaceStatements(body, derived.Body);
        }
        return new ResolvedArch(entry, rootArch, body, slots);
    }

    private ArchDecl? FindEntry(SpecFile root, string? archName)
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
        return entry;
    }

    /// <summary>The derivation chain, root (the arch with a parameter list) first, <paramref name="entry"/> last.</summary>
    private List<ArchDecl>? DerivationChain(ArchDecl entry)
    {
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
        return chain;
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

    /// <summary>The kind of a statement, as a derived arch replaces it and as an arch may hold it once: input, stem, layers, mixer, head, train.</summary>
    public static string KindOf(Stmt s) => s switch
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
}
