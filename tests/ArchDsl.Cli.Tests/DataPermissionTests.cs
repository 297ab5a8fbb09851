using System.Diagnostics;
using NetVips;
using static ArchDsl.Cli.Tests.CliHarness;

namespace ArchDsl.Cli.Tests;

/// <summary>
/// An image without read permission in a folder (issue 11's "unreadable permissions"), met as a user meets it: archc runs
/// as an unprivileged user, since root reads a <c>chmod 000</c> file anyway — through <c>setpriv</c> (util-linux) as
/// nobody (65534) when the tests run as root, else as the tests' own user. The folder lies under a world-readable
/// directory; the one bad file is <c>chmod 000</c>. The README's policy: skipped with a count and its path (not
/// replaced), or with <c>strict: true</c> an error naming it, exit 1, no stack trace.
/// </summary>
public sealed class DataPermissionTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("archc-perm-").FullName;

    public DataPermissionTests()
    {
        File.SetUnixFileMode(_dir, (UnixFileMode)0b111_101_101); // 755: the unprivileged user reads the folder
        foreach (var split in new[] { "train", "val" })
            foreach (var c in new[] { "a", "b" })
            {
                Directory.CreateDirectory(Path.Combine(_dir, "folder", split, c));
                for (int i = 0; i < 4; i++)
                {
                    var px = Enumerable.Range(0, 20 * 20 * 3).Select(k => (byte)((k * (i + 3) + (c == "a" ? 0 : 128)) % 256)).ToArray();
                    using var image = Image.NewFromMemory(px, 20, 20, 3, Enums.BandFormat.Uchar);
                    image.Jpegsave(Path.Combine(_dir, "folder", split, c, $"{i}.jpg"), q: 90);
                }
            }
        Bad = Path.Combine(_dir, "folder", "train", "a", "2.jpg"); // a readable image's bytes, no permission to read them
        File.SetUnixFileMode(Bad, UnixFileMode.None);
        var runs = Directory.CreateDirectory(Path.Combine(_dir, "runs")).FullName;
        File.SetUnixFileMode(runs, (UnixFileMode)0b111_111_111); // the unprivileged run writes its run here
    }

    string Bad { get; }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Runs the built archc as an unprivileged user; its exit code and output (stdout then stderr).</summary>
    (int Code, string Output) RunUnprivileged(params string[] args)
    {
        var psi = new ProcessStartInfo { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Root };
        if (Environment.IsPrivilegedProcess)
        {
            psi.FileName = Setpriv();
            foreach (var a in new[] { "--reuid=65534", "--regid=65534", "--clear-groups", "dotnet" }) psi.ArgumentList.Add(a);
        }
        else psi.FileName = "dotnet";
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "archc.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["HOME"] = _dir;
        psi.Environment["DOTNET_CLI_HOME"] = _dir;
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout + stderr.Result);
    }

    /// <summary>setpriv on the PATH; running as root, the test cannot make a file unreadable without it, so it fails (not skips).</summary>
    static string Setpriv() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, "setpriv")).FirstOrDefault(File.Exists)
        ?? throw new Xunit.Sdk.XunitException("the tests run as root, where every file is readable: this test needs setpriv (util-linux) to run archc as nobody");

    string TrainSpec(bool strict)
    {
        var spec = Path.Combine(_dir, strict ? "strict.arch" : "tiny.arch");
        File.WriteAllText(spec, $$"""
            arch Tiny(dim = 8, classes = 2)
            input image[3, 16, 16]
            stem conv(dim, kernel: 4, stride: 4) -> gelu -> batchnorm
            head global_pool -> linear(classes)
            train { data: folder(path: "{{Path.Combine(_dir, "folder")}}", workers: 2, strict: {{(strict ? "true" : "false")}}), epochs: 1, batch: 4 }
            """);
        return spec;
    }

    [Fact]
    public void The_file_really_is_unreadable_to_the_user_archc_runs_as()
    {
        var (code, output) = RunUnprivileged("data", "inspect", Path.Combine(_dir, "folder"));
        Assert.True(code == 0, output);
        Assert.Contains($"{Path.Combine(_dir, "folder", "train")}: 8 images in 2 classes (7 readable)", output);
        Assert.Contains("unreadable: 1", output);
        Assert.Contains($"'{Bad}' cannot be opened for reading: Access to the path '{Bad}' is denied", output); // the system's reason, not a decoder's
    }

    [Fact]
    public void Training_skips_it_with_its_path_and_counts_it_and_a_strict_run_stops_naming_it()
    {
        var runs = Path.Combine(_dir, "runs");
        var (code, output) = RunUnprivileged("train", TrainSpec(strict: false), "--runs", runs, "--threads", "1");
        Assert.True(code == 0, output);
        Assert.Single(output.Split('\n'), l => l.StartsWith("warning: skipping an unreadable image") && l.Contains($"'{Bad}' cannot be opened for reading"));
        var summary = File.ReadAllText(Path.Combine(Directory.GetDirectories(runs).Single(), "summary.yaml"));
        Assert.Contains("train_samples: 7\n", summary); // left out, not replaced by another image
        Assert.Contains("skipped:", summary);
        Assert.Contains("  train: 1\n", summary);
        Assert.Contains(Bad, summary);

        (code, output) = RunUnprivileged("train", TrainSpec(strict: true), "--runs", runs, "--threads", "1");
        Assert.Equal(1, code);
        Assert.Contains($"'{Bad}' cannot be opened for reading", output);
        Assert.Contains("strict: true", output);
        Assert.DoesNotContain("   at ", output);
    }
}
