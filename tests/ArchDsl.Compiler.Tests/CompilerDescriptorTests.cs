using System.Reflection;
using System.Text.RegularExpressions;
using ArchDsl.Dsl;

namespace ArchDsl.Compiler.Tests;

using static CompilerTestKit;

/// <summary>
/// The compiler's diagnostic descriptors (<see cref="CompilerDiagnostics"/>): each code is one concept with one title,
/// in the compiler's range, every message format is its own, and every descriptor is reported somewhere in the compiler.
/// </summary>
public class CompilerDescriptorTests
{
    private static readonly IReadOnlyList<(string Name, DiagnosticDescriptor Descriptor)> Descriptors =
        typeof(CompilerDiagnostics).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.FieldType == typeof(DiagnosticDescriptor))
            .Select(f => (f.Name, (DiagnosticDescriptor)f.GetValue(null)!))
            .ToList();

    [Fact]
    public void EveryDescriptorHasACompilerCodeATitleAndAFormat()
    {
        Assert.NotEmpty(Descriptors);
        Assert.Equal(Descriptors.Count, CompilerDiagnostics.All.Count);
        foreach (var (name, d) in Descriptors)
        {
            Assert.Contains(d.Code, CompilerCodes.All);
            Assert.InRange(int.Parse(d.Code[2..]), 100, 999);
            Assert.False(string.IsNullOrWhiteSpace(d.Title), name);
            Assert.False(string.IsNullOrWhiteSpace(d.MessageFormat), name);
        }
    }

    [Fact]
    public void CodesAreUniqueAcrossConceptsAndMessagesAreUnique()
    {
        // A code may carry several messages (AD0141 covers every bad train value), but it is one concept: one title.
        // And no title names two codes.
        foreach (var code in Descriptors.GroupBy(x => x.Descriptor.Code))
            Assert.Single(code.Select(x => x.Descriptor.Title).Distinct());
        foreach (var title in Descriptors.GroupBy(x => x.Descriptor.Title))
            Assert.Single(title.Select(x => x.Descriptor.Code).Distinct());
        // Two descriptors of one code never say the same thing (AD0104 and AD0141 do share a wording: an op's argument and
        // a train call's argument of the wrong type).
        Assert.Equal(Descriptors.Count, Descriptors.Select(x => (x.Descriptor.Code, x.Descriptor.MessageFormat)).Distinct().Count());
    }

    [Fact]
    public void EveryFormatTakesArgumentsFromZeroWithoutGaps()
    {
        foreach (var (name, d) in Descriptors)
        {
            var slots = Regex.Matches(d.MessageFormat, @"\{(\d+)(?::[^}]*)?\}").Select(m => int.Parse(m.Groups[1].Value)).Distinct().Order().ToList();
            Assert.True(slots.SequenceEqual(Enumerable.Range(0, slots.Count)), $"{name}: slots {string.Join(", ", slots)}");
            // Formatting with exactly that many arguments succeeds and places each one (a stray brace would throw).
            var filled = d.Format(slots.Select(i => (object?)$"<{i}>").ToArray());
            Assert.All(slots, i => Assert.Contains($"<{i}>", filled));
        }
    }

    [Fact]
    public void EveryDescriptorIsReportedSomewhereInTheCompiler()
    {
        // The compiler's own, and those of files the runtime reads as located sources (a sweep file's AD0215–AD0223).
        var sources = new[] { Path.Combine(RepoRoot, "Compiler"), Path.Combine(RepoRoot, "Runtime", "Engine") }
            .SelectMany(dir => Directory.EnumerateFiles(dir, "*.cs", SearchOption.AllDirectories))
            .Where(f => Path.GetFileName(f) != "CompilerDiagnostics.cs" && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"))
            .Select(File.ReadAllText)
            .ToList();
        Assert.NotEmpty(sources);
        var unused = Descriptors.Where(x => !sources.Any(s => Regex.IsMatch(s, $@"\bCompilerDiagnostics\.{x.Name}\b"))).Select(x => x.Name).ToList();
        Assert.True(unused.Count == 0, "descriptors reported nowhere: " + string.Join(", ", unused));
    }
}
