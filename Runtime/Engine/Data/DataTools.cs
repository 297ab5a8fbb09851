using System.Collections.Concurrent;
using System.Text;
using ArchDsl.Compiler;
using NetVips;

namespace ArchDsl.Runtime.Data;

/// <summary>What <c>archc data inspect</c> finds in an image folder: per split its classes and counts, image sizes, and unreadable files.</summary>
public sealed record FolderReport(IReadOnlyList<SplitReport> Splits)
{
    public string ToText()
    {
        var sb = new StringBuilder();
        foreach (var s in Splits)
        {
            sb.AppendLine($"{s.Directory}: {s.Images:N0} images in {s.Classes.Count} classes ({s.Readable:N0} readable), {s.OtherFiles} other file(s) ignored");
            sb.AppendLine($"  classes: {string.Join(", ", s.Classes.Select((c, i) => $"{c} ({s.Counts[i]})"))}");
            if (s.Readable > 0)
                sb.AppendLine($"  sizes: width {s.MinWidth}..{s.MaxWidth} (median {s.MedianWidth}), height {s.MinHeight}..{s.MaxHeight} (median {s.MedianHeight})");
            foreach (var note in s.Notes) sb.AppendLine($"  note: {note}");
            if (s.Unreadable.Count > 0)
            {
                sb.AppendLine($"  unreadable: {s.Unreadable.Count}");
                foreach (var (path, why) in s.Unreadable) sb.AppendLine($"    {why}");
            }
        }
        return sb.ToString();
    }
}

/// <summary>One split of <see cref="FolderReport"/>; <see cref="Unreadable"/> maps each file libvips cannot decode to the reason.</summary>
public sealed record SplitReport(string Directory, IReadOnlyList<string> Classes, int[] Counts, int Images, int Readable, int OtherFiles, IReadOnlyList<string> Notes,
                                 IReadOnlyList<KeyValuePair<string, string>> Unreadable, int MinWidth, int MaxWidth, int MedianWidth, int MinHeight, int MaxHeight, int MedianHeight);

/// <summary><c>archc data inspect</c> and <c>archc data export</c>.</summary>
public static class DataTools
{
    /// <summary>Lists and decodes (at 1/8 scale where JPEG allows: the whole file is still read, so truncation shows) every image of each split.</summary>
    /// <exception cref="DataException">a folder the listing refuses (missing, no classes or images, a val class unknown to train).</exception>
    public static FolderReport Inspect(string root, int workers)
    {
        var (train, test) = FolderIndex.ScanSplits(root, strict: false);
        return new FolderReport(new[] { train, test }.OfType<FolderIndex>().Select(i => InspectSplit(i, workers)).ToList());
    }

