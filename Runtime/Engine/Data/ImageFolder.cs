namespace ArchDsl.Runtime.Data;

/// <summary>
/// Images in class folders: <c>root/&lt;class&gt;/&lt;file&gt;.png</c>. Classes are the sub-directories in
/// ordinal order; files are read in ordinal order, so the set is the same on every machine. If root
/// holds <c>train/</c> and <c>test/</c>, each with class folders, they are the two splits (the test
/// classes must be train classes); otherwise root is the training set and there is no test set.
/// All images must have the same size. Colour images give 3 channels; if every image is grey, 1.
/// Alpha is dropped.
/// </summary>
public static class ImageFolderLoader
{
    private static readonly string[] OtherImageExtensions = { ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm" };

    public static (Dataset Train, Dataset? Test) Load(string root)
    {
        if (!Directory.Exists(root))
            throw new DataException($"image folder '{root}' does not exist; expected <root>/<class>/<image>.png");
        string train = Path.Combine(root, "train"), test = Path.Combine(root, "test");
        if (Directory.Exists(train) && Directory.Exists(test))
        {
            var trainSet = LoadSplit(train, null, "train");
            var testSet = LoadSplit(test, trainSet.ClassNames, "test");
            // Colour in one split only: the grey split is read again with its grey repeated in three channels.
            if (trainSet.Channels < testSet.Channels) trainSet = LoadSplit(train, null, "train", testSet.Channels);
            else if (testSet.Channels < trainSet.Channels) testSet = LoadSplit(test, trainSet.ClassNames, "test", trainSet.Channels);
            if (testSet.Height != trainSet.Height || testSet.Width != trainSet.Width)
                throw new DataException($"image folder '{root}': train images are {trainSet.ShapeText} but test images are {testSet.ShapeText}");
            return (trainSet, testSet);
        }
        return (LoadSplit(root, null, "train"), null);
    }

    /// <summary>Loads one split. With <paramref name="classes"/> given, folder names map onto those classes;
    /// <paramref name="minChannels"/> 3 makes grey images three-channel.</summary>
    public static Dataset LoadSplit(string root, IReadOnlyList<string>? classes, string split, int? minChannels = null)
    {
        var dirs = Directory.GetDirectories(root)
            .Select(d => Path.GetFileName(d)!)
            .Where(n => !n.StartsWith('.'))
            .OrderBy(n => n, StringComparer.Ordinal)
            .ToArray();
        if (dirs.Length == 0)
            throw new DataException($"image folder '{root}' has no class sub-directories; expected <root>/<class>/<image>.png");
        var classNames = classes ?? dirs;
        var classIndex = classNames.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => p.i, StringComparer.Ordinal);

        var images = new List<(PngImage Image, string Path)>();
        var labels = new List<int>();
        foreach (var dir in dirs)
        {
            if (!classIndex.TryGetValue(dir, out int label))
                throw new DataException($"image folder '{root}': class '{dir}' is not among the training classes ({string.Join(", ", classNames)})");
            var files = Directory.GetFiles(Path.Combine(root, dir))
                .Where(f => !Path.GetFileName(f).StartsWith('.'))
                .OrderBy(f => f, StringComparer.Ordinal);
            foreach (var f in files)
            {
                string ext = Path.GetExtension(f).ToLowerInvariant();
                if (ext == ".png")
                {
                    images.Add((Png.Read(f), f));
                    labels.Add(label);
                }
                else if (OtherImageExtensions.Contains(ext))
                    throw new DataException($"'{f}': only PNG images are supported in image folders; convert it to PNG");
            }
        }
        if (images.Count == 0)
            throw new DataException($"image folder '{root}' holds no .png images");

        var first = images[0];
        foreach (var (img, path) in images)
            if (img.Width != first.Image.Width || img.Height != first.Image.Height)
                throw new DataException($"'{path}' is {img.Width}×{img.Height} but '{first.Path}' is {first.Image.Width}×{first.Image.Height}; all images must have the same size");
        bool colour = images.Any(i => i.Image.Channels >= 3);
        int channels = colour || minChannels >= 3 ? 3 : 1;
        int h = first.Image.Height, w = first.Image.Width, plane = h * w;

        var pixels = new float[(long)images.Count * channels * plane];
        for (int n = 0; n < images.Count; n++)
            ToPlanar(images[n].Image, channels, pixels.AsSpan(n * channels * plane, channels * plane));
        return new Dataset(pixels, labels.ToArray(), channels, h, w, classNames, $"{Path.GetFileName(Path.TrimEndingDirectorySeparator(root))} {split}");
    }

    /// <summary>Interleaved H,W,C bytes → planar C,H,W floats in [0, 1] (grey is repeated for colour output).</summary>
    private static void ToPlanar(PngImage img, int channels, Span<float> dst)
    {
        int plane = img.Width * img.Height;
        int src = img.Channels;
        bool srcColour = src >= 3;
        var table = Dataset.ByteToUnit;
        for (int c = 0; c < channels; c++)
        {
            int srcChannel = srcColour ? c : 0;
            var d = dst.Slice(c * plane, plane);
            for (int i = 0; i < plane; i++) d[i] = table[img.Pixels[i * src + srcChannel]];
        }
    }
}
