using System.Text.Json;
using ArchDsl.Compiler;
using ArchDsl.Runtime.Training;

namespace ArchDsl.Runtime.Tests;

/// <summary>A tiny ConvMixer on tiny synthetic data: a whole training run takes well under a second.</summary>
internal static class TrainerTestSupport
{
    public const string TinySpec = """
        arch Tiny(dim = 8, depth = 1, kernel = 3, patch = 2, classes = 4, act = gelu, norm = batch, residual = token)
        input image[1, 8, 8]
        stem conv(dim, kernel: patch, stride: patch) -> act -> norm
        mixer * depth {
          token:    conv(dim, kernel: kernel, groups: dim, padding: same) -> act -> norm
          channel:  conv(dim, kernel: 1) -> act -> norm
          residual: residual
        }
        head avgpool -> linear(classes)
        train {
          data: synthetic(train: 192, test: 64, noise: 0.5)
          epochs: 2
          batch: 32
          optimizer: adamw(lr: 0.01, weight_decay: 0.01)
          schedule: onecycle
          augment: [flip, crop(pad: 1), erase(p: 0.25), randaugment(n: 1, m: 5)]
          seed: 3
        }
        """;

    public static IrGraph CompileTiny(params string[] overrides) => Compile(TinySpec, overrides);

    public static IrGraph Compile(string spec, params string[] overrides)
    {
        var r = ArchCompiler.CompileText(spec, "tiny.arch", Override.ParseAll(overrides));
        Assert.True(r.Success, string.Join("\n", r.Diagnostics.Select(d => d.ToString())));
        return r.Graph!;
    }

    /// <summary>This test process's scratch folder, removed when the process exits (or, if the test host is
    /// killed first, by the next test run: folders of processes no longer alive are cleared on start).</summary>
    private static readonly Lazy<string> ProcessRoot = new(() =>
    {
        var parent = Path.Combine(Path.GetTempPath(), "archdsl-trainer-tests");
        if (Directory.Exists(parent))
            foreach (var stale in Directory.GetDirectories(parent))
            {
                var name = Path.GetFileName(stale);
                if (int.TryParse(name.Split('-')[0], out var pid) && !Alive(pid))
                    try { Directory.Delete(stale, recursive: true); } catch (Exception) { }
            }
        var root = Path.Combine(parent, $"{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(root);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(root, recursive: true); } catch (Exception) { } };
        return root;
    });

    private static bool Alive(int pid)
    {
        try { using var p = System.Diagnostics.Process.GetProcessById(pid); return !p.HasExited; }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    public static string TempRoot()
    {
        var dir = Path.Combine(ProcessRoot.Value, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    public static TrainOptions Options(string root, int checkpointEvery = 4, int logEvery = 1) => new()
    {
        RunsRoot = root,
        RunName = "tiny",
        Threads = 1,
        CheckpointEvery = checkpointEvery,
        LogEvery = logEvery,
        HandleSignals = false,
        Specs = [new SpecSource("tiny.arch", TinySpec)],
    };

    /// <summary>The metrics records without their timing fields (which differ between runs by nature).</summary>
    public static List<string> Curve(string runDir) =>
        MetricsLog.Read(Path.Combine(runDir, RunDirectory.MetricsFile)).Records.Select(r =>
        {
            var d = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(r.GetRawText())!;
            foreach (var k in d.Keys.Where(k => k.EndsWith("_s", StringComparison.Ordinal)).ToList()) d.Remove(k);
            return string.Join(",", d.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value.GetRawText()}"));
        }).ToList();
}
