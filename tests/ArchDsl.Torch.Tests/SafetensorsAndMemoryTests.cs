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

    /// <summary>A file of this header text (length-prefixed, unpadded) and <paramref name="dataBytes"/> zero bytes of data.</summary>
    static byte[] FileOf(string header, int dataBytes)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)h.Length);
        h.CopyTo(bytes, 8);
        return bytes;
    }

    static byte[] Prefix(ulong n, int rest)
    {
        var bytes = new byte[8 + rest];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, n);
        if (rest > 0) bytes[8] = (byte)'{';
        return bytes;
    }

    /// <summary>
    /// Every rule of the reference implementation (huggingface/safetensors, SafeTensors::read_metadata and
    /// Metadata::validate; the SafeTensorError variant in each comment), plus the reader's own (unsupported
    /// dtype, a name twice): each file is refused by Load, Describe and ReadMetadata alike, with the tensor named.
    /// </summary>
    public static TheoryData<string, byte[], string> BrokenFiles() => new()
    {
        { "HeaderTooSmall", new byte[] { 1, 2, 3 }, "shorter than 8 bytes" },
        { "HeaderTooLarge", Prefix(100_000_001, 4), "over the format's limit of 100000000" },
        { "HeaderTooLarge u64", Prefix(ulong.MaxValue, 4), "over the format's limit" },
        { "InvalidHeaderLength", Prefix(64, 10), "runs past the end of the 18-byte file" },
        { "InvalidHeader (UTF-8)", [4, 0, 0, 0, 0, 0, 0, 0, (byte)'{', 0xC3, 0x28, (byte)'}'], "not valid UTF-8" },
        { "InvalidHeaderStart", FileOf(" {}", 0), "does not start with '{'" },
        { "InvalidHeaderDeserialization", FileOf("{\"w\":", 0), "not valid JSON" },
        { "not an object", FileOf("{\"w\":[1]}", 0), "tensor 'w': its entry is not a JSON object" },
        { "no dtype", FileOf("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "tensor 'w': it has no dtype" },
        { "unknown dtype", FileOf("{\"w\":{\"dtype\":\"F31\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "tensor 'w': unknown dtype 'F31'" },
        { "format-only dtype", FileOf("{\"w\":{\"dtype\":\"U32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "tensor 'w': dtype U32 is valid safetensors but not supported" },
        { "shape of strings", FileOf("{\"w\":{\"dtype\":\"F32\",\"shape\":[\"x\"],\"data_offsets\":[0,4]}}", 4), "tensor 'w': shape holds \"x\"" },
        { "negative dim", FileOf("{\"w\":{\"dtype\":\"F32\",\"shape\":[-2,-2],\"data_offsets\":[0,16]}}", 16), "tensor 'w': shape holds -2, not a non-negative integer" },
        { "fractional dim", FileOf("{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4), "shape holds 1.5" },
        { "one offset", FileOf("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4), "tensor 'w': data_offsets has 1 numbers, not 2" },
        { "negative offset", FileOf("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4), "data_offsets holds -4" },
        // ValidationOverflow: 4 × 4611686018427387905 wraps to 4 in 64 bits, 4 × 4 bytes would then look right.
        { "ValidationOverflow", FileOf("{\"w\":{\"dtype\":\"F32\",\"shape\":[4,4611686018427387905],\"data_offsets\":[0,16]}}", 16), "tensor 'w': shape [4, 4611686018427387905] has more bytes than a 64-bit count holds" },
        { "ValidationOverflow bytes", FileOf("{\"w\":{\"dtype\":\"F64\",\"shape\":[2305843009213693952],\"data_offsets\":[0,0]}}", 0), "has more bytes than a 64-bit count holds" },
        { "TensorInvalidInfo", FileOf("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", 12), "tensor 'w': data_offsets [0, 12] hold 12 bytes but F32[2, 2] needs 16" },
        { "InvalidOffset gap", FileOf("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12), "tensor 'b': data_offsets [8, 12] leave a gap" },
        { "InvalidOffset overlap", FileOf("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8), "tensor 'b': data_offsets [4, 8] overlap" },
        { "InvalidOffset start", FileOf("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8), "tensor 'a': data_offsets [4, 8] leave a gap" },
        { "InvalidOffset reversed", FileOf("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4), "end before they begin" },
        { "MetadataIncompleteBuffer short", FileOf("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4), "data ends at byte 8 of the buffer but the buffer holds 4 bytes" },
        { "MetadataIncompleteBuffer long", FileOf("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 12), "data ends at byte 4 of the buffer but the buffer holds 12 bytes" },
        { "metadata of numbers", FileOf("{\"__metadata__\":{\"a\":1}}", 0), "tensor '__metadata__': the value of 'a' is not a string" },
        { "name twice", FileOf("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8), "tensor 'w': the header names it twice" },
    };

    [Theory]
    [MemberData(nameof(BrokenFiles))]
    public void A_file_that_breaks_a_rule_of_the_format_is_refused_with_the_rule_and_tensor(string rule, byte[] bytes, string message)
    {
        var dir = Directory.CreateTempSubdirectory("archdsl-st-").FullName;
        try
        {
            var path = Path.Combine(dir, "bad.safetensors");
            File.WriteAllBytes(path, bytes);
            foreach (var read in new Action[] { () => Safetensors.Load(path), () => Safetensors.Describe(path), () => Safetensors.ReadMetadata(path) })
            {
                var e = Assert.Throws<SafetensorsException>(read);
                Assert.Contains(message, e.Message);
                Assert.StartsWith($"{path}: invalid safetensors file: ", e.Message);
                Assert.False(string.IsNullOrEmpty(rule));
            }
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Edge_cases_the_format_allows_are_read()
    {
        var dir = Directory.CreateTempSubdirectory("archdsl-st-").FullName;
        try
        {
            using var scope = NewDisposeScope();
            var path = Path.Combine(dir, "ok.safetensors");
            // No tensors at all; a zero-element tensor; a scalar; names out of offset order; unaligned data; unknown keys ignored.
            foreach (var (header, data) in new[]
            {
                ("{}", 0),
                ("{\"__metadata__\":{\"k\":\"v\"}}", 0),
                ("{\"e\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[0,0]},\"s\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]}}", 8),
                ("{\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[1,5],\"extra\":true}}", 5),
            })
            {
                File.WriteAllBytes(path, FileOf(header, data));
                var loaded = Safetensors.Load(path);
                Assert.Equal(Safetensors.Describe(path).Select(d => d.name).Order(), loaded.Keys.Order());
            }
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void A_saved_file_with_any_one_byte_of_its_header_changed_loads_or_is_refused_never_crashes()
    {
        using var scope = NewDisposeScope();
        var bytes = Safetensors.Serialize(new Dictionary<string, Tensor> { ["a"] = Data(2, 3), ["b"] = tensor(new long[] { 1, 2 }) });
        var dir = Directory.CreateTempSubdirectory("archdsl-st-").FullName;
        try
        {
            var path = Path.Combine(dir, "m.safetensors");
            int headerEnd = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
            var random = new Random(7);
            for (int trial = 0; trial < 400; trial++)
            {
                var copy = (byte[])bytes.Clone();
                int at = random.Next(headerEnd);
                copy[at] = (byte)(trial % 3 == 0 ? "0123456789-[],{}\"e"[random.Next(17)] : random.Next(256));
                File.WriteAllBytes(path, copy);
                try { foreach (var t in Safetensors.Load(path).Values) Assert.True(t.numel() >= 0); }
                catch (SafetensorsException) { }
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
