using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using ArchDsl.Runtime.Export;

namespace ArchDsl.Cli;

// Using a model outside ArchDsl: export and predict. Argument parsing and output only; the work is done by
// Runtime/Engine/Export.
public static partial class Commands
{
    // ---- export --------------------------------------------------------------------------------------

    static Command Export(Output output)
    {
        var source = new Argument<string>("source") { Description = "a run directory (its best checkpoint, else its last) or a .arch spec (initial weights)" };
        var format = FormatOption("pytorch", "onnx", "torchsharp");
        var outDir = new Option<string?>("--out") { Description = "folder to write into (default: RUN/export, or ./export for a spec)" };
        var set = SetOption(); var arch = ArchOption();
        var cmd = new Command("export", "write the model for use elsewhere: --format pytorch (a self-contained .py and .safetensors), onnx (opset 17, normalisation included) or torchsharp (a C# TorchSharp module and .safetensors)")
            { source, format, outDir, set, arch };
        cmd.SetAction(p =>
        {
            var path = p.GetValue(source)!;
            if (!PathArguments.Exist(output, "run directory or spec file", path)) return ExitCodes.SpecErrors;
            var isRun = Directory.Exists(path);
            if (isRun && ((p.GetValue(set)?.Length ?? 0) > 0 || p.GetValue(arch) is not null))
                throw new UsageException("--set and --arch apply to a spec; a run is exported as it was trained");
            try
            {
                ExportSource src;
                if (isRun) src = ExportSource.FromRun(path);
                else
                {
                    var graph = CompileSpec(output, path, p.GetValue(set), p.GetValue(arch));
                    if (graph is null) return ExitCodes.SpecErrors;
                    src = ExportSource.FromGraph(graph, path, graph.Train["seed"] is long seed ? seed : 0);
                }
                using (src)
                {
                    var dir = p.GetValue(outDir) ?? (isRun ? Path.Combine(path, "export") : "export");
                    var files = p.GetValue(format) switch
                    {
                        "onnx" => OnnxExporter.Write(src, dir),
                        "torchsharp" => TorchSharpExporter.Write(src, dir),
                        _ => PyTorchExporter.Write(src, dir),
                    };
                    foreach (var file in files) output.Out.WriteLine($"wrote {file}");
                    if (p.GetValue(format) == "pytorch") output.Out.WriteLine(PyTorchExporter.LoadHint(dir, Path.GetFileNameWithoutExtension(files[0])));
                }
                return ExitCodes.Ok;
            }
            catch (ExportException e)
            {
                output.Err.WriteLine($"archc: error: {e.Message}");
                return ExitCodes.SpecErrors;
            }
        });
        return cmd;
    }

    // ---- predict -------------------------------------------------------------------------------------

    static Command Predict(Output output)
    {
        var run = new Argument<string>("run") { Description = "a trained run directory (its best checkpoint, else its last)" };
        var images = new Argument<string[]>("images") { Description = "image files or folders of images (PNG, JPEG, WebP, TIFF, …)", Arity = ArgumentArity.OneOrMore };
        var top = new Option<int>("--top") { Description = "how many classes to show per image", DefaultValueFactory = _ => 3 };
        var format = FormatOption("text", "json");
        var cmd = new Command("predict", "the top classes and their probabilities for images, prepared as the run's evaluation prepares them (its eval transform and normalisation)") { run, images, top, format };
        cmd.SetAction(p =>
        {
            if (p.GetValue(top) < 1) throw new UsageException($"--top must be at least 1, got {p.GetValue(top)}");
            try
            {
                using var predictor = Predictor.Open(p.GetValue(run)!); // a mistyped run first, before the images are listed
                var files = Predictor.ImageFiles(p.GetValue(images)!);
                var report = predictor.Predict(files, p.GetValue(top));
                if (p.GetValue(format) == "json")
                    output.Out.WriteLine(JsonSerializer.Serialize(report.Predictions, PredictionJson));
                else
                    foreach (var r in report.Predictions)
                        output.Out.WriteLine($"{r.Image}\t{string.Join(", ", r.Top.Select(t => $"{t.Class} {t.Probability.ToString("0.0000", CultureInfo.InvariantCulture)}"))}");
                foreach (var f in report.Failures) output.Err.WriteLine($"archc: error: {f.Error}");
                if (report.Failures.Count > 0)
                    output.Err.WriteLine($"archc: {report.Failures.Count} of {files.Count} image(s) could not be predicted");
                return report.Failures.Count > 0 ? ExitCodes.SpecErrors : ExitCodes.Ok;
            }
            catch (ExportException e)
            {
                output.Err.WriteLine($"archc: error: {e.Message}");
                return ExitCodes.SpecErrors;
            }
        });
        return cmd;
    }

    static readonly JsonSerializerOptions PredictionJson = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };
}
