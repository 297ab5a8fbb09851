using System.Runtime.CompilerServices;
using ArchDsl.Dsl;

namespace ArchDsl.Compiler;

/// <summary>
/// Chain expansion: the steps of a chain (<c>a -> b -> c</c>) become nodes, each named <c>prefix.i</c>. A step is
/// an op, a block call (its body under the call's name, <see cref="BlockScope"/> binding its arguments), a parameter
/// holding an op, <c>residual { }</c> (body, then an add of its input and output) or <c>repeat n { }</c> (the body n
/// times). Guards against runaway specs: nesting depth, total expansion steps, and a node-count estimate after the
/// first copy of a repeat (<see cref="GraphBuilder.FitsLimit"/>).
/// </summary>
internal sealed class ChainExpander(DiagnosticBag diags, Evaluator ev, IReadOnlyDictionary<string, BlockDecl> blocks, GraphBuilder graph)
{
    private readonly DiagnosticBag _diags = diags;
    private readonly Evaluator _ev = ev;
    private readonly IReadOnlyDictionary<string, BlockDecl> _blocks = blocks;
    private readonly GraphBuilder _graph = graph;
    private readonly BlockScope _blockScope = new(diags, ev);
    private readonly List<string> _blockStack = new();
    private long _work;

    /// <summary>Expands <paramref name="chain"/> on <paramref name="x"/>, naming step i <c>prefix.(start + i)</c>; null after an error or an abort.</summary>
    public Flow? ExpandChain(Chain chain, Scope scope, string prefix, int start, Flow? x, int depth)
    {
        for (var i = 0; i < chain.Steps.Count && !_graph.Aborted; i++)
            x = ExpandStep(chain.Steps[i], scope, $"{prefix}.{start + i}", x, depth);
        return _graph.Aborted ? null : x;
    }

    private Flow? ExpandStep(Step step, Scope scope, string name, Flow? x, int depth)
    {
        RuntimeHelpers.EnsureSufficientExecutionStack();
        if (++_work > 4L * Limits.MaxNodes)
        {
            _graph.Abort(CompilerDiagnostics.TooManySteps, step.Span, 4L * Limits.MaxNodes);
            return null;
        }
        if (depth > Limits.MaxDepth)
        {
            _diags.Report(CompilerDiagnostics.BlocksTooDeep, step.Span, null, Limits.MaxDepth);
            _graph.StopExpansion();
            return null;
        }
        return step switch
        {
            ResidualStep r => ExpandResidual(r, scope, name, x, depth),
            RepeatStep rep => ExpandRepeat(rep, scope, name, x, depth),
            OpStep op => ExpandOp(op, scope, name, x, depth),
            _ => null,
        };
    }

    /// <summary><c>residual { body }</c> at <c>name</c>: the body as <c>name.j</c>, then <c>name.add</c> of its input and output;
    /// <c>residual(sub) { body }</c> ends in <c>name.sub</c> = body(x) − x, <c>residual(mul) { body }</c> in <c>name.mul</c> = x · body(x);
    /// <c>residual(gate) { body }</c> is <c>name.v</c> = chunk(1) of x, the body on it, <c>name.u</c> = chunk(0) of x, then
    /// <c>name.gate</c> = u · body(v).</summary>
    private Flow? ExpandResidual(ResidualStep r, Scope scope, string name, Flow? x, int depth)
    {
        if (!OpCatalog.ResidualCombines.TryGetValue(r.Combine, out var op))
        {
            var close = Suggest.Closest(r.Combine, OpCatalog.ResidualCombines.Keys);
            _diags.Report(CompilerDiagnostics.UnknownResidualCombine, r.CombineSpan ?? r.Span,
                (close is not null ? $"did you mean '{close}'? " : "") + "residual(add) is x + body(x), residual(sub) body(x) − x, residual(mul) x · body(x), " +
                "residual(gate) u · body(v) of the channel halves u, v", r.Combine);
            x = null; // check the body, build nothing
        }
        var gate = r.Combine == OpCatalog.GateCombine;
        var input = gate ? Half(x, 1, $"{name}.v", r.Span) : x; // a gate's body sees the second half, v
        var h = ExpandChain(r.Body, scope, name, 0, input, depth + 1);
        if (h is null || input is null || x is null) return null;
        if (!h.Shape.Equals(input.Shape))
        {
            _diags.Report(CompilerDiagnostics.ResidualShapeChange, r.Span, "make the body end in the input's shape, or take the chain out of residual { }", input.Shape, h.Shape);
            return null;
        }
        if (gate) return Half(x, 0, $"{name}.u", r.Span) is { } u ? _graph.Elementwise(op!, u, h, $"{name}.{r.Combine}", r.Span) : null;
        return op == OpCatalog.SubOp ? _graph.Elementwise(op, h, x, $"{name}.{r.Combine}", r.Span) : _graph.Elementwise(op!, x, h, $"{name}.{r.Combine}", r.Span);
    }

    /// <summary>Half <paramref name="index"/> (0: u, 1: v) of <paramref name="x"/>'s channels, a <c>chunk</c> node written at <paramref name="at"/>; null after an error (an odd channel count, reported once, for v).</summary>
    private Flow? Half(Flow? x, long index, string name, Span at) =>
        x is null ? null : _graph.EmitOp(SplitOps.Chunk, new Dictionary<string, BoundArg> { ["index"] = new(index, at), ["chunks"] = new(2L, at) }, x, name, at);

