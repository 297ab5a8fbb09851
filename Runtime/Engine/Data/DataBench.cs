using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using ArchDsl.Compiler;
using ArchDsl.Runtime.Augment;
using ArchDsl.Runtime.Model;
using ArchDsl.Torch;

namespace ArchDsl.Runtime.Data;

/// <summary>The figures of <c>archc data bench</c>: ArchDsl's input pipeline, and torchvision's on the same files when it ran.</summary>
/// <remarks>The CPU figures (milliseconds of CPU time, all threads and processes of each side, per image) are what a
/// loaded machine distorts least: wall-clock images/s there also measures who else had the cores.</remarks>
/// <param name="PreRead">The training images read once before either side was timed (files, bytes), so neither meets a cold page cache.</param>
public sealed record DataBenchResult(string Root, int Images, int Workers, int Batch, double ImagesPerSecond, double? TorchvisionImagesPerSecond, string? TorchvisionVersion, string? TorchvisionError,
                                     double CpuMsPerImage = double.NaN, double? TorchvisionCpuMsPerImage = null, (int Files, long Bytes)? PreRead = null)
{
    public double? Ratio => TorchvisionImagesPerSecond is double t && t > 0 ? ImagesPerSecond / t : null;
    /// <summary>torchvision's CPU time per image over ArchDsl's.</summary>
    public double? CpuRatio => TorchvisionCpuMsPerImage is double t && CpuMsPerImage > 0 ? t / CpuMsPerImage : null;

    public string ToText() =>
        $"data bench: {Root}, {Images:N0} training images, batch {Batch}, {Workers} worker(s)\n" +
        (PreRead is { } r ? $"  page cache: every training image read once before timing ({r.Files:N0} files, {r.Bytes / 1e6:F1} MB), so neither side is timed on a cold disk\n" : "") +
        $"  archdsl (libjpeg-turbo crop / libvips): {ImagesPerSecond,8:F1} images/s, {CpuMsPerImage:F2} ms CPU per image\n" +
        (TorchvisionImagesPerSecond is double tv
            ? $"  torchvision {TorchvisionVersion} (PIL, DataLoader): {tv,8:F1} images/s, {TorchvisionCpuMsPerImage:F2} ms CPU per image\n" +
              $"  ratio archdsl / torchvision: {Ratio:F2}× images/s, {CpuRatio:F2}× by CPU time per image\n"
            : $"  torchvision: not run ({TorchvisionError ?? "--no-torchvision"})\n");
}

/// <summary>
/// <c>archc data bench</c>: images/s of the input pipeline alone — decode, per-sample transform, normalisation, batch
/// assembly into one contiguous buffer through the prefetch queue, then a horizontal flip of the batch (the flip augment) —
/// as training runs it, for a worker count; then, side by side in the same run, PyTorch's DataLoader + torchvision's
/// ImageFolder on the same training folder with RandomResizedCrop + RandomHorizontalFlip + ToTensor + Normalize
/// (Data/reference/bench_torchvision.py, <c>/usr/bin/python3</c> or $ARCHDSL_PYTHON). When both sides run, before either is timed every
/// file of the training folder (the set both sides draw their batches from; torchvision's order is its own random one) is
/// read once, so that the side timed first does not pay for reading a cold folder from disk (100 × 2000×1500 JPEGs read
/// cold gave 0.92× where the next two runs gave 4.51× and 4.09×).
/// </summary>
public static class DataBench
{
    private const string ScriptName = "bench_torchvision.py";

    /// <exception cref="DataException">the spec's data is not an image folder, or it cannot be read.</exception>
    public static DataBenchResult Run(IrGraph graph, int workers, int batches, int? batchSize, bool torchvision)
    {
        var data = graph.Train.Data;
        if (data.Set != DataCatalog.Folder || data.Path is null)
            throw new DataException($"data bench measures image folders; the spec's data is '{data.Source}' (give --set train.data=folder:<dir>)");
        if (data.Transform is not RandomResizedCropConfig rrc)
            throw new DataException("data bench compares random_resized_crop with torchvision's; the spec's transform is another");
        var stats = DataCatalog.Statistics["imagenet"]; // named, so no statistics pass is timed or needed
        var options = DataRegistry.OptionsFrom(graph) with { Workers = workers, Normalization = new Normalization(stats.Mean, stats.Std), ValFraction = 0, Subset = null };
        var set = DataRegistry.Load(options).Train;
        Model.NativeHeap.Configure(); // as in training (the model sets it): the batch tensors' buffers are reused, not faulted in anew
        int batch = batchSize ?? graph.Train.Loop.Batch;
        // Only when both sides run: the bias is the order of the sides. A one-sided run (--no-torchvision, e.g. scripts/data-memory.sh) measures the pipeline alone.
        var preRead = torchvision && set is FolderSet folder ? ReadOnce(folder, workers) : ((int, long)?)null;
        var (ours, cpu) = Measure(set, batch, batches);
        double? theirs = null, theirCpu = null; string? version = null, error = null;
        if (torchvision)
        {
            try { (theirs, theirCpu, version) = Torchvision(TrainRoot(data.Path), graph.Input.Dims[1], batch, workers, batches, rrc); }
            catch (InvalidOperationException e) { error = e.Message; }
        }
        return new DataBenchResult(data.Path, set.Count, workers, batch, ours, theirs, version, error, cpu, theirCpu, preRead);
    }

