using ArchDsl.Dsl;

namespace ArchDsl.Compiler;

/// <summary>
/// The arch's parameter scope: a default (or an override's value) may use any other parameter; each is evaluated
/// once, on first use, and a parameter that depends on itself is an error (reported at its value, with the cycle).
/// </summary>
internal sealed class ArchParameters(DiagnosticBag diags, Evaluator ev)
{
    private readonly DiagnosticBag _diags = diags;
    private readonly Evaluator _ev = ev;

    private void Error(string code, string message, Span? span, string? hint = null) => _diags.Error(code, message, span, hint);

    /// <summary>The scope of <paramref name="arch"/>'s parameters, every one evaluated (in declaration order, so errors come in source order).</summary>
    public Scope Bind(ResolvedArch arch)
    {
        var (entry, rootArch, slots) = (arch.Entry, arch.Root, arch.Slots);
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
        return scope;
    }
}