    /// <summary><c>repeat n { body }</c> at <c>name</c>: repetition r as <c>name.r.j</c>; with n = 0 the body is checked once, not built.</summary>
    private Flow? ExpandRepeat(RepeatStep rep, Scope scope, string name, Flow? x, int depth)
    {
        var count = EvalCount(rep.Count, scope, "repeat");
        if (count is null or 0)
        {
            ExpandChain(rep.Body, scope, $"{name}.0", 0, null, depth + 1); // check the body without building it
            return count is null ? null : x;
        }
        var nodesBefore = _graph.Nodes.Count;
        for (long r = 0; r < count && !_graph.Aborted; r++)
        {
            x = ExpandChain(rep.Body, scope, $"{name}.{r}", 0, x, depth + 1);
            if (x is null) break;
            if (r == 0 && count > 1 && !_graph.FitsLimit(_graph.Nodes.Count - nodesBefore, count.Value - 1, $"repeat {count.Value:N0}", rep.Count.Span)) return null;
        }
        return _graph.Aborted ? null : x;
    }

    /// <summary>A repeat or mixer count: an integer from 0 to <see cref="Limits.MaxNodes"/>; null after an error (reported).</summary>
    public long? EvalCount(Expr e, Scope scope, string what)
    {
        var v = Evaluator.WholeAsInteger(_ev.Eval(e, scope));
        switch (v)
        {
            case UnknownVal: return null;
            case IntVal { Value: < 0 } i:
                _diags.ReportValue(CompilerDiagnostics.NegativeCount, v with { Span = e.Span }, null, what, i.Value);
                return null;
            case IntVal { Value: > Limits.MaxNodes } i:
                _diags.ReportValue(CompilerDiagnostics.CountTooLarge, v with { Span = e.Span }, null, what, i.Value, Limits.MaxNodes);
                return null;
            case IntVal i: return i.Value;
            case WordVal w when !Words.IsKnown(w.Word):
                _ev.ReportUndefined(w);
                return null;
            default:
                _diags.ReportValue(CompilerDiagnostics.CountType, v with { Span = e.Span }, Evaluator.IntegerHint(v), what, Evaluator.Describe(v));
                return null;
        }
    }

    /// <summary>
    /// An op step: the name is a built-in op, a block, or a parameter holding either (its preset arguments first,
    /// each replaced by a step argument that fills the same slot).
    /// </summary>
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
                    _diags.Report(CompilerDiagnostics.NotAnOp, op.NameSpan, "a step is an op (gelu, conv(…)), a block, or a parameter holding an op (act = gelu)",
                        op.Op, Evaluator.Describe(held));
                    return null;
            }
        }
        // the step's arguments on top of the preset's: the binder lets each replace the preset one of its slot
        var args = preset.Count == 0 ? op.Args.Select(a => _ev.EvalArg(a, scope)).ToList()
                                     : preset.Concat(op.Args.Select(a => _ev.EvalArg(a, scope) with { Overrides = true })).ToList();

        if (_blocks.TryGetValue(opName, out var block))
            return ExpandBlock(block, args, op, name, x, depth);
        if (!OpCatalog.TryGet(opName, out var sig))
        {
            // A parameter's bad value is one mistake however often the parameter is used: it is reported once, at the
            // value (the default in the header, or the --set override), with the first use as a secondary label.
            var close = Suggest.Closest(opName, OpCatalog.AllNames.Concat(_blocks.Keys).Concat(viaParam is null ? OpNames(scope) : []));
            var hint = close is not null ? $"did you mean '{close}'?" : "ops: " + string.Join(", ", OpCatalog.AllNames.Order(StringComparer.Ordinal));
            var unknown = viaParam is null ? Diagnostic.Create(CompilerDiagnostics.UnknownOp, opNameSpan, hint, opName)
                                           : Diagnostic.Create(CompilerDiagnostics.UnknownOpViaParameter, opNameSpan, hint, opName, viaParam);
            _diags.Add(viaParam is null ? unknown : unknown.WithLabel(op.NameSpan, $"'{viaParam}' used as a step here"));
            return null;
        }
        var bound = ArgBinder.BindOp(sig, args, op.Span, _diags, _ev);
        return bound is null ? null : _graph.EmitOp(sig, bound, x, name, op.Span);
    }

    /// <summary>The names in scope that can stand as a step: parameters and let-bound names holding an op or block (act = gelu).</summary>
    private static IEnumerable<string> OpNames(Scope scope) =>
        scope.AllNames().Distinct().Where(n => scope.TryLookup(n, out var v) && v is WordVal or CallVal);

    /// <summary>A block call at <c>name</c>: its body's steps as <c>name.j</c>, in a scope of its bound arguments; a block that calls itself is an error.</summary>
    private Flow? ExpandBlock(BlockDecl block, IReadOnlyList<ArgVal> args, OpStep call, string name, Flow? x, int depth)
    {
        var loopAt = _blockStack.IndexOf(block.Name);
        if (loopAt >= 0)
        {
            var cycle = string.Join(" -> ", _blockStack.Skip(loopAt).Append(block.Name));
            _diags.Report(CompilerDiagnostics.BlockRecursion, call.NameSpan, "a block cannot expand into itself; use repeat n { … } to stack copies", block.Name, cycle);
            return null;
        }
        var scope = _blockScope.Bind(block, args, call, x?.Shape, out var ok);
        _blockStack.Add(block.Name);
        try
        {
            var y = ExpandChain(block.Body, scope, name, 0, ok ? x : null, depth + 1);
            return ok ? y : null;
        }
        finally { _blockStack.RemoveAt(_blockStack.Count - 1); }
    }
}
