using ArchDsl.Dsl;

namespace ArchDsl.Compiler;

/// <summary>
/// What a <c>mixer * n { … }</c> statement's entries say, checked: the token and channel chains, the norm (op, bound
/// arguments, pre or post placement), which sub-layers have a residual skip, and the drop-path probability. Each
/// span is the entry's (the statement's when the entry is absent). <see cref="Ok"/> is false after an error.
/// </summary>
internal sealed class MixerSpec(Span span)
{
    public Chain? Token { get; set; }
    public Chain? Channel { get; set; }
    public OpDef? Norm { get; set; }
    public Dictionary<string, BoundArg>? NormArgs { get; set; }
    public bool NormPost { get; set; }
    public Span NormSpan { get; set; } = span;
    public HashSet<string> Residual { get; } = new() { "token", "channel" };
    public Span ResidualSpan { get; set; } = span;
    public double DropPath { get; set; }
    public Span DropSpan { get; set; } = span;
    public bool Ok { get; set; } = true;

    /// <summary>The norm to emit around each sub-layer at this placement (pre or post), or null: none, identity, or in error.</summary>
    public OpDef? NormAt(bool post) => Norm is not null && NormArgs is not null && Norm.IrOp != "identity" && NormPost == post ? Norm : null;
}

/// <summary>
/// Reads a mixer statement's entries (<c>token:</c>, <c>channel:</c>, <c>norm:</c>, <c>residual:</c>,
/// <c>drop_path:</c>) into a <see cref="MixerSpec"/>, reporting unknown, repeated and ill-typed entries.
/// </summary>
internal sealed class MixerReader(DiagnosticBag diags, Evaluator ev)
{
    private static readonly string[] Known = ["token", "channel", "norm", "residual", "drop_path"];
    private readonly DiagnosticBag _diags = diags;
    private readonly Evaluator _ev = ev;

    public MixerSpec Read(MixerStmt m, Scope scope)
    {
        var spec = new MixerSpec(m.Span);
        var keys = new Dictionary<string, MixerEntry>(StringComparer.Ordinal);
        foreach (var e in m.Entries)
        {
            if (!Known.Contains(e.Key))
            {
                var close = Suggest.Closest(e.Key, Known);
                _diags.Report(CompilerDiagnostics.UnknownMixerEntry, e.KeySpan,
                    close is not null ? $"did you mean '{close}'?" : $"mixer entries: {string.Join(", ", Known)}", e.Key);
                spec.Ok = false;
                continue;
            }
            if (keys.TryGetValue(e.Key, out var first))
            {
                _diags.Add(Diagnostic.Create(CompilerDiagnostics.MixerEntryTwice, e.KeySpan, null, e.Key).WithLabel(first.KeySpan, CompilerDiagnostics.FirstGiven));
                spec.Ok = false;
                continue;
            }
            keys[e.Key] = e;
            var ok = e.Key switch
            {
                "token" or "channel" => ReadChain(e, spec),
                "norm" => ReadNorm(e, scope, spec),
                "residual" => ReadResidual(e, scope, spec),
                _ => ReadDropPath(e, scope, spec),
            };
            if (!ok) spec.Ok = false;
        }
        if (spec.Token is null && spec.Channel is null && keys.Count == m.Entries.Count && spec.Ok)
        {
            _diags.Report(CompilerDiagnostics.MixerWithoutChain, m.Span, "token: attention(heads)   channel: linear(dim * 4) -> gelu -> linear(dim)");
            spec.Ok = false;
        }
        return spec;
    }

    private bool ReadChain(MixerEntry e, MixerSpec spec)
    {
        var chain = e.Chain ?? ChainOf(e.Values, e.Span);
        if (chain is null)
        {
            _diags.Report(CompilerDiagnostics.MixerEntryNotChain, e.Span, $"{e.Key}: conv(dim, kernel: 1) -> gelu", e.Key);
            return false;
        }
        if (e.Key == "token") spec.Token = chain;
        else spec.Channel = chain;
        return true;
    }

