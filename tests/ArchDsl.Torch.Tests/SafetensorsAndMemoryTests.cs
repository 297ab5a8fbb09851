using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Xunit.Abstractions;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;
using F = ArchDsl.Torch.torch.nn.functional;

namespace ArchDsl.Torch.Tests;

public class SafetensorsTests : TorchTest
{
    [Fact]
    public void Our_file_follows_the_format_and_python_reads_it_back()
    {
        using var scope = NewDisposeScope();
        var dir = Directory.CreateTempSubdirectory("archdsl-st-").FullName;
        try
        {
            var path = Path.Combine(dir, "a.safetensors");
            var tensors = new Dictionary<string, Tensor>
            {
                ["z.weight"] = Data(1, 3, 4),
                ["a.bias"] = tensor(new float[] { 1.5f, -2 }),
                ["count"] = tensor(42L),
                ["ids"] = tensor(new long[] { 1, -2, 3, long.MaxValue }, new long[] { 2, 2 }),
                ["f64"] = tensor(new double[] { Math.PI }),
                ["mask"] = tensor(new bool[] { true, false, true }),
            };
            Safetensors.Save(path, tensors, new Dictionary<string, string> { ["format"] = "pt", ["arch"] = "ConvMixer" });
            Assert.Empty(Directory.GetFiles(dir, "*.tmp")); // written to a temp file, then renamed

            // the layout, read by hand: header length, JSON header, sorted keys, contiguous offsets
            var bytes = File.ReadAllBytes(path);
            var n = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
            Assert.Equal(0, n % 8);
            using var doc = JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, (int)n));
            var keys = doc.RootElement.EnumerateObject().Select(p => p.Name).Where(k => k != "__metadata__").ToList();
            Assert.Equal(keys.OrderBy(k => k, StringComparer.Ordinal), keys);
            Assert.Equal("I64", doc.RootElement.GetProperty("ids").GetProperty("dtype").GetString());
            Assert.Equal("F32", doc.RootElement.GetProperty("z.weight").GetProperty("dtype").GetString());
            Assert.Equal(0, doc.RootElement.GetProperty("count").GetProperty("shape").GetArrayLength());
            long expectedOffset = 0;
            foreach (var k in keys)
            {
                var offs = doc.RootElement.GetProperty(k).GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                Assert.Equal(expectedOffset, offs[0]);
                expectedOffset = offs[1];
            }
            Assert.Equal(8 + n + expectedOffset, bytes.Length);

            // python reads our file and writes its own copy (with its own metadata); we read that
            var script = Path.Combine(dir, "rt.py");
            File.WriteAllText(script, PyTorch.Helpers + $$"""

                t = load('{{path}}')
                assert metadata('{{path}}') == {'format': 'pt', 'arch': 'ConvMixer'}, metadata('{{path}}')
                assert t['ids'].dtype == torch.int64 and t['ids'][1, 1].item() == 2**63 - 1
                assert t['count'].shape == () and t['count'].item() == 42
                assert t['mask'].tolist() == [True, False, True]
                assert abs(t['f64'].item() - 3.141592653589793) < 1e-15
                t['py.extra'] = torch.arange(6, dtype=torch.float32).reshape(2, 3) / 7
                save('{{Path.Combine(dir, "b.safetensors")}}', t, {'writer': 'python'})
                print('ok')
                """);
            var (code, stdout, stderr) = PyTorch.Exec(script);
            Assert.True(code == 0, stderr + stdout);

