using ArchDsl.Compiler.Analysis;
using ArchDsl.Compiler.Printers;

namespace ArchDsl.Compiler.Tests;

/// <summary>SpecSnapshot: lock a spec's graph text beside it; check for drift with a unified diff.</summary>
public sealed class SpecSnapshotTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("archdsl-snapshot-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string Spec = """
        arch Tiny(dim = 8, kernel = 3)
        input image[1, 8, 8]
        stem conv(dim, kernel: 2, stride: 2) -> gelu
        mixer * 2 {
          token: conv(dim, kernel: kernel, groups: dim, padding: same) -> gelu
          channel: conv(dim, kernel: 1) -> gelu
          residual: token
        }
        head avgpool -> linear(10)
        """;

    private string WriteSpec(string text, string name = "tiny.arch")
    {
        var path = Path.Combine(_dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void Lock_path_replaces_the_arch_extension()
    {
        Assert.Equal(Path.Combine("specs", "convmixer.graph.txt"), SpecSnapshot.LockPath(Path.Combine("specs", "convmixer.arch")));
        Assert.Equal("model.spec.graph.txt", SpecSnapshot.LockPath("model.spec"));
    }

    [Fact]
    public void Write_locks_exactly_the_printer_text_and_check_then_passes()
    {
        var spec = WriteSpec(Spec);
        var w = SpecSnapshot.Write(spec);
        Assert.Equal(SnapshotStatus.Written, w.Status);
        var locked = File.ReadAllText(SpecSnapshot.LockPath(spec));
        Assert.Equal(GraphPrinter.ToText(ArchCompiler.CompileFile(spec).Graph!), locked);

        var c = SpecSnapshot.Check(spec);
        Assert.Equal(SnapshotStatus.Clean, c.Status);
        Assert.False(c.Failed);
        Assert.Equal("", c.Diff);

        // Writing again leaves the file alone; no temporary files are left behind.
        var stamp = File.GetLastWriteTimeUtc(w.LockFile);
        Assert.Equal(SnapshotStatus.Unchanged, SpecSnapshot.Write(spec).Status);
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(w.LockFile));
        Assert.Equal(["tiny.arch", "tiny.graph.txt"], Directory.GetFiles(_dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Check_fails_with_a_unified_diff_when_the_spec_drifts()
    {
        var spec = WriteSpec(Spec);
        SpecSnapshot.Write(spec);
        File.WriteAllText(spec, Spec.Replace("kernel = 3", "kernel = 5"));

        var c = SpecSnapshot.Check(spec);
        Assert.Equal(SnapshotStatus.Drifted, c.Status);
        Assert.True(c.Failed);
        Assert.StartsWith($"--- {c.LockFile} (locked)\n+++ {spec} (compiled)\n@@ ", c.Diff);
        Assert.Contains("\n-      blocks.0.token.0", c.Diff);
        Assert.Contains("kernel=3", c.Diff);
        Assert.Contains("\n+      blocks.0.token.0", c.Diff);
        Assert.Contains("kernel=5", c.Diff);

        // Accepting the change (write) makes the check pass again.
        Assert.Equal(SnapshotStatus.Written, SpecSnapshot.Write(spec).Status);
        Assert.Equal(SnapshotStatus.Clean, SpecSnapshot.Check(spec).Status);
    }

    [Fact]
    public void Check_fails_when_the_lock_file_is_missing()
    {
        var spec = WriteSpec(Spec);
        var c = SpecSnapshot.Check(spec);
        Assert.Equal(SnapshotStatus.Missing, c.Status);
        Assert.True(c.Failed);
        Assert.False(File.Exists(c.LockFile));
    }

    [Fact]
    public void A_spec_with_errors_is_reported_and_nothing_is_written()
    {
        var spec = WriteSpec(Spec.Replace("stride: 2", "stride: 2, bogus: 1"));
        var w = SpecSnapshot.Write(spec);
        Assert.Equal(SnapshotStatus.SpecErrors, w.Status);
        Assert.Contains(w.Diagnostics, d => d.IsError);
        Assert.False(File.Exists(w.LockFile));
        Assert.Equal(SnapshotStatus.SpecErrors, SpecSnapshot.Check(spec).Status);
    }

    [Fact]
    public void A_locked_file_with_crlf_line_ends_still_matches()
    {
        var spec = WriteSpec(Spec);
        SpecSnapshot.Write(spec);
        var lockFile = SpecSnapshot.LockPath(spec);
        File.WriteAllText(lockFile, File.ReadAllText(lockFile).Replace("\n", "\r\n"));
        Assert.Equal(SnapshotStatus.Clean, SpecSnapshot.Check(spec).Status);
        // Writing normalises it back to '\n'.
        Assert.Equal(SnapshotStatus.Written, SpecSnapshot.Write(spec).Status);
        Assert.DoesNotContain('\r', File.ReadAllText(lockFile));
    }

    [Fact]
    public void Folders_expand_to_their_arch_files_recursively_in_order()
    {
        var b = WriteSpec(Spec, "b.arch");
        var a = WriteSpec(Spec, Path.Combine("sub", "a.arch"));
        WriteSpec("not a spec", "notes.txt");
        var found = SpecSnapshot.Expand([_dir, b, Path.Combine(_dir, "nope.arch")], out var missing);
        Assert.Equal(new[] { b, a }.Order(StringComparer.Ordinal), found);
        Assert.Equal([Path.Combine(_dir, "nope.arch")], missing);
    }

    [Fact]
    public void Shipped_specs_lock_and_check_clean_in_a_copy()
    {
        foreach (var name in new[] { "convmixer.arch", "vit.arch", "mlp-mixer.arch" })
        {
            var spec = WriteSpec(File.ReadAllText(Path.Combine(CompilerTestKit.SpecsDir, name)), name);
            Assert.Equal(SnapshotStatus.Written, SpecSnapshot.Write(spec).Status);
            Assert.Equal(SnapshotStatus.Clean, SpecSnapshot.Check(spec).Status);
        }
    }
}
