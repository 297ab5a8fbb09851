using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using ArchDsl.Runtime.Export;
using Xunit.Abstractions;
using static ArchDsl.Runtime.Tests.ModelTestKit;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// The exported TorchSharp file, run by its real consumer: TorchSharp 0.107 (libtorch 2.10) in a child process
/// (tests/torchsharp-consumer; libtorch 2.10 cannot share a process with the project's libtorch 1.13), which compiles each
/// exported .cs alone with Roslyn, loads its safetensors with <c>load_state_dict(strict: true)</c> and prints the logits.
/// For every model of <see cref="ExportPyTorchTests"/> (every op of the catalogue; ConvMixer, ViT, MLP-Mixer, FNet,
/// PoolFormer, ResMLP among them) they equal ArchDsl's on the same [0, 1] pixels within 1e-5. A consumer that cannot
/// build, compile or load TorchSharp fails the test.
/// </summary>
[Collection(TorchModelCollection.Name)]
public sealed class ExportTorchSharpTests(ITestOutputHelper output)
{
    const double LogitTol = 1e-5;

    /// <summary>The consumer's built entry assembly (its path is stamped into this assembly by the test project).</summary>
    static readonly string Consumer = typeof(ExportTorchSharpTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "TorchSharpConsumer").Value!;

    [Fact]
    public void Exported_modules_compile_and_load_strictly_in_TorchSharp_and_give_ArchDsls_logits()
    {
        var root = Directory.CreateTempSubdirectory("archdsl-export-ts-").FullName;
        try
        {
            using var scope = NewDisposeScope();
            var expected = new Dictionary<string, Tensor>();
            foreach (var (name, graph) in ExportPyTorchTests.Models)
            {
                var g = graph();
                var dir = Path.Combine(root, name);
                var card = ExportPyTorchTests.Card(g);
                using var source = ExportSource.Of(ExportPyTorchTests.Model(g), card, "<test>");
                var x = ExportPyTorchTests.Pixels(g, 4, 5);
                expected[name] = ExportPyTorchTests.Logits(source.Model, card, x);
                var stem = PyTorchExporter.FileStem(g.Arch);
                Assert.Equal([Path.Combine(dir, stem + ".cs"), Path.Combine(dir, stem + ".safetensors")], TorchSharpExporter.Write(source, dir));
                File.WriteAllText(Path.Combine(dir, "input.json"), JsonSerializer.Serialize(new { shape = x.shape, data = x.data<float>().ToArray() }));
            }
            var lines = RunConsumer([.. ExportPyTorchTests.Models.Keys.Select(k => Path.Combine(root, k))]);
            Assert.Equal(ExportPyTorchTests.Models.Count, lines.Count);
            foreach (var (name, line) in ExportPyTorchTests.Models.Keys.Zip(lines))
            {
                using var doc = JsonDocument.Parse(line);
                Assert.Equal(Path.Combine(root, name), doc.RootElement.GetProperty("dir").GetString());
                var shape = doc.RootElement.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                Assert.Equal(expected[name].shape, shape);
                using var got = tensor(doc.RootElement.GetProperty("logits").EnumerateArray().Select(e => e.GetSingle()).ToArray(), shape);
                var d = MaxAbsDiff(got, expected[name]);
                output.WriteLine($"{name}: logits max |Δ| {d:g3} (max |logit| {MaxAbs(expected[name]):g3})");
                Assert.True(d <= LogitTol, $"{name}: the TorchSharp module's logits differ from ArchDsl's by {d:g4} > {LogitTol}");
            }
        }
        finally { if (Environment.GetEnvironmentVariable("ARCHDSL_KEEP_EXPORT") is null) Directory.Delete(root, recursive: true); else output.WriteLine(root); }
    }

    /// <summary>Runs the consumer on <paramref name="dirs"/>; its stdout lines, or a failure with its stderr.</summary>
    private static List<string> RunConsumer(string[] dirs)
    {
        Assert.True(File.Exists(Consumer), $"the TorchSharp consumer was not built: {Consumer}");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Consumer);
        foreach (var d in dirs) psi.ArgumentList.Add(d);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(TimeSpan.FromMinutes(10))) { p.Kill(entireProcessTree: true); Assert.Fail("the TorchSharp consumer ran over 10 minutes"); }
        Assert.True(p.ExitCode == 0, $"the TorchSharp consumer failed ({p.ExitCode}):\n{err.Result}");
        return stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
    }
}
