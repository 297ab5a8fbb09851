using ArchDsl.Cli;
using static ArchDsl.Cli.Tests.CliHarness;

namespace ArchDsl.Cli.Tests;

/// <summary>A mistyped run directory, as a user types it, is said the same way by every command that takes one: exit 1,
/// "no run directory …" naming the path, no stack trace — and before anything else on the command line is looked at.</summary>
public sealed class MissingRunDirectoryTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("archc-missing-run-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("eval {0}", "no run directory or checkpoint '{0}'")]
    [InlineData("export {0} --format pytorch", "no run directory or spec file '{0}'")]   // was AD0052 "spec file not found"
    [InlineData("export {0} --format onnx", "no run directory or spec file '{0}'")]
    [InlineData("predict {0} {1}", "no run directory '{0}'")]                             // was "no image or folder" of the image
    [InlineData("report {0}", "no run directory or sweep file '{0}'")]                   // was exit 2
    [InlineData("report {0} {0}2", "no run directory or sweep file '{0}2'")]
    [InlineData("diff {0} {0}2", "no run directory or spec file '{0}2'")]               // was AD0052 "spec file not found"
    [InlineData("train --resume {0}", "no run directory '{0}'")]
    [InlineData("train {2} --init {0}", "no run directory or checkpoint '{0}'")]
    public void Every_command_names_a_missing_run_directory_and_exits_one(string command, string message)
    {
        var run = Path.Combine(_dir, "runs", "nope");
        var image = Path.Combine(_dir, "nope.png");
        var spec = Path.Combine(_dir, "tiny.arch");
        File.WriteAllText(spec, TinyTrainSpec);
        var (code, stdout, stderr) = Run(string.Format(command, run, image, spec).Split(' '));
        Assert.True(code == ExitCodes.SpecErrors, $"exit {code}: {stderr}");
        Assert.Equal("", stdout);
        Assert.Contains("archc: error: " + string.Format(message, run), stderr);
        Assert.DoesNotContain("   at ", stderr);
        Assert.DoesNotContain("AD0052", stderr);
        Assert.False(Directory.Exists(Path.Combine(_dir, "runs")), "nothing is created for a missing run");
    }

    [Theory]
    [InlineData("eval {0}")]                           // was "run … has no checkpoint (…/checkpoints/last.safetensors does not exist)"
    [InlineData("train {1} --init {0}")]               // the same
    [InlineData("export {0} --format pytorch")]
    [InlineData("predict {0} {1}")]
    [InlineData("diff {0} {0}")]
    public void A_folder_that_is_no_run_is_called_so_by_every_command(string command)
    {
        var folder = Directory.CreateDirectory(Path.Combine(_dir, "not-a-run")).FullName;
        var spec = Path.Combine(_dir, "tiny.arch");
        File.WriteAllText(spec, TinyTrainSpec);
        var (code, _, stderr) = Run(string.Format(command, folder, spec).Split(' '));
        Assert.True(code == ExitCodes.SpecErrors, $"exit {code}: {stderr}");
        Assert.Equal($"archc: error: '{folder}' is not a run directory (no graph.yaml)", stderr.TrimEnd());
    }

    [Theory]
    [InlineData("check")]
    [InlineData("summary")]
    [InlineData("graph")]
    public void A_run_directory_given_where_a_spec_belongs_is_called_one_with_the_commands_that_take_it(string command)
    {
        var run = Directory.CreateDirectory(Path.Combine(_dir, "runs", "tiny-1")).FullName;
        File.WriteAllText(Path.Combine(run, "run.json"), "{}");
        File.WriteAllText(Path.Combine(run, "spec.arch"), TinyTrainSpec);
        var (code, stdout, stderr) = Run(command, run);
        Assert.Equal(ExitCodes.SpecErrors, code);
        Assert.Equal("", stdout);
        Assert.Equal([
            $"error AD0053: cannot read '{run}': it is a directory, not a spec file",   // was AD0052 "spec file … not found"
            $"  = hint: it holds spec.arch: name the file, as '{Path.Combine(run, "spec.arch")}'",
            $"archc: 1 error in {run}",
            $"archc: '{run}' is a run directory: eval, report, export, predict and diff take it"], stderr.TrimEnd().Split('\n'));
    }

    [Theory]
    [InlineData("train {1} --runs {0}", "could not create run directory '{0}/tiny-")]
    [InlineData("report {1} -o {0}", "'{0}' is a file, not a folder")]
    [InlineData("data export fashion-mnist {0}", "'{0}' is a file, not a folder")]
    public void A_file_named_where_an_output_folder_belongs_is_called_a_file(string command, string message)
    {
        var file = Path.Combine(_dir, "out-file");
        File.WriteAllText(file, "mine");
        var sweep = Path.Combine(_dir, "s.yaml");
        File.WriteAllText(Path.Combine(_dir, "tiny.arch"), TinyTrainSpec);
        File.WriteAllText(sweep, "spec: tiny.arch\n");
        var (code, _, stderr) = Run(string.Format(command, file, command.StartsWith("train") ? Path.Combine(_dir, "tiny.arch") : sweep).Split(' '));
        Assert.Equal(ExitCodes.SpecErrors, code);
        Assert.Contains(string.Format(message, file), stderr);
        Assert.Contains($"'{file}' is a file, not a folder", stderr);   // not .NET's "The file '…' already exists."
        Assert.DoesNotContain("   at ", stderr);
        Assert.Equal("mine", File.ReadAllText(file));
    }

    [Theory]
    [InlineData("train --resume {0}")]
    [InlineData("predict {0} {1}")]
    public void A_spec_given_where_a_run_directory_belongs_is_called_a_spec_with_the_command_that_makes_a_run(string command)
    {
        var spec = Path.Combine(_dir, "tiny.arch");
        File.WriteAllText(spec, TinyTrainSpec);
        var image = Path.Combine(_dir, "x.png");
        File.WriteAllBytes(image, [0x89, 0x50, 0x4E, 0x47]);
        var (code, _, stderr) = Run(string.Format(command, spec, image).Split(' '));
        Assert.Equal(ExitCodes.SpecErrors, code);
        Assert.Equal($"archc: error: '{spec}' is a file, not a run directory: it is a spec; train it first (archc train {spec}) " +
                     "and give the run directory training writes (runs/<name>-<time>)", stderr.TrimEnd());   // was "no run directory '…'" of a file that is there
    }
}
