using ArchDsl.Dsl;

namespace ArchDsl.Compiler;

/// <summary>TEMPORARY: <see cref="DiagnosticBag"/>'s <c>Report(descriptor, span, hint, args)</c> until the Dsl's own
/// (branch <c>gram</c>, same signature) is merged; then this file is deleted and every call site binds to the Dsl's.</summary>
internal static class DiagnosticReport
{
    /// <summary>Reports <paramref name="d"/> at <paramref name="span"/>, its message format filled in with <paramref name="args"/>.</summary>
    public static void Report(this DiagnosticBag bag, DiagnosticDescriptor d, Span? span, string? hint, params object?[] args) =>
        bag.Add(new Diagnostic(d.Code, d.Format(args), span, hint));
}
