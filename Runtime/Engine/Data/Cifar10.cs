using ArchDsl.Compiler;
namespace ArchDsl.Runtime.Data;

/// <summary>
/// CIFAR-10 and CIFAR-100, binary versions. CIFAR-10, binary version (<c>cifar-10-batches-bin</c>): <c>data_batch_1.bin</c> … <c>data_batch_5.bin</c>
/// and <c>test_batch.bin</c>, each a sequence of 3073-byte records — one label byte, then 1024 red,
/// 1024 green and 1024 blue bytes of a 32×32 image (already C,H,W order) — and <c>batches.meta.txt</c>
/// with one class name per line. CIFAR-100 (<c>cifar-100-binary</c>): <c>train.bin</c> and <c>test.bin</c>, 3074-byte
/// records — coarse label byte, fine label byte, then the 3072 image bytes — and <c>fine_label_names.txt</c>; the
/// 100 fine labels are the classes.
/// </summary>
public static class Cifar10Loader
{
    public static readonly string DefaultDirectory = DataCatalog.Cifar10.DefaultPath!;
    public const int Side = 32, Channels = 3, ImageBytes = Channels * Side * Side, RecordBytes = 1 + ImageBytes;

    public static readonly IReadOnlyList<string> DefaultClasses = new[]
    {
        "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
    };

    /// <summary>Loads train (the five data batches) and test. <paramref name="directory"/> may also be the
    /// parent of <c>cifar-10-batches-bin</c>.</summary>
    public static (Dataset Train, Dataset Test) Load(string? directory = null)
    {
        string dir = directory ?? DefaultDirectory;
        const string hint = "CIFAR-10 cannot be downloaded on these machines; copy the binary version (cifar-10-binary.tar.gz, " +
                            "extracted: data_batch_1.bin … data_batch_5.bin, test_batch.bin, batches.meta.txt) there or give `path:` in the train section";
        if (!Directory.Exists(dir))
            throw new DataException($"CIFAR-10 not found: directory '{dir}' does not exist; {hint}");
        var nested = Path.Combine(dir, "cifar-10-batches-bin");
        if (!File.Exists(Path.Combine(dir, "data_batch_1.bin")) && Directory.Exists(nested)) dir = nested;

        var trainFiles = Enumerable.Range(1, 5).Select(i => Path.Combine(dir, $"data_batch_{i}.bin")).ToArray();
        var testFile = Path.Combine(dir, "test_batch.bin");
        foreach (var f in trainFiles.Append(testFile))
            if (!File.Exists(f))
                throw new DataException($"CIFAR-10 not found: '{f}' does not exist; {hint}");

        var classes = ReadClassNames(Path.Combine(dir, "batches.meta.txt"));
        return (LoadFiles(trainFiles, classes, "CIFAR-10 train"), LoadFiles(new[] { testFile }, classes, "CIFAR-10 test"));
    }

    public const int Record100Bytes = 2 + ImageBytes;

    /// <summary>Loads CIFAR-100's train.bin and test.bin (fine labels). <paramref name="directory"/> may also be the parent of <c>cifar-100-binary</c>.</summary>
    public static (Dataset Train, Dataset Test) Load100(string? directory = null)
    {
        string dir = directory ?? DataCatalog.Cifar100.DefaultPath!;
        const string hint = "CIFAR-100 cannot be downloaded on these machines; copy the binary version (cifar-100-binary.tar.gz, " +
                            "extracted: train.bin, test.bin, fine_label_names.txt) there or give `path:` in the train section";
        if (!Directory.Exists(dir))
            throw new DataException($"CIFAR-100 not found: directory '{dir}' does not exist; {hint}");
        var nested = Path.Combine(dir, "cifar-100-binary");
        if (!File.Exists(Path.Combine(dir, "train.bin")) && Directory.Exists(nested)) dir = nested;
        string train = Path.Combine(dir, "train.bin"), test = Path.Combine(dir, "test.bin");
        foreach (var f in new[] { train, test })
            if (!File.Exists(f)) throw new DataException($"CIFAR-100 not found: '{f}' does not exist; {hint}");
        var meta = Path.Combine(dir, "fine_label_names.txt");
        IReadOnlyList<string> classes = File.Exists(meta) ? ReadClassNames(meta) : Enumerable.Range(0, 100).Select(i => $"class {i}").ToArray();
        return (LoadFiles([train], classes, "CIFAR-100 train", Record100Bytes), LoadFiles([test], classes, "CIFAR-100 test", Record100Bytes));
    }

    /// <summary>Class names from batches.meta.txt (non-empty lines), or the standard ten if it is missing.</summary>
    public static IReadOnlyList<string> ReadClassNames(string metaPath)
    {
        if (!File.Exists(metaPath)) return DefaultClasses;
        var names = File.ReadAllLines(metaPath).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        if (names.Length == 0)
            throw new DataException($"'{metaPath}' holds no class names");
        return names;
    }

    /// <summary>Concatenates the records of the given batch files into one data set.</summary>
    /// <param name="recordBytes"><see cref="RecordBytes"/> (CIFAR-10: one label byte) or <see cref="Record100Bytes"/> (CIFAR-100: coarse, then fine label byte).</param>
    public static Dataset LoadFiles(IReadOnlyList<string> files, IReadOnlyList<string> classes, string name, int recordBytes = RecordBytes)
    {
        var blobs = new List<byte[]>();
        long total = 0;
        foreach (var f in files)
        {
            byte[] data;
            try { data = File.ReadAllBytes(f); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new DataException($"cannot read '{f}': {e.Message}", e);
            }
            if (data.Length == 0 || data.Length % recordBytes != 0)
                throw new DataException($"'{f}' is truncated or not a {(recordBytes == RecordBytes ? "CIFAR-10" : "CIFAR-100")} binary file: {data.Length} bytes is not a whole number of {recordBytes}-byte records");
            blobs.Add(data);
            total += data.Length / recordBytes;
        }
        if (total * ImageBytes > Array.MaxLength)
            throw new DataException($"{name}: {total} images do not fit in one array");

        var images = new float[total * ImageBytes];
        var labels = new int[total];
        int n = 0;
        for (int b = 0; b < blobs.Count; b++)
        {
            var data = blobs[b];
            int records = data.Length / recordBytes, labelBytes = recordBytes - ImageBytes;
            for (int r = 0; r < records; r++, n++)
            {
                var rec = data.AsSpan(r * recordBytes, recordBytes);
                int label = rec[labelBytes - 1];
                if (label >= classes.Count)
                    throw new DataException($"'{files[b]}' is corrupt: record {r} has label {label}, but there are {classes.Count} classes");
                labels[n] = label;
                Dataset.ConvertBytes(rec[labelBytes..], images.AsSpan(n * ImageBytes, ImageBytes));
            }
        }
        return new Dataset(images, labels, Channels, Side, Side, classes, name);
    }
}