    /// <summary>Reads every file of the folder once (into the page cache; the bytes are dropped), on <paramref name="workers"/> threads; a file that cannot be read is passed over (decoding reports it).</summary>
    /// <returns>The files read and their bytes.</returns>
    public static (int Files, long Bytes) ReadOnce(FolderSet set, int workers)
    {
        long bytes = 0;
        int files = 0;
        Parallel.For(0, set.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, workers) }, i =>
        {
            var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 16); // pooled: no large-object garbage per file or per task
            try
            {
                using var handle = File.OpenHandle(set.FilePath(i));
                long offset = 0;
                for (int n; (n = RandomAccess.Read(handle, buffer, offset)) > 0;) offset += n;
                Interlocked.Add(ref bytes, offset);
                Interlocked.Increment(ref files);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            finally { System.Buffers.ArrayPool<byte>.Shared.Return(buffer); }
        });
        return (files, bytes);
    }

    /// <summary>Images/s and milliseconds of this process's CPU time (all threads) per image over <paramref name="batches"/> batches after one warm-up batch (the first epoch's order, wrapping into the next).</summary>
    public static (double ImagesPerSecond, double CpuMsPerImage) Measure(ImageSet set, int batch, int batches)
    {
        using var batcher = new Batcher(set, batch, shuffle: true, seed: 1);
        var images = new float[(long)batch * set.SampleSize];
        var labels = new long[batch];
        var flip = new AugmentPipeline([new HorizontalFlip()]);
        int step = 0, total = 0;
        void One()
        {
            int n = batcher.FillBatch(step / batcher.BatchesPerEpoch, step % batcher.BatchesPerEpoch, images, labels);
            using var scope = torch.NewDisposeScope();
            var x = torch.from_bytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(images.AsSpan(0, n * set.SampleSize)), torch.ScalarType.Float32,
                new long[] { n, set.Channels, set.Height, set.Width }, torch.Device.Parse("cpu"));
            flip.Apply(x, 1, 0, step, overwriteInput: true); // x is this batch's copy of the pooled buffer, read no more
            step++;
            total += n;
        }
        One();
        total = 0;
        using var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var watch = Stopwatch.StartNew();
        for (int b = 0; b < batches; b++) One();
        double seconds = watch.Elapsed.TotalSeconds;
        process.Refresh();
        return (total / seconds, (process.TotalProcessorTime - cpu).TotalMilliseconds / total);
    }

    private static string TrainRoot(string root) => Directory.Exists(Path.Combine(root, "train")) ? Path.Combine(root, "train") : root;

    private static (double, double, string) Torchvision(string root, int size, int batch, int workers, int batches, RandomResizedCropConfig rrc)
    {
        var script = FindScript() ?? throw new InvalidOperationException($"{ScriptName} not found beside the ArchDsl assembly or in the source tree");
        var psi = new ProcessStartInfo(Bench.PythonExecutable) { RedirectStandardOutput = true, RedirectStandardError = true };
        string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        foreach (var a in new[] { script, root, "--size", $"{size}", "--batch", $"{batch}", "--workers", $"{workers}", "--batches", $"{batches}",
                     "--scale", F(rrc.ScaleMin), F(rrc.ScaleMax), "--ratio", F(rrc.RatioMin), F(rrc.RatioMax) })
            psi.ArgumentList.Add(a);
        psi.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        psi.Environment["OMP_NUM_THREADS"] = "1";
        Process p;
        try { p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {Bench.PythonExecutable}"); }
        catch (System.ComponentModel.Win32Exception e) { throw new InvalidOperationException($"could not start {Bench.PythonExecutable}: {e.Message}", e); }
        using (p)
        {
            var stderr = p.StandardError.ReadToEndAsync();
            var stdout = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0)
                throw new InvalidOperationException($"{ScriptName} failed (exit {p.ExitCode}): {string.Join(" | ", stderr.Result.Trim().Split('\n').TakeLast(3))}");
            var j = JsonNode.Parse(stdout.Trim().Split('\n').Last())!.AsObject();
            return ((double)j["images_per_second"]!, (double)j["cpu_ms_per_image"]!, (string?)j["torchvision_version"] ?? "?");
        }
    }

    private static string? FindScript()
    {
        var candidates = new List<string> { Path.Combine(Path.GetDirectoryName(typeof(DataBench).Assembly.Location) ?? ".", "Data", "reference", ScriptName) };
        if (NativeLibraryLocator.FindRepositoryRoot() is { } root) candidates.Add(Path.Combine(root, "Runtime", "Engine", "Data", "reference", ScriptName));
        return candidates.FirstOrDefault(File.Exists);
    }
}
