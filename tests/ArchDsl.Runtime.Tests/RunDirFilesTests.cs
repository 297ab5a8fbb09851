using System.Text;
using ArchDsl.Runtime.Training;

namespace ArchDsl.Runtime.Tests;

public class RunDirFilesTests
{
    private static string[] Leftovers(string dir) =>
        Directory.GetFiles(dir).Select(Path.GetFileName).Where(n => n!.EndsWith(".tmp")).ToArray()!;

    [Fact]
    public void Atomic_write_replaces_the_file_and_leaves_no_temporary()
    {
        using var tmp = new DataTempDir();
        string f = tmp["sub/config.json"];
        AtomicFile.WriteAllText(f, "first");
        Assert.Equal("first", File.ReadAllText(f));
        AtomicFile.WriteAllText(f, "second, longer than the first");
        Assert.Equal("second, longer than the first", File.ReadAllText(f));
        AtomicFile.WriteAllBytes(f, new byte[] { 1, 2, 3 });
        Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(f));
        Assert.Empty(Leftovers(tmp["sub"]));
        Assert.Equal(new[] { "config.json" }, Directory.GetFiles(tmp["sub"]).Select(Path.GetFileName));
    }

    [Fact]
    public void Failure_midway_keeps_the_previous_file_names_it_and_removes_the_temporary()
    {
        using var tmp = new DataTempDir();
        string f = tmp["checkpoint.bin"];
        AtomicFile.WriteAllText(f, "good checkpoint");
        var e = Assert.Throws<RunFileException>(() => AtomicFile.Write(f, s =>
        {
            s.Write(Encoding.UTF8.GetBytes("half of a new chec"));
            throw new IOException("No space left on device");
        }));
        Assert.Contains(f, e.Message);
        Assert.Contains("No space left on device", e.Message);
        Assert.Equal(f, e.FilePath);
        Assert.Equal("good checkpoint", File.ReadAllText(f));
        Assert.Empty(Leftovers(tmp.Path));
    }

    [Fact]
    public void Failure_on_a_new_file_leaves_nothing()
    {
        using var tmp = new DataTempDir();
        Assert.Throws<RunFileException>(() => AtomicFile.Write(tmp["new.txt"], _ => throw new IOException("disk full")));
        Assert.Empty(Directory.GetFiles(tmp.Path));
    }

    [Fact]
    public void Unwritable_target_is_a_clear_error()
    {
        using var tmp = new DataTempDir();
        Directory.CreateDirectory(tmp["a-directory"]);
        var e = Assert.Throws<RunFileException>(() => AtomicFile.WriteAllText(tmp["a-directory"], "x"));
        Assert.Contains(tmp["a-directory"], e.Message);
        Assert.Empty(Leftovers(tmp.Path));
    }

    [Fact]
    public void Metrics_log_appends_one_json_object_per_line_and_reads_back()
    {
        using var tmp = new DataTempDir();
        string f = tmp["metrics.jsonl"];
        using (var log = MetricsLog.Open(f))
        {
            log.Append(new Dictionary<string, object?> { ["epoch"] = 1, ["loss"] = 0.5, ["split"] = "train" });
            log.Append(new { epoch = 2, loss = double.NaN, acc = 0.9 });
        }
        using (var log = MetricsLog.Open(f)) log.Append(new { epoch = 3, loss = 0.25 });
        var lines = File.ReadAllLines(f);
        Assert.Equal(3, lines.Length);
        Assert.All(lines, l => Assert.StartsWith("{", l));
        var read = MetricsLog.Read(f);
        Assert.False(read.TornLastLine);
        Assert.Equal(new[] { 1, 2, 3 }, read.Records.Select(r => r.GetProperty("epoch").GetInt32()));
        Assert.Equal("train", read.Records[0].GetProperty("split").GetString());
        Assert.Equal("NaN", read.Records[1].GetProperty("loss").GetString()); // a diverged loss survives
    }

    [Fact]
    public void Each_line_is_on_disk_before_append_returns()
    {
        using var tmp = new DataTempDir();
        string f = tmp["metrics.jsonl"];
        using var log = MetricsLog.Open(f);
        log.Append(new { step = 1 });
        // read while the writer is still open, as a progress viewer would
        using var reader = new FileStream(f, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        Assert.Equal("{\"step\":1}\n", new StreamReader(reader).ReadToEnd());
    }

    [Fact]
    public void A_torn_last_line_is_skipped_on_read_and_cut_before_appending()
    {
        using var tmp = new DataTempDir();
        string f = tmp["metrics.jsonl"];
        File.WriteAllText(f, "{\"epoch\":1}\n{\"epoch\":2}\n{\"epoch\":3,\"lo");
        var read = MetricsLog.Read(f);
        Assert.True(read.TornLastLine);
        Assert.Equal(2, read.Records.Count);

        using (var log = MetricsLog.Open(f)) log.Append(new { epoch = 3 });
        Assert.Equal("{\"epoch\":1}\n{\"epoch\":2}\n{\"epoch\":3}\n", File.ReadAllText(f));
        Assert.False(MetricsLog.Read(f).TornLastLine);
    }

    [Fact]
    public void A_bad_line_in_the_middle_is_an_error_naming_file_and_line()
    {
        using var tmp = new DataTempDir();
        string f = tmp["metrics.jsonl"];
        File.WriteAllText(f, "{\"a\":1}\nnot json\n{\"a\":2}\n");
        var e = Assert.Throws<RunFileException>(() => MetricsLog.Read(f));
        Assert.Contains(f, e.Message);
        Assert.Contains("line 2", e.Message);
    }

    [Fact]
    public void Run_directories_are_named_after_the_spec_and_time_and_made_unique()
    {
        using var tmp = new DataTempDir();
        var now = new DateTime(2025, 3, 4, 5, 6, 7);
        string a = RunDirectory.Create(tmp["runs"], "specs/convmixer.arch", now);
        Assert.Equal(tmp["runs/convmixer-20250304-050607"], a);
        Assert.True(Directory.Exists(a));
        string b = RunDirectory.Create(tmp["runs"], "specs/convmixer.arch", now);
        string c = RunDirectory.Create(tmp["runs"], "specs/convmixer.arch", now);
        Assert.Equal(a + "-2", b);
        Assert.Equal(a + "-3", c);
        Assert.Equal(tmp["runs/my_spec-20250304-050607"], RunDirectory.Create(tmp["runs"], "my spec.arch", now));
    }

    [Theory]
    [InlineData("lr0.01", "lr0.01")]   // was lr0: the name's ".01" was cut off as an extension
    [InlineData("kernel=9.v2", "kernel=9.v2")]
    [InlineData("a/b", "a_b")]         // was b: the folder was dropped
    [InlineData("my run", "my_run")]
    [InlineData("", "run")]
    public void A_chosen_run_name_is_kept_whole_with_unsafe_characters_replaced(string name, string expected)
    {
        using var tmp = new DataTempDir();
        var now = new DateTime(2025, 3, 4, 5, 6, 7);
        Assert.Equal(tmp[$"runs/{expected}-20250304-050607"], RunDirectory.CreateNamed(tmp["runs"], name, now));
    }

    [Fact]
    public void Run_directories_created_concurrently_are_all_distinct()
    {
        using var tmp = new DataTempDir();
        var now = new DateTime(2025, 1, 1);
        var dirs = new string[16];
        Parallel.For(0, dirs.Length, i => dirs[i] = RunDirectory.Create(tmp["runs"], "vit", now));
        Assert.Equal(dirs.Length, dirs.Distinct().Count());
    }
}
