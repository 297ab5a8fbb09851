using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;

namespace ArchDsl.Dsl.Tests;

/// <summary>
/// The parser never throws, never hangs and never reports nonsense, whatever it is given: thousands of
/// seeded mutations of the real specs (characters and tokens deleted, inserted, duplicated, swapped; files
/// truncated) and random strings. Deterministic (fixed seeds) and bounded in time.
/// </summary>
public partial class FuzzTests
{
    private const int Seed = 20240611;

    /// <summary>The invariants every parse must keep, on any input.</summary>
    private static ParseResult ParseAndCheck(string text)
    {
        var sw = Stopwatch.StartNew();
        var r = SpecParser.Parse(text, "fuzz.arch");
        sw.Stop();
        // A hang guard (catastrophic backtracking takes hours), not a speed target: the seven huge inputs below took 4 s
        // together on a loaded 2-core machine, and a CI machine can be several times slower.
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), $"parse took {sw.ElapsedMilliseconds} ms on: {Show(text)}");
        Assert.NotNull(r.File);
        foreach (var d in r.Diagnostics)
        {
            Assert.True(d.Code != DslCodes.InternalError.Code, $"internal error {d.Message} on: {Show(text)}");
            Assert.Matches("^AD00[0-9][0-9]$", d.Code);
            Assert.False(string.IsNullOrWhiteSpace(d.Message));
            Assert.DoesNotContain("{found}", d.Message);
            Assert.NotEmpty(d.Render());
            if (d.Span is not { } s)
            {
                Assert.Equal(DslCodes.TooManyErrors.Code, d.Code);
                continue;
            }
            Assert.InRange(s.Start, 0, text.Length);
            Assert.InRange(s.End, s.Start, text.Length);
        }
        // a file without diagnostics parsed completely: every node's span lies inside the text
        if (r.Diagnostics.Count == 0)
            foreach (var a in r.File.Archs)
                Assert.InRange(a.Span.End, a.Span.Start, text.Length);
        return r;
    }

    private static string Show(string text) => text.Length <= 300 ? $"\"{text}\"" : $"\"{text[..300]}…\" ({text.Length} chars)";

    [GeneratedRegex(@"[A-Za-z_][A-Za-z0-9_\-]*|[0-9][0-9.eE+\-]*|""[^""\n]*""?|->|#[^\n]*|\s+|.", RegexOptions.Singleline)]
    private static partial Regex TokenPattern();

    private static readonly string[] Alphabet =
        ["(", ")", "{", "}", "[", "]", "\"", "#", ",", ":", "=", "->", "-", "*", "/", "%", "+", "\n", " ", "\0", "é", "\uD83D\uDE00", "\uD800",
         "arch", "block", "import", "stem", "mixer", "residual", "repeat", "train", "x", "1", "1e-6", "0.5", "a-b"];

    private static string Mutate(string s, Random rng)
    {
        var steps = rng.Next(1, 5);
        for (var k = 0; k < steps && s.Length > 0; k++)
        {
            var tokens = TokenPattern().Matches(s).Select(m => m.Value).ToList();
            int i = rng.Next(s.Length), j = rng.Next(s.Length);
            int ti = rng.Next(tokens.Count), tj = rng.Next(tokens.Count);
            s = rng.Next(10) switch
            {
                0 => s.Remove(i, Math.Min(rng.Next(1, 8), s.Length - i)),                       // delete chars
                1 => s.Insert(i, Alphabet[rng.Next(Alphabet.Length)]),                          // insert a char or word
                2 => s.Insert(i, s.Substring(Math.Min(i, j), Math.Abs(i - j) % 40)),             // duplicate a range
                3 => Swap(s.ToCharArray(), i, j),                                               // swap two chars
                4 => s[..i],                                                                    // truncate
                5 => string.Concat(tokens.Where((_, n) => n != ti)),                            // delete a token
                6 => string.Concat(tokens.Take(ti + 1).Append(tokens[ti]).Concat(tokens.Skip(ti + 1))), // duplicate a token
                7 => string.Concat(SwapList(tokens, ti, tj)),                                   // swap two tokens
                8 => string.Concat(tokens.Take(ti).Append(Alphabet[rng.Next(Alphabet.Length)]).Concat(tokens.Skip(ti + 1))), // replace a token
                _ => s.Insert(i, new string('(', rng.Next(1, 300))),                            // nesting
            };
        }
        return s;
    }

    private static string Swap(char[] c, int i, int j)
    {
        (c[i], c[j]) = (c[j], c[i]);
        return new string(c);
    }

    private static List<string> SwapList(List<string> l, int i, int j)
    {
        (l[i], l[j]) = (l[j], l[i]);
        return l;
    }

    [Fact]
    public void Thousands_of_mutated_specs_never_throw_or_hang()
    {
        var rng = new Random(Seed);
        int clean = 0, broken = 0;
        for (var n = 0; n < 4000; n++)
        {
            var source = Examples.All[n % Examples.All.Length];
            var r = ParseAndCheck(Mutate(source, rng));
            if (r.HasErrors) broken++; else clean++;
        }
        // the mutations really exercise both outcomes (each parse's hang guard is in ParseAndCheck;
        // speed is the benchmark's business, not this test's)
        Assert.True(broken > 1000, $"only {broken} mutants had errors");
        Assert.True(clean > 50, $"only {clean} mutants parsed cleanly");
    }

    [Fact]
    public void Parsing_is_deterministic()
    {
        var rng = new Random(Seed + 1);
        for (var n = 0; n < 200; n++)
        {
            var text = Mutate(Examples.All[n % Examples.All.Length], rng);
            var a = SpecParser.Parse(text, "d.arch");
            var b = SpecParser.Parse(text, "d.arch");
            Assert.Equal(a.Diagnostics.Select(d => d.ToString()), b.Diagnostics.Select(d => d.ToString()));
            Assert.Equal(AstText.Of(a.File), AstText.Of(b.File));
        }
    }

    [Fact]
    public void Random_strings_never_throw()
    {
        // FsCheck generates arbitrary strings (any UTF-16, control characters, NUL) and strings over the
        // language's own characters; the seed is fixed so a failure replays.
        var langChars = Gen.Elements("abcxyz_-09.e\"#(){}[],:=>*/%+ \n\t\0é".ToCharArray());
        var langStrings = Gen.ArrayOf(langChars).Select(cs => new string(cs));
        var anyStrings = ArbMap.Default.GeneratorFor<string>().Select(s => s ?? "");
        var strings = Gen.OneOf(langStrings, anyStrings);
        var config = Config.QuickThrowOnFailure
            .WithMaxTest(1500)
            .WithEndSize(400)
            .WithQuietOnSuccess(true)
            .WithReplay(FSharpOption<Replay>.Some(new Replay(new Rnd((ulong)Seed, 7UL), FSharpOption<int>.None)));
        Check.One(config, Prop.ForAll(Arb.From(strings), s => { ParseAndCheck(s); }));
    }

    [Fact]
    public void Random_bytes_decoded_as_text_never_throw()
    {
        var rng = new Random(Seed + 2);
        for (var n = 0; n < 300; n++)
        {
            var bytes = new byte[rng.Next(0, 600)];
            rng.NextBytes(bytes);
            ParseAndCheck(Encoding.UTF8.GetString(bytes));
            ParseAndCheck(Encoding.Latin1.GetString(bytes));
        }
    }

    [Fact]
    public void Huge_inputs_finish_quickly()
    {
        var big = string.Concat(Enumerable.Repeat(Examples.ConvMixer.Replace("ConvMixer", "C") + "\n", 400));
        var sw = Stopwatch.StartNew();
        var r = ParseAndCheck(big);
        Assert.Empty(r.Diagnostics);
        Assert.Equal(400, r.File.Archs.Count);

        ParseAndCheck(new string('(', 200_000));
        ParseAndCheck("arch A(d = " + new string('[', 100_000));
        ParseAndCheck("arch A(d = 1)\nstem " + string.Concat(Enumerable.Repeat("x -> ", 100_000)) + "y");
        var stray = ParseAndCheck(string.Concat(Enumerable.Repeat("}", 100_000)));
        Assert.Equal(SpecParser.MaxDiagnostics + 1, stray.Diagnostics.Count);
        Assert.Equal("too many errors in this file; 99900 more not shown", stray.Diagnostics[^1].Message);
        var unclosed = ParseAndCheck("arch A(d = 1)\n" + string.Concat(Enumerable.Repeat("stem x(\n", 30_000)));
        Assert.Equal(DslCodes.TooManyErrors.Code, unclosed.Diagnostics[^1].Code);
        // A blow-up guard, not a speed target: quadratic behaviour on these sizes takes many minutes.
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), $"huge inputs took {sw.Elapsed}");
    }
}
