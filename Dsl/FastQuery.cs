// Sprache's Select, SelectMany (the query syntax `from … in … select`) and XOr, re-implemented for speed: the one
// replacement of a Sprache combinator the 1,000-block compile benchmark needs.
//
// Sprache builds SelectMany from Then + Select + Return and XOr from IfFailure, so every step of every `from … in …`
// allocates a few delegates and results per attempt. These give the same results (same values, remainders,
// messages and merged expectations) without the intermediate parsers. Declared in ArchDsl.Dsl, they take precedence
// over the `using Sprache` ones in the grammar, which therefore reads the same either way.
//
// Measured 2026-11-30 on the shared 2-core machine, 1,000-block spec (CompileBenchmark.Spec(1000), 241,551 chars),
// SpecParser.Parse after 5 warm-ups, 30 runs, with and without this file (everything else equal):
//   allocated per parse   59.4 MB with it,  105.9–108.6 MB without (GC.GetAllocatedBytesForCurrentThread)
//   parse user CPU        median 65.8 / 75.5 ms with it, 90.0 / 94.8 ms without (two interleaved rounds)
//   `./archc bench-compiler --iterations 40`, four interleaved rounds (total median, ms; the machine was loaded, so
//   the rounds scatter):   with 395.5, 360.7, 1110.7, 187.8   without 470.1, 310.2, 443.2, 238.9
// Without it the parse allocates ~1.8× as much and takes ~1.35× the CPU, so it stays.

using Sprache;

namespace ArchDsl.Dsl;

/// <summary>Sprache's query operators and <c>XOr</c> without intermediate parsers (see the measurement above).</summary>
internal static class ParserLinq
{
    public static Parser<U> Select<T, U>(this Parser<T> parser, Func<T, U> convert) => i =>
    {
        var r = parser(i);
        return r.WasSuccessful
            ? Result.Success(convert(r.Value), r.Remainder)
            : Result.Failure<U>(r.Remainder, r.Message, r.Expectations);
    };

    public static Parser<V> SelectMany<T, U, V>(this Parser<T> parser, Func<T, Parser<U>> selector, Func<T, U, V> projector) => i =>
    {
        var r = parser(i);
        if (!r.WasSuccessful) return Result.Failure<V>(r.Remainder, r.Message, r.Expectations);
        var t = r.Value;
        var r2 = selector(t)(r.Remainder);
        return r2.WasSuccessful
            ? Result.Success(projector(t, r2.Value), r2.Remainder)
            : Result.Failure<V>(r2.Remainder, r2.Message, r2.Expectations);
    };

    /// <summary>Sprache's <c>XOr</c>: the second alternative is tried only when the first failed without consuming
    /// input (or succeeded consuming none); failures at the same position merge their expectations.</summary>
    public static Parser<T> XOr<T>(this Parser<T> first, Parser<T> second) => i =>
    {
        var fr = first(i);
        if (!fr.WasSuccessful)
        {
            if (!fr.Remainder.Equals(i)) return fr;
            var sr = second(i);
            if (sr.WasSuccessful) return sr;
            if (sr.Remainder.Position > fr.Remainder.Position) return sr;
            return sr.Remainder.Position == fr.Remainder.Position
                ? Result.Failure<T>(fr.Remainder, fr.Message, fr.Expectations.Union(sr.Expectations))
                : fr;
        }
        if (fr.Remainder.Equals(i))
        {
            var sr = second(i);
            return sr.WasSuccessful ? sr : fr;
        }
        return fr;
    };
}
