using System.CommandLine;
using ArchDsl.Dsl;

namespace ArchDsl.Cli;

/// <summary>
/// Explains a command line archc could not parse, as the compiler explains a spec: each unknown word once, with
/// "did you mean" from the one suggestion routine (<see cref="Suggestions.Closest"/>): a misspelled command
/// (<c>archc sumary</c>), a misspelled option (<c>--epoch</c>), or a bare <c>name=value</c> that belongs after
/// <c>--set</c>; a bad option value or a missing argument in archc's words (<see cref="ParseErrorText"/>); other
/// errors as System.CommandLine words them.
/// </summary>
internal static class Usage
{
    public static void Report(System.CommandLine.ParseResult parse, TextWriter err)
    {
        var command = parse.CommandResult.Command;
        var unmatched = parse.UnmatchedTokens;
        var unknownCommand = command is RootCommand && unmatched.Count > 0 && !unmatched[0].StartsWith('-');
        var hints = new HashSet<string>(); // two missing arguments of one command share their usage hint
        foreach (var error in parse.Errors)
        {
            if (unmatched.Any(t => error.Message.Contains($"'{t}'", StringComparison.Ordinal))) continue; // explained below
            if (unknownCommand) continue; // "Required command was not provided": the unknown command explains it
            var lines = ParseErrorText.Explain(error, parse.CommandResult) ?? [error.Message];
            err.WriteLine($"archc: error: {lines[0]}");
            foreach (var line in lines.Skip(1).Where(hints.Add)) err.WriteLine(line);
        }
        var skipNext = false;
        for (var i = 0; i < unmatched.Count; i++)
        {
            var token = unmatched[i];
            if (skipNext && !token.StartsWith('-')) { skipNext = false; continue; } // the value of an unknown option
            skipNext = false;
            if (i == 0 && unknownCommand)
            {
                var commands = command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name).ToList();
                err.WriteLine($"archc: error: unknown command '{token}'");
                err.WriteLine(Suggestions.Closest(token, commands) is { } c
                    ? $"  = hint: did you mean '{c}'?"
                    : $"  = hint: commands: {string.Join(", ", commands)}");
                break; // the rest are arguments of a command that does not exist
            }
            if (token.StartsWith('-'))
            {
                var name = token.Split('=', 2)[0];
                var options = OptionNames(command).ToList();
                err.WriteLine($"archc: error: unknown option '{name}' for '{CommandPath(command)}'");
                var value = token.Contains('=') ? token.Split('=', 2)[1] : i + 1 < unmatched.Count ? unmatched[i + 1] : "…";
                err.WriteLine(Suggestions.Closest(name, options) is { } o
                    ? $"  = hint: did you mean '{o}'?"
                    : HasSet(command) && Suggestions.Closest(name.TrimStart('-'), Compiler.TrainSchema.KeyNames) is { } key
                        ? $"  = hint: train settings are overrides here: --set train.{key}={value}"
                        : $"  = hint: run 'archc {CommandPath(command)} --help' for its options");
                skipNext = !token.Contains('=');
                continue;
            }
            err.WriteLine($"archc: error: unexpected argument '{token}' for '{CommandPath(command)}'");
            if (token.Contains('=') && HasSet(command))
                err.WriteLine($"  = hint: overrides are written with --set: --set {token}");
        }
        err.WriteLine("archc: run 'archc --help' for usage");
    }

    private static bool HasSet(Command command) => command.Options.Any(o => o.Name == "--set");

    private static IEnumerable<string> OptionNames(Command command)
    {
        for (Symbol? s = command; s is not null; s = s.Parents.FirstOrDefault())
        {
            if (s is not Command c) continue;
            foreach (var o in c.Options.Where(o => !o.Hidden && (ReferenceEquals(c, command) || o.Recursive)))
            {
                yield return o.Name;
                foreach (var alias in o.Aliases) yield return alias;
            }
        }
    }

    internal static string CommandPath(Command command)
    {
        var names = new List<string>();
        for (Symbol? s = command; s is Command c and not RootCommand; s = s.Parents.FirstOrDefault()) names.Insert(0, c.Name);
        return names.Count == 0 ? "archc" : string.Join(' ', names);
    }
}
