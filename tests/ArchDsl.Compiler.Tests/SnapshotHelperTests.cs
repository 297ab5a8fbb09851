using ArchDsl.Compiler.Tests.Snapshots;
using Xunit.Sdk;

namespace ArchDsl.Compiler.Tests;

public sealed class SnapshotHelperTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("archdsl-snapshot-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string file) => Path.Combine(_dir, file);

    [Fact]
    public void A_missing_verified_file_fails_and_writes_the_received_one()
    {
        var r = Snapshot.Check("hello\n", _dir, "C.M", accept: false);
        Assert.False(r.Passed);
        Assert.Equal("hello\n", File.ReadAllText(PathOf("C.M.received.txt")));
        Assert.False(File.Exists(PathOf("C.M.verified.txt")));
        Assert.Contains("ARCHDSL_ACCEPT=1", r.Message);
        Assert.Contains("@@ -0,0 +1 @@\n+hello\n", r.Message);
    }

    [Fact]
    public void A_mismatch_fails_with_a_unified_diff_and_writes_received()
    {
        File.WriteAllText(PathOf("C.M.verified.txt"), "a\nb\nc\n");
        var r = Snapshot.Check("a\nB\nc\n", _dir, "C.M", accept: false);
        Assert.False(r.Passed);
        Assert.Contains("--- C.M.verified.txt\n+++ C.M.received.txt\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n", r.Message);
        Assert.Equal("a\nB\nc\n", File.ReadAllText(PathOf("C.M.received.txt")));
        Assert.Equal("a\nb\nc\n", File.ReadAllText(PathOf("C.M.verified.txt")));
    }

    [Fact]
    public void A_match_passes_and_clears_a_stale_received_file()
    {
        File.WriteAllText(PathOf("C.M.verified.txt"), "same\r\nlines\r\n"); // a CRLF checkout still matches
        File.WriteAllText(PathOf("C.M.received.txt"), "old\n");
        var r = Snapshot.Check("same\nlines\n", _dir, "C.M", accept: false);
        Assert.True(r.Passed, r.Message);
        Assert.False(File.Exists(PathOf("C.M.received.txt")));
    }

    [Fact]
    public void Accept_writes_verified_and_deletes_received()
    {
        File.WriteAllText(PathOf("C.M.verified.txt"), "old\n");
        File.WriteAllText(PathOf("C.M.received.txt"), "new\n");
        var r = Snapshot.Check("new\n", _dir, "C.M", accept: true);
        Assert.True(r.Passed);
        Assert.Equal("new\n", File.ReadAllText(PathOf("C.M.verified.txt")));
        Assert.False(File.Exists(PathOf("C.M.received.txt")));
        Assert.True(Snapshot.Check("new\n", _dir, "C.M", accept: false).Passed);
    }

    [Fact]
    public void Names_follow_verify_conventions()
    {
        Assert.Equal("SnapshotSpecTests.Text", Snapshot.BaseName("SnapshotSpecTests", "Text", null));
        Assert.Equal("SnapshotSpecTests.Text_imagenet_vit_b16", Snapshot.BaseName("SnapshotSpecTests", "Text", "imagenet/vit_b16"));
        Assert.Equal("C.M_a_b.c-d", Snapshot.BaseName("C", "M", "a b.c-d"));
    }

    [Fact]
    public void Verify_resolves_the_file_beside_the_caller_and_fails_or_accepts()
    {
        // The caller path points into the temp directory, so the snapshot files land there.
        var file = PathOf("FakeTests.cs");
        if (Snapshot.AcceptRequested())
        {
            Snapshot.Verify("text\n", "case", file, "Method");
            Assert.Equal("text\n", File.ReadAllText(PathOf("FakeTests.Method_case.verified.txt")));
            return;
        }
        var e = Assert.Throws<XunitException>(() => Snapshot.Verify("text\n", "case", file, "Method"));
        Assert.Contains("No verified snapshot", e.Message);
        Assert.Equal("text\n", File.ReadAllText(PathOf("FakeTests.Method_case.received.txt")));
        File.WriteAllText(PathOf("FakeTests.Method_case.verified.txt"), "text\n");
        Snapshot.Verify("text\n", "case", file, "Method");
        Assert.False(File.Exists(PathOf("FakeTests.Method_case.received.txt")));
    }
}