    private static SplitReport InspectSplit(FolderIndex index, int workers)
    {
        var files = index.Files;
        var sizes = new (int W, int H)[files.Count];
        var readable = new bool[files.Count];
        var bad = new ConcurrentDictionary<string, string>();
        Parallel.For(0, files.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, workers) }, i =>
        {
            string path = files.Path(i);
            try
            {
                ImageDecoder.DecodeBytes(path, (w, h) => { sizes[i] = (w, h); return new CropBox(0, 0, w, h); }, 1, 1, 3, out _);
                readable[i] = true;
            }
            catch (DataException e) { bad[path] = e.Message; }
        });
        var good = sizes.Where((_, i) => readable[i]).ToArray();
        var ws = good.Select(s => s.W).Order().ToArray();
        var hs = good.Select(s => s.H).Order().ToArray();
        var counts = new int[index.Classes.Count];
        foreach (var l in index.Labels) counts[l]++;
        return new SplitReport(index.Root, index.Classes, counts, files.Count, good.Length, index.OtherFiles, index.Notes,
            bad.OrderBy(b => b.Key, StringComparer.Ordinal).ToList(),
            ws.FirstOrDefault(), ws.LastOrDefault(), ws.Length > 0 ? ws[ws.Length / 2] : 0, hs.FirstOrDefault(), hs.LastOrDefault(), hs.Length > 0 ? hs[hs.Length / 2] : 0);
    }

    /// <summary>
    /// Writes a labelled in-memory set (pixels in [0, 1], unnormalised) as an image folder: <c>dir/&lt;split&gt;/&lt;k&gt;-&lt;class&gt;/&lt;i&gt;.jpg</c>,
    /// class folders prefixed by their zero-padded index so that sorted folder names keep the set's class order; JPEG at
    /// <paramref name="quality"/> (libvips' jpegsave, 4:2:0 chroma subsampling as libjpeg's default), or PNG when quality is 0.
    /// Returns the number of files written.
    /// </summary>
    /// <exception cref="DataException">the set is not in memory, or the directory already holds that split.</exception>
    public static int Export(ImageSet set, string dir, string split, int quality)
    {
        if (set is not Dataset data) throw new DataException($"{set.Name} is not held in memory; export writes in-memory sets (fashion-mnist, mnist, cifar10, cifar100, synthetic)");
        string splitDir = Path.Combine(dir, split);
        if (Directory.Exists(splitDir) && Directory.EnumerateFileSystemEntries(splitDir).Any())
            throw new DataException($"'{splitDir}' already exists and is not empty; export writes into a new folder");
        int digits = (data.NumClasses - 1).ToString().Length;
        var folders = data.ClassNames.Select((c, k) => Path.Combine(splitDir, $"{k.ToString().PadLeft(digits, '0')}-{Safe(c)}")).ToArray();
        foreach (var f in folders) Training.AtomicFile.CreateFolder(f);
        int plane = data.Height * data.Width, count = data.Count;
        Parallel.For(0, count, i =>
        {
            var px = data.Sample(i);
            var bytes = new byte[data.SampleSize];
            for (int c = 0; c < data.Channels; c++)
                for (int p = 0; p < plane; p++)
                    bytes[p * data.Channels + c] = (byte)Math.Clamp(Math.Round(px[c * plane + p] * 255), 0, 255);
            using var image = Image.NewFromMemory(bytes, data.Width, data.Height, data.Channels, Enums.BandFormat.Uchar);
            string name = Path.Combine(folders[data.Labels[i]], $"{i.ToString().PadLeft(count.ToString().Length, '0')}");
            if (quality > 0) image.Jpegsave(name + ".jpg", q: quality);
            else image.Pngsave(name + ".png");
        });
        return count;
    }

    /// <summary>A class name as a folder name: path separators and other awkward characters become '_'.</summary>
    private static string Safe(string name) =>
        new(name.Select(ch => char.IsLetterOrDigit(ch) || ch is '-' or '.' ? ch : '_').ToArray());

    /// <summary>Exports data set <paramref name="source"/> (a registry name, or <c>name:path</c>): its training set as <c>train/</c>, its test set as <c>val/</c>.</summary>
    /// <returns>The files written per split.</returns>
    public static (int Train, int Val) Export(string source, string dir, int quality)
    {
        if (quality is < 0 or > 100) throw new DataException($"JPEG quality must be 1..100 (or 0 for PNG), got {quality}");
        // The stored sets, those of a fixed image shape; a folder is already one, synthetic data has no size without a model.
        var stored = DataCatalog.All.Where(d => d.Image is not null).Select(d => d.Name).ToList();
        var name = DataRegistry.ParseSource(source).Name;
        if (!stored.Contains(name))
            throw new DataException($"data export writes {string.Join(", ", stored.SkipLast(1))} or {stored[^1]} (name:path for another location), not '{source}'"
                                    + (Dsl.Suggestions.Closest(name, stored) is { } s ? $"; did you mean '{s}'?" : ""));
        var splits = DataRegistry.Load(new DataOptions { Source = source, Normalize = false });
        int train = Export(splits.Train, dir, "train", quality);
        int val = splits.Test is { } test ? Export(test, dir, "val", quality) : 0;
        return (train, val);
    }
}
