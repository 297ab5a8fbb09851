using System.CommandLine;
using System.CommandLine.Completions;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Numerics;
using ArchDsl.Dsl;

namespace ArchDsl.Cli;

/// <summary>
/// archc's wording for the parse errors System.CommandLine would otherwise word in .NET's terms: a value an option
/// cannot take (<c>--epochs abc</c>: "Cannot parse argument 'abc' … as expected type 'System.Nullable`1[System.Int32]'";
/// <c>--on tset</c>: "Argument 'tset' not recognized. Must be one of:" with tab-indented lines) and a missing argument
/// (<c>archc check</c>: "Required argument missing for command: 'check'."). Each becomes one <c>archc: error:</c> line
/// naming the option or argument, what it takes and what it got, with "did you mean" from the one suggestion routine
/// (<see cref="Suggestions.Closest"/>) for a value outside a fixed list — the wording of the spec's own
/// <c>amp takes bf16, fp16 or off, not bf17</c>.
/// </summary>
internal static class ParseErrorText
{
    /// <summary>The lines for <paramref name="error"/>, or null when it is none of the kinds above.</summary>
    public static IReadOnlyList<string>? Explain(ParseError error, CommandResult command)
    {
        if (error.SymbolResult is OptionResult or ArgumentResult { Parent: OptionResult })
        {
            var option = error.SymbolResult as OptionResult ?? (OptionResult)((ArgumentResult)error.SymbolResult).Parent!;
            if (option.Tokens.Count == 0) return null; // "Required argument missing for option": System.CommandLine's words name it
            return BadValue(option.Option.Name, option.Option.ValueType, option.Tokens[^1].Value, option.Option.GetCompletions(CompletionContext.Empty));
        }
        if (error.SymbolResult is ArgumentResult { Parent: CommandResult } argument && argument.Tokens.Count > 0)
            return BadValue($"<{argument.Argument.Name}>", argument.Argument.ValueType, argument.Tokens[^1].Value, argument.Argument.GetCompletions(CompletionContext.Empty));
        var missing = error.SymbolResult is ArgumentResult { Tokens.Count: 0 } empty ? empty.Argument
            : ReferenceEquals(error.SymbolResult, command)
                ? command.Command.Arguments.FirstOrDefault(a => a.Arity.MinimumNumberOfValues > (command.GetResult(a)?.Tokens.Count ?? 0))
                : null;
        if (missing is not null)
        {
            var path = Usage.CommandPath(command.Command);
            var usage = string.Join(' ', command.Command.Arguments.Select(a => a.Arity.MinimumNumberOfValues == 0 ? $"[<{a.Name}>]" : $"<{a.Name}>"));
            return [$"missing argument <{missing.Name}> for '{path}'{(missing.Description is { Length: > 0 } d ? $": {d}" : "")}",
                    $"  = hint: archc {path} {usage} [options]; 'archc {path} --help' lists them"];
        }
        return null;
    }

    private static IReadOnlyList<string> BadValue(string name, Type type, string token, IEnumerable<CompletionItem> completions)
    {
        var allowed = completions.Select(c => c.Label).ToList();
        if (allowed.Count > 0 && !allowed.Contains(token))
        {
            var list = allowed.Count == 1 ? allowed[0] : string.Join(", ", allowed.Take(allowed.Count - 1)) + " or " + allowed[^1];
            var line = $"{name} takes {list}, not '{token}'";
            return Suggestions.Closest(token, allowed) is { } s ? [line, $"  = hint: did you mean '{s}'?"] : [line];
        }
        return [$"{name} takes {Kind(Nullable.GetUnderlyingType(type) ?? type, token)}, not '{token}'"];
    }

    /// <summary>What a value of <paramref name="type"/> is, in words; for an integer too large, its bound.</summary>
    private static string Kind(Type type, string token)
    {
        var bounds = type == typeof(int) ? (int.MinValue, int.MaxValue)
            : type == typeof(long) ? (long.MinValue, long.MaxValue)
            : ((BigInteger Min, BigInteger Max)?)null;
        if (bounds is not { } b) return type == typeof(double) || type == typeof(float) ? "a number"
            : type == typeof(bool) ? "true or false" : $"a value of the form {type.Name}";
        if (!BigInteger.TryParse(token, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)) return "an integer";
        return value > b.Max ? $"an integer up to {b.Max.ToString("N0", CultureInfo.InvariantCulture)}"
            : $"an integer from {b.Min.ToString("N0", CultureInfo.InvariantCulture)}";
    }
}
