using System.Globalization;
using System.Text;

namespace ArchDsl.Dsl.Tests;

/// <summary>A compact S-expression rendering of the AST, so a test can state the whole expected tree in one line.</summary>
public static class AstText
{
    public static string Of(SpecFile f)
    {
        var sb = new StringBuilder();
        foreach (var i in f.Imports) sb.Append($"(import \"{i.Path}\")\n");
        foreach (var b in f.Blocks) sb.Append(Of(b)).Append('\n');
        foreach (var a in f.Archs) sb.Append(Of(a)).Append('\n');
        return sb.ToString();
    }

    public static string Of(BlockDecl b) => $"(block {b.Name} ({string.Join(" ", b.Params.Select(Of))}) {Of(b.Body)})";

    public static string Of(ArchDecl a)
    {
        var head = a.Base is { } b
            ? $"= {b.Name}({string.Join(", ", b.Args.Select(Of))})"
            : $"({string.Join(" ", a.Params.Select(Of))})";
        return $"(arch {a.Name} {head}{string.Concat(a.Body.Select(s => "\n  " + Of(s)))})";
    }

    public static string Of(ParamDecl p) => p.Default is null ? p.Name : $"{p.Name}={Of(p.Default)}";

    public static string Of(Stmt s) => s switch
    {
        InputStmt i => $"(input {i.Layout} {string.Join(" ", i.Dims.Select(Of))})",
        StageStmt st => $"({st.Kind} {Of(st.Body)})",
        MixerStmt m => $"(mixer {Of(m.Count)}{string.Concat(m.Entries.Select(e => " " + Of(e)))})",
        TrainStmt t => $"(train{string.Concat(t.Entries.Select(e => $" {e.Key}={Of(e.Value)}"))})",
        _ => throw new ArgumentException(s.GetType().Name),
    };

    public static string Of(MixerEntry e) =>
        e.Chain is { } c ? $"[{e.Key}: {Of(c)}]" : $"[{e.Key}= {string.Join(", ", e.Values.Select(Of))}]";

    public static string Of(Chain c) => string.Join(" -> ", c.Steps.Select(Of));

    public static string Of(Step s) => s switch
    {
        OpStep o => o.HasParens ? $"{o.Op}({string.Join(", ", o.Args.Select(Of))})" : o.Op,
        ResidualStep r => $"residual{{{Of(r.Body)}}}",
        RepeatStep r => $"repeat {Of(r.Count)}{{{Of(r.Body)}}}",
        _ => throw new ArgumentException(s.GetType().Name),
    };

    public static string Of(Arg a) => a.Name is null ? Of(a.Value) : $"{a.Name}: {Of(a.Value)}";

    public static string Of(Expr e) => e switch
    {
        IntLit i => i.Value.ToString(CultureInfo.InvariantCulture),
        FloatLit f => f.Value.ToString("R", CultureInfo.InvariantCulture) + "f",
        StringLit s => $"\"{s.Value}\"",
        Name n => n.Id,
        Binary b => $"({Of(b.Left)} {b.Op} {Of(b.Right)})",
        Negate n => $"(-{Of(n.Operand)})",
        CallExpr c => $"{c.Callee}({string.Join(", ", c.Args.Select(Of))})",
        ListExpr l => $"[{string.Join(", ", l.Items.Select(Of))}]",
        _ => throw new ArgumentException(e.GetType().Name),
    };
}
