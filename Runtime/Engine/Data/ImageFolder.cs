using ArchDsl.Compiler;

namespace ArchDsl.Runtime.Data;

/// <summary>
/// Loads an image folder (<see cref="FolderIndex"/>: <c>root/train/&lt;class&gt;/…</c> with <c>root/val/…</c> or
/// <c>root/test/…</c>, or <c>root/&lt;class&gt;/…</c> alone) as streaming <see cref="FolderSet"/>s of the model's input size:
/// the training split with the train transform, the held-out split with the evaluation transform.
/// </summary>
public static class ImageFolderLoader
{
    /// <summary>Decoding threads when not given: the cores this process may use.</summary>
    public static int DefaultWorkers => Environment.ProcessorCount;

    /// <exception cref="DataException">no model input to size the images, or a folder the listing refuses (see <see cref="FolderIndex"/>).</exception>
    public static (ImageSet Train, ImageSet? Test) Load(DataOptions o)
    {
        string root = o.Path ?? throw new DataException("data 'folder' needs a directory: `data: folder:<path>` or a `path:` key");
        if (o.Input is not { Layout: Layout.Image } input || input.Dims.Count != 3)
            throw new DataException($"image folder '{root}': images are resized to the model's image input, but the input is {(o.Input?.ToString() ?? "unknown")}");
        var (trainIndex, testIndex) = FolderIndex.ScanSplits(root, o.Strict);
        int workers = o.Workers ?? DefaultWorkers;
        var unreadable = new UnreadableImages(root) { Warn = o.Warn }; // one record for the folder: each bad file reported once
        FolderSet Set(FolderIndex index, SampleTransformConfig transform, string split) =>
            new(index.Files, null, trainIndex.Classes, input.Dims[0], input.Dims[1], input.Dims[2], transform, o.Seed, workers, o.Strict,
                $"{Path.GetFileName(Path.TrimEndingDirectorySeparator(root))} {split}", unreadable);
        var train = Set(trainIndex, o.Transform, "train");
        var test = testIndex is null ? null : Set(testIndex, o.EvalTransform, Path.GetFileName(testIndex.Root));
        foreach (var note in trainIndex.Notes.Concat(testIndex?.Notes ?? [])) o.Warn?.Invoke($"warning: {note}");
        // a zero-byte image is unreadable as listed: recorded now, with the decoder's own reason (as `data inspect` gives it),
        // so that the run's header already leaves it out of the images it counts
        foreach (var empty in trainIndex.EmptyFiles.Concat(testIndex?.EmptyFiles ?? []))
        {
            try { ImageDecoder.DecodeBytes(empty, (w, h) => new CropBox(0, 0, w, h), 1, 1, input.Dims[0], out _); }
            catch (DataException e) when (e.InnerException is not (TypeInitializationException or DllNotFoundException)) { unreadable.Add(empty, e.Message); }
        }
        return (train, test);
    }
}
