using System.CommandLine;

namespace ArchDsl.Cli;

public static class ExitCodes
{
    public const int Ok = 0;
    public const int SpecErrors = 1;
    public const int Usage = 2;
    /// <summary>A run stopped by Ctrl-C / SIGTERM after saving its checkpoint (the shell's 128 + SIGINT).</summary>
    public const int Interrupted = 130;
}

/// <summary>The command tree: Commands.cs (check, summary, graph, ops, bench-compiler), RunCommands.cs (train, eval, bench), AblationCommands.cs (diff, snapshot, sweep), ExportCommands.cs (export, predict).</summary>
public static class Cli
{
    public static RootCommand Build(Output output)
    {
        var root = new RootCommand("archc — compile, inspect and train ArchDsl architecture specs (.arch)");
        foreach (var command in Commands.All(output)) root.Add(command);
        return root;
    }

    public static int Run(string[] args, TextWriter? stdout = null, TextWriter? stderr = null)
    {
        var output = new Output(stdout ?? Console.Out, stderr ?? Console.Error);
        var parse = Build(output).Parse(args);
        if (parse.Errors.Count > 0)
        {
            Usage.Report(parse, output.Err);
            return ExitCodes.Usage;
        }
        try
        {
            return parse.Invoke(new InvocationConfiguration { Output = output.Out, Error = output.Err, EnableDefaultExceptionHandler = false });
        }
        catch (UsageException e)
        {
            output.Err.WriteLine($"archc: error: {e.Message}");
            return ExitCodes.Usage;
        }
        // and a run's file that cannot be written or read back (RunFileException names it) wherever a command meets one
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArchDsl.Torch.TorchNativeLibraryException or Runtime.Training.RunFileException)
        {
            output.Err.WriteLine($"archc: error: {e.Message}");
            return ExitCodes.SpecErrors;
        }
    }
}

/// <summary>A mistake in how archc was called (exit code 2), reported without a stack trace.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>Where commands write: the console, or writers a test hands in.</summary>
public sealed class Output(TextWriter @out, TextWriter err)
{
    public TextWriter Out { get; } = @out;
    public TextWriter Err { get; } = err;
}
