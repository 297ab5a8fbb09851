using System.Diagnostics;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;

// Tests here share process-wide state (the native live-handle count, RSS, libtorch's RNG and thread
// settings): run them one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace ArchDsl.Torch.Tests;

/// <summary>
/// Makes sure libarchdsl_torch.so exists before any test touches torch: builds it with
/// Runtime/native/build.sh when missing, and fails every test with the build output otherwise.
/// </summary>
public abstract class TorchTest
{
    static readonly Lazy<string?> BuildFailure = new(EnsureNative);

    protected TorchTest()
    {
        if (BuildFailure.Value is { } failure) throw new InvalidOperationException(failure);
    }

    static string? EnsureNative()
    {
        if (NativeLibraryLocator.FindLibrary() != null) return null;
        var root = NativeLibraryLocator.FindRepositoryRoot();
        if (root == null) return $"{NativeLibraryLocator.FileName} not found and no repository root above {AppContext.BaseDirectory}. {NativeLibraryLocator.BuildHint}";
        var psi = new ProcessStartInfo("bash", new[] { Path.Combine(root, "Runtime", "native", "build.sh") })
        {
            RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = root,
        };
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0 || NativeLibraryLocator.FindLibrary() == null)
            return $"building the native library failed (exit {p.ExitCode}). {NativeLibraryLocator.BuildHint}\n{stdout}\n{stderr.Result}";
        return null;
    }

    /// <summary>Deterministic inputs made in C# (not by libtorch's RNG), so Python sees exactly the same numbers.</summary>
    protected static Tensor Data(int seed, params long[] shape) => TestSupport.Tensors.Uniform(seed, shape);

    protected static Tensor Labels(int seed, int count, int classes) => TestSupport.Tensors.Labels(seed, count, classes);

    protected static double MaxAbsDiff(Tensor a, Tensor b) => TestSupport.Tensors.MaxAbsDiff(a, b);

    protected static void AssertClose(Tensor expected, Tensor actual, double tol = 1e-5, string what = "")
    {
        var d = MaxAbsDiff(expected, actual);
        Assert.True(d <= tol, $"{what}: max abs diff {d:g4} > {tol:g4}");
    }
}

/// <summary>
/// Runs a PyTorch (Debian python3-torch, the same libtorch) script as the reference. Tensors go both
/// ways through safetensors files, read and written in Python with a tiny pure-Python implementation
/// (struct + json + torch.frombuffer): every comparison also exercises our safetensors interop.
/// </summary>
public static class PyTorch
{
    public const string Python = TestSupport.Tools.Python;

    const string Helper = """
        import json, struct, sys, torch
        DT = {'F32': torch.float32, 'F64': torch.float64, 'F16': torch.float16, 'BF16': torch.bfloat16,
              'I64': torch.int64, 'I32': torch.int32, 'I16': torch.int16, 'I8': torch.int8,
              'U8': torch.uint8, 'BOOL': torch.bool}
        CODE = {v: k for k, v in DT.items()}
        def load(path):
            b = open(path, 'rb').read()
            n = struct.unpack('<Q', b[:8])[0]
            header = json.loads(b[8:8 + n])
            out = {}
            for k, v in header.items():
                if k == '__metadata__':
                    continue
                s, e = v['data_offsets']
                raw = bytearray(b[8 + n + s:8 + n + e])
                dt = DT[v['dtype']]
                t = torch.frombuffer(raw, dtype=dt) if len(raw) else torch.empty(0, dtype=dt)
                out[k] = t.reshape(v['shape']).clone()
            return out
        def metadata(path):
            b = open(path, 'rb').read()
            n = struct.unpack('<Q', b[:8])[0]
            return json.loads(b[8:8 + n]).get('__metadata__', {})
        def save(path, tensors, meta=None):
            header, blobs, off = {}, [], 0
            if meta:
                header['__metadata__'] = meta
            for k in sorted(tensors):
                t = tensors[k].detach().contiguous().cpu()
                raw = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()
                header[k] = {'dtype': CODE[t.dtype], 'shape': list(t.shape), 'data_offsets': [off, off + len(raw)]}
                blobs.append(raw)
                off += len(raw)
            h = json.dumps(header).encode()
            h += b' ' * ((8 - len(h) % 8) % 8)
            with open(path, 'wb') as f:
                f.write(struct.pack('<Q', len(h)))
                f.write(h)
                for r in blobs:
                    f.write(r)
        """;

    /// <summary>
    /// Runs <paramref name="body"/> with <c>x</c> = the inputs (dict of tensors) and returns what it puts in
    /// the dict <c>out</c>. The helper functions load/save/metadata are in scope.
    /// </summary>
    public static Dictionary<string, Tensor> Run(string body, IReadOnlyDictionary<string, Tensor> inputs)
    {
        var dir = Directory.CreateTempSubdirectory("archdsl-torch-test-").FullName;
        try
        {
            var inPath = Path.Combine(dir, "in.safetensors");
            var outPath = Path.Combine(dir, "out.safetensors");
            Safetensors.Save(inPath, inputs);
            var script = Helper + "\n" +
                "torch.set_default_dtype(torch.float32)\n" +
                $"x = load({Quote(inPath)})\nout = {{}}\n" + body + "\n" +
                $"save({Quote(outPath)}, out)\n";
            File.WriteAllText(Path.Combine(dir, "script.py"), script);
            var (code, stdout, stderr) = Exec(Path.Combine(dir, "script.py"));
            if (code != 0) throw new InvalidOperationException($"python reference failed ({code}):\n{stderr}\n{stdout}");
            return Safetensors.Load(outPath);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    public static (int code, string stdout, string stderr) Exec(string scriptPath)
    {
        var psi = new ProcessStartInfo(TestSupport.Tools.Require(Python, "python3-torch"), new[] { scriptPath }) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout, err.Result);
    }

    public static string Helpers => Helper;

    static string Quote(string s) => "'" + s.Replace("\\", "\\\\").Replace("'", "\\'") + "'";
}
