using System.Diagnostics;
using ArchDsl.Dsl;
using Xunit.Abstractions;

namespace ArchDsl.Compiler.Tests;

using static CompilerTestKit;

/// <summary>
/// Property: for any text — mutations of the real specs — parse + compile returns either a graph with no
/// errors or no graph with at least one error, never throws, never hangs, and every diagnostic renders.
/// Seeded and a fixed number of runs, so every machine tries the same texts and a failure reproduces (a time budget
/// made the texts tried depend on the machine's speed and load); about 4 s on a quiet machine.
/// </summary>
public class CompilerFuzzTests(ITestOutputHelper output)
{
    private static readonly string[] Tokens =
    [
        "->", "(", ")", "{", "}", "[", "]", ",", ":", "=", "*", "/", "%", "+", "-", "\n", " ", "#",
        "0", "1", "-1", "3", "5", "7", "1000", "4096", "2000000", "1000000000000", "9223372036854775807", "0.5", "1e-6", "1e308", "2.0",
        "dim", "depth", "heads", "N", "D", "C", "H", "W", "act", "norm", "gelu", "relu", "none", "same", "valid", "token", "channel",
        "both", "pre", "post", "true", "false", "conv", "linear(3)", "patches(5)", "attention(7)", "transpose", "flatten", "cls", "cls_token",
        "pos_embed", "avgpool", "pool", "fourier", "layernorm", "batchnorm", "dropout(0.5)", "droppath(2)", "\"x\"", "residual { relu }",
        "repeat 3 { gelu }", "repeat 0 { gelu }", "residual { conv(7, kernel: 1) }", "block b(x = D) { linear(x) -> relu }", " -> b", " -> b(4)",
        "mixer * 2 { token: relu }", "input tokens[4, 4]", "input image[3, 8, 8]", "stem", "head", "layers", "train { epochs: 0 }",
        "arch Z = ConvMixer(dim: 3)", "arch Z = ViT(heads: 5)", "arch Z = Mixer(nope: 1)", "import \"mlp-mixer.arch\"", "import \"nothing.arch\"",
        "kernel:", "groups: dim", "padding: same", "stride: 0", "optimizer: sgd(lr: -1)", "augment: [flip, crop(pad: x)]",
    ];

    private static readonly string[] Overrides =
    [
        "dim=0", "dim=-3", "dim=7", "dim=(", "depth=0", "depth=3", "heads=5", "patch=3", "act=relu", "act=conv", "norm=layer", "norm=none",
        "norm=batch(eps: 0)", "residual=both", "residual=tokens", "train.epochs=0", "train.epochs=2", "train.optimizer.lr=1e-3",
        "train.optimizer.lr=x", "train.schedule.warmup=3", "train.augment.x=1", "train.nope=1", "nope=1", "size=1", "size=1000000",
        "classes=1", "kernel=4", "channels=0", "=", "dim",
    ];

    private static readonly string[] Sources = Directory.EnumerateFiles(SpecsDir, "*.arch", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray();

    private static string Mutate(string text, Random rng)
    {
        var n = rng.Next(1, 4);
        for (var i = 0; i < n; i++)
        {
            var pos = text.Length == 0 ? 0 : rng.Next(text.Length + 1);
            switch (rng.Next(6))
            {
                case 0: // delete a short range
                    if (text.Length > 0) text = text.Remove(Math.Min(pos, text.Length - 1), Math.Min(rng.Next(1, 12), text.Length - Math.Min(pos, text.Length - 1)));
                    break;
                case 1: // insert a token
                    text = text.Insert(pos, Tokens[rng.Next(Tokens.Length)]);
                    break;
                case 2: // replace a word or number with a token
                {
                    var start = pos;
                    while (start < text.Length && !char.IsLetterOrDigit(text[start])) start++;
                    var end = start;
                    while (end < text.Length && (char.IsLetterOrDigit(text[end]) || text[end] == '_' || text[end] == '.')) end++;
                    if (end > start) text = text[..start] + Tokens[rng.Next(Tokens.Length)] + text[end..];
                    break;
                }
                case 3: // swap two lines
                {
                    var lines = text.Split('\n');
                    if (lines.Length > 1)
                    {
                        int a = rng.Next(lines.Length), b = rng.Next(lines.Length);
                        (lines[a], lines[b]) = (lines[b], lines[a]);
                    }
                    text = string.Join('\n', lines);
                    break;
                }
                case 4: // duplicate a line
                {
                    var lines = text.Split('\n').ToList();
                    var k = rng.Next(lines.Count);
                    lines.Insert(k, lines[k]);
                    text = string.Join('\n', lines);
                    break;
                }
                default: // a random printable character
                    text = text.Insert(pos, ((char)rng.Next(32, 127)).ToString());
                    break;
            }
        }
        return text;
    }

    private const int Runs = 5_000;

    [Fact]
    public void MutatedSpecsNeverThrowAndAlwaysAnswer()
    {
        var rng = new Random(20261121);
        var budget = Stopwatch.StartNew();
        int runs = 0, compiled = 0, slowest = 0;
        var codes = new HashSet<string>();
        var texts = Sources.Select(File.ReadAllText).ToArray();
        while (runs < Runs)
        {
            var which = rng.Next(Sources.Length);
            var text = Mutate(texts[which], rng);
            var overrides = rng.Next(3) == 0 ? new[] { Overrides[rng.Next(Overrides.Length)] } : [];
            var one = Stopwatch.StartNew();
            CompileResult r;
            try
            {
                r = ArchCompiler.CompileText(text, Sources[which], Override.ParseAll(overrides));
            }
            catch (Exception e)
            {
                throw new Xunit.Sdk.XunitException($"run {runs}: {e.GetType().Name}: {e.Message}\n--set {string.Join(" ", overrides)}\n---\n{text}\n---\n{e}");
            }
            slowest = Math.Max(slowest, (int)one.ElapsedMilliseconds);
            Assert.True(one.Elapsed < TimeSpan.FromSeconds(60), $"run {runs} took {one.Elapsed}:\n{text}"); // a hang guard (slowest ~0.1 s quiet)
            var errors = r.Diagnostics.Where(d => d.IsError).ToList();
            if (r.Graph is not null)
            {
                Assert.Empty(errors);
                compiled++;
            }
            else Assert.True(errors.Count > 0, $"run {runs}: no graph and no error:\n{text}");
            foreach (var d in r.Diagnostics)
            {
                codes.Add(d.Code);
                Assert.DoesNotContain("internal", d.Message, StringComparison.OrdinalIgnoreCase);
                Assert.False(string.IsNullOrEmpty(d.Render()));
            }
            runs++;
        }
        output.WriteLine($"{runs} runs in {budget.Elapsed.TotalSeconds:F1} s, {compiled} compiled, slowest {slowest} ms; codes seen: {string.Join(" ", codes.Order())}");
        Assert.True(compiled > 0 && compiled < runs, "the mutations should produce both valid and invalid specs");
    }

    [Fact]
    public void RandomOverridesOnEverySpecNeverThrow()
    {
        foreach (var spec in Sources)
            foreach (var o in Overrides)
            {
                var r = ArchCompiler.CompileFile(spec, Override.ParseAll([o]));
                Assert.True(r.Success || r.Diagnostics.Any(d => d.IsError), $"{spec} --set {o}");
            }
    }
}