            var back = Safetensors.Load(Path.Combine(dir, "b.safetensors"), out var meta);
            Assert.Equal("python", meta["writer"]);
            Assert.Equal(tensors.Keys.Append("py.extra").OrderBy(k => k), back.Keys.OrderBy(k => k));
            foreach (var (k, t) in tensors)
            {
                Assert.Equal(t.dtype, back[k].dtype);
                Assert.Equal(t.shape, back[k].shape);
                Assert.Equal(t.bytes(), back[k].bytes());
            }
            Assert.Equal(new float[] { 0, 1 / 7f, 2 / 7f, 3 / 7f, 4 / 7f, 5 / 7f }, back["py.extra"].data<float>());
            Assert.Equal(new[] { ("a.bias", ScalarType.Float32) }, Safetensors.Describe(path).Where(d => d.name == "a.bias").Select(d => (d.name, d.dtype)));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Corrupt_files_are_rejected_with_a_message()
    {
        var dir = Directory.CreateTempSubdirectory("archdsl-st-").FullName;
        try
        {
            var path = Path.Combine(dir, "bad.safetensors");
            File.WriteAllBytes(path, new byte[] { 1, 2, 3 });
            Assert.Contains("shorter than 8 bytes", Assert.Throws<InvalidDataException>(() => Safetensors.Load(path)).Message);
            var header = Encoding.UTF8.GetBytes("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}");
            var bytes = new byte[8 + header.Length + 12];
            BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
            header.CopyTo(bytes, 8);
            File.WriteAllBytes(path, bytes);
            Assert.Contains("needs 16", Assert.Throws<InvalidDataException>(() => Safetensors.Load(path)).Message);
            // valid JSON of the wrong structure: a tensor entry without a dtype, a shape of strings
            foreach (var json in new[] { "{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", "{\"w\":{\"dtype\":\"F32\",\"shape\":[\"x\"],\"data_offsets\":[0,4]}}" })
            {
                header = Encoding.UTF8.GetBytes(json);
                bytes = new byte[8 + header.Length + 4];
                BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
                header.CopyTo(bytes, 8);
                File.WriteAllBytes(path, bytes);
                Assert.Contains("malformed safetensors header", Assert.Throws<InvalidDataException>(() => Safetensors.Load(path)).Message);
                Assert.Contains("malformed safetensors header", Assert.Throws<InvalidDataException>(() => Safetensors.ReadMetadata(path)).Message);
            }
        }
        finally { Directory.Delete(dir, true); }
    }
}

public class MemoryTests : TorchTest
{
    private readonly ITestOutputHelper _out;
    public MemoryTests(ITestOutputHelper output) => _out = output;

    /// <summary>
    /// 2,000 training steps of a 2-layer MLP with AdamW, each inside its own dispose scope: native memory
    /// must not grow with the step count (no tensor may outlive its step), the live handle count must return
    /// to where it was, and RSS after step 2,000 may exceed RSS after step 100 by only a small bound.
    /// </summary>
    [Fact]
    public void Two_thousand_training_steps_in_dispose_scopes_do_not_grow_memory()
    {
        manual_seed(0);
        // Tensors earlier tests left to the finalizer would otherwise be counted here and freed mid-test.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var handlesBefore = LiveTensorHandles;
        using var model = new nn.Sequential(("fc1", new nn.Linear(64, 256)), ("act", new Gelu()), ("fc2", new nn.Linear(256, 10)));
        using var opt = optim.AdamW(model.named_parameters(), lr: 1e-3);
        Tensor xs, ys;
        using (var setup = NewDisposeScope())
        {
            xs = randn(32, 64).DetachFromDisposeScope();
            ys = randint(10, new long[] { 32 }).DetachFromDisposeScope();
        }
        long rss100 = 0, handles100 = 0;
        double firstLoss = 0, lastLoss = 0;
        for (var step = 1; step <= 2000; step++)
        {
            using (var scope = NewDisposeScope())
            {
                opt.zero_grad();
                var loss = F.cross_entropy(model.forward(xs), ys, label_smoothing: 0.1);
                loss.backward();
                nn.utils.clip_grad_norm_(model.parameters(), 1.0);
                opt.step();
                if (step == 1) firstLoss = loss.item<double>();
                if (step == 2000) lastLoss = loss.item<double>();
            }
            if (step == 100)
            {
                GC.Collect();
                rss100 = ProcessMemory.CurrentRss;
                handles100 = LiveTensorHandles;
            }
        }
        GC.Collect();
        var rss2000 = ProcessMemory.CurrentRss;
        var handles2000 = LiveTensorHandles;
        _out.WriteLine($"RSS after step 100: {rss100 / 1048576.0:F1} MiB, after step 2000: {rss2000 / 1048576.0:F1} MiB, growth {(rss2000 - rss100) / 1048576.0:F2} MiB");
        _out.WriteLine($"live handles after step 100: {handles100}, after step 2000: {handles2000}; loss {firstLoss:F4} -> {lastLoss:F4}");
        Assert.Equal(handles100, handles2000);
        Assert.True(rss2000 - rss100 < 20L * 1024 * 1024, $"RSS grew {(rss2000 - rss100) / 1048576.0:F1} MiB between step 100 and 2000");
        Assert.True(lastLoss < firstLoss * 0.5, $"the MLP did not learn: {firstLoss} -> {lastLoss}");
        xs.Dispose(); ys.Dispose();
        model.Dispose(); opt.Dispose();
        Assert.Equal(handlesBefore, LiveTensorHandles);
    }

    sealed class Gelu : nn.Module<Tensor, Tensor>
    {
        public Gelu() : base("GELU") { }
        public override Tensor forward(Tensor x) => F.gelu(x);
    }
}