    /// <summary><c>norm: layer</c>, <c>norm: batch(eps: …), post</c>: a norm op (or none) and an optional placement, pre by default.</summary>
    private bool ReadNorm(MixerEntry e, Scope scope, MixerSpec spec)
    {
        var values = MixerValues(e);
        spec.NormSpan = e.Span;
        if (values.Count is < 1 or > 2)
        {
            _diags.Report(CompilerDiagnostics.MixerNormShape, e.Span, null);
            return false;
        }
        var v = _ev.Eval(values[0], scope);
        var (name, preset, nameSpan) = v switch
        {
            WordVal w => (w.Word, (IReadOnlyList<ArgVal>)[], values[0].Span),
            CallVal c => (c.Name, c.Args, c.NameSpan),
            _ => ((string?)null, (IReadOnlyList<ArgVal>)[], values[0].Span),
        };
        if (v is UnknownVal) return false;
        if (name is null || !OpCatalog.TryGet(name, out var sig) || !OpCatalog.IsNorm(sig))
        {
            var close = name is null ? null : Suggest.Closest(name, OpCatalog.NormNames);
            _diags.Report(CompilerDiagnostics.MixerNormKind, nameSpan, close is not null ? $"did you mean '{close}'?" : null, Evaluator.Describe(v));
            return false;
        }
        spec.Norm = sig;
        spec.NormArgs = ArgBinder.BindOp(sig, preset, values[0].Span, _diags, _ev);
        var ok = spec.NormArgs is not null;
        if (values.Count == 2)
        {
            var place = _ev.Eval(values[1], scope);
            if (place is WordVal { Word: "pre" or "post" } pw) spec.NormPost = pw.Word == "post";
            else if (place is not UnknownVal)
            {
                _diags.ReportUse(CompilerDiagnostics.MixerNormPlacement, values[1].Span, place.Origins, null, Evaluator.Describe(place));
                ok = false;
            }
        }
        return ok;
    }

    /// <summary><c>residual: token</c> (or channel, both, none; several allowed): the sub-layers with a skip, both by default.</summary>
    private bool ReadResidual(MixerEntry e, Scope scope, MixerSpec spec)
    {
        spec.ResidualSpan = e.Span;
        spec.Residual.Clear();
        var ok = true;
        foreach (var expr in MixerValues(e))
        {
            var v = _ev.Eval(expr, scope);
            switch (v)
            {
                case WordVal { Word: "token" or "channel" } w: spec.Residual.Add(w.Word); break;
                case WordVal { Word: "both" }: spec.Residual.Add("token"); spec.Residual.Add("channel"); break;
                case WordVal { Word: "none" }: break;
                case UnknownVal: ok = false; break;
                default:
                    _diags.ReportUse(CompilerDiagnostics.MixerResidual, expr.Span, v.Origins,
                        v is WordVal bad && Suggest.Closest(bad.Word, ["token", "channel", "both", "none"]) is { } c ? $"did you mean '{c}'?" : null,
                        Evaluator.Describe(v));
                    ok = false;
                    break;
            }
        }
        return ok;
    }

    /// <summary><c>drop_path: p</c>: the stochastic-depth probability on each residual branch, in [0, 1).</summary>
    private bool ReadDropPath(MixerEntry e, Scope scope, MixerSpec spec)
    {
        spec.DropSpan = e.Span;
        var values = MixerValues(e);
        var v = values.Count == 1 ? _ev.Eval(values[0], scope) : null;
        if (v is IntVal or FloatVal && (v is IntVal i ? i.Value : ((FloatVal)v).Value) is var p && p >= 0 && p < 1) spec.DropPath = p;
        else if (v is not UnknownVal)
        {
            _diags.ReportUse(CompilerDiagnostics.MixerDropPath, e.Span, v?.Origins ?? [], null, v is null ? "that" : Evaluator.Describe(v));
            return false;
        }
        return true;
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
}
