using ArchDsl.Dsl;

namespace ArchDsl.Compiler;

/// <summary>Names bound to values, innermost first. <c>Kind</c> says what binds them (for messages).</summary>
internal sealed class Scope(Scope? parent, string kind)
{
    private readonly Dictionary<string, Val> _vars = new(StringComparer.Ordinal);
    public Scope? Parent { get; } = parent;
    public string Kind { get; } = kind;

    public void Set(string name, Val value) => _vars[name] = value;
    public bool HasOwn(string name) => _vars.ContainsKey(name);

    /// <summary>Evaluates, on first use, a name this scope declares but has not bound yet (arch parameters
    /// in any order); null when the scope does not declare it.</summary>
    public Func<string, Val?>? Lazy { get; set; }

    public bool TryLookup(string name, out Val value)
    {
        for (var s = this; s is not null; s = s.Parent)
        {
            if (s._vars.TryGetValue(name, out value!)) return true;
            if (s.Lazy?.Invoke(name) is { } v) { value = v; return true; }
        }
        value = null!;
        return false;
    }

    public IEnumerable<string> AllNames()
    {
        for (var s = this; s is not null; s = s.Parent)
            foreach (var k in s._vars.Keys) yield return k;
    }

    /// <summary>The shape names of a chain's input: image → C, H, W; tokens → N, D; vector → D.</summary>
    public static Scope ForShape(Shape? shape, Span span, Scope? parent)
    {
        var s = new Scope(parent, "shape names");
        Val V(int i) => shape is null ? new UnknownVal(span) : new IntVal(shape.Dims[i], span);
        var layout = shape?.Layout;
        if (shape is null)
        {
            foreach (var n in new[] { "C", "H", "W", "N", "D" }) s.Set(n, new UnknownVal(span));
        }
        else if (layout == Layout.Image) { s.Set("C", V(0)); s.Set("H", V(1)); s.Set("W", V(2)); }
        else if (layout == Layout.Tokens) { s.Set("N", V(0)); s.Set("D", V(1)); }
        else s.Set("D", V(0));
        return s;
    }
}
