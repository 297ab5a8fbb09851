using System.CommandLine;
using ArchDsl.Runtime.Data;

namespace ArchDsl.Cli;

// archc data inspect | bench | export: argument parsing and output only; the work is Runtime's DataTools and DataBench.
public static partial class Commands
{
    static Command Data(Output output)
    {
        var cmd = new Command("data", "image data: inspect a folder, time the input pipeline against torchvision, export a data set as an image folder");
        cmd.Add(DataInspect(output));
        cmd.Add(DataBenchCommand(output));
        cmd.Add(DataExport(output));
        return cmd;
    }

    static Option<int> WorkersOption() => new("--workers") { Description = "decoding threads (default: the cores available)", DefaultValueFactory = _ => ImageFolderLoader.DefaultWorkers };

    static int DataError(Output output, DataException e)
    {
        output.Err.WriteLine($"archc: error: {e.Message}");
        return ExitCodes.SpecErrors;
    }

    static Command DataInspect(Output output)
    {
        var dir = new Argument<string>("dir") { Description = "an image folder: <dir>/train/<class>/… (and val/) or <dir>/<class>/…" };
        var workers = WorkersOption();
        var cmd = new Command("inspect", "classes, image counts and sizes of an image folder, and the files that cannot be decoded") { dir, workers };
        cmd.SetAction(p =>
        {
            if (p.GetValue(workers) < 1) throw new UsageException("--workers must be at least 1");
            try
            {
                var report = DataTools.Inspect(p.GetValue(dir)!, p.GetValue(workers));
                output.Out.Write(report.ToText());
                return ExitCodes.Ok;
            }
            catch (DataException e) { return DataError(output, e); }
        });
        return cmd;
    }

    static Command DataBenchCommand(Output output)
    {
        var spec = SpecArgument(); var set = SetOption(); var arch = ArchOption(); var workers = WorkersOption();
        var batches = new Option<int>("--batches") { Description = "timed batches after one warm-up batch", DefaultValueFactory = _ => 10 };
        var batch = new Option<int?>("--batch") { Description = "images per batch (default: the spec's train.batch)" };
        var noTorchvision = new Option<bool>("--no-torchvision") { Description = "skip the torchvision DataLoader companion run" };
        var cmd = new Command("bench", "images/s of the spec's image-folder input pipeline (decode + transform + batch), side by side with torchvision's DataLoader")
            { spec, set, arch, workers, batches, batch, noTorchvision };
        cmd.SetAction(p =>
        {
            if (p.GetValue(workers) < 1 || p.GetValue(batches) < 1 || p.GetValue(batch) is < 1)
                throw new UsageException("--workers, --batches and --batch must be at least 1");
            var graph = CompileSpec(output, p.GetValue(spec)!, p.GetValue(set), p.GetValue(arch));
            if (graph is null) return ExitCodes.SpecErrors;
            try
            {
                output.Out.Write(DataBench.Run(graph, p.GetValue(workers), p.GetValue(batches), p.GetValue(batch), !p.GetValue(noTorchvision)).ToText());
                return ExitCodes.Ok;
            }
            catch (DataException e) { return DataError(output, e); }
        });
        return cmd;
    }

    static Command DataExport(Output output)
    {
        var data = new Argument<string>("data") { Description = "an in-memory data set: fashion-mnist, mnist, cifar10, cifar100 (name:path for another location)" };
        var dir = new Argument<string>("dir") { Description = "the new image folder (train/ and val/ are written inside)" };
        var quality = new Option<int>("--quality") { Description = "JPEG quality 1..100; 0 writes PNG", DefaultValueFactory = _ => 95 };
        var cmd = new Command("export", "write a labelled data set out as an image folder (train/<k>-<class>/…, val/…)") { data, dir, quality };
        cmd.SetAction(p =>
        {
            if (p.GetValue(quality) is < 0 or > 100) throw new UsageException("--quality must be 0..100");
            try
            {
                var (train, val) = DataTools.Export(p.GetValue(data)!, p.GetValue(dir)!, p.GetValue(quality));
                output.Out.WriteLine($"wrote {train:N0} training and {val:N0} validation images to {p.GetValue(dir)}");
                return ExitCodes.Ok;
            }
            catch (DataException e) { return DataError(output, e); }
        });
        return cmd;
    }
}
