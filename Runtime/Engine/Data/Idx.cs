using ArchDsl.Compiler;
using System.Buffers.Binary;
using System.IO.Compression;

namespace ArchDsl.Runtime.Data;

/// <summary>
/// MNIST / Fashion-MNIST in the IDX format: <c>train-images-idx3-ubyte[.gz]</c>,
/// <c>train-labels-idx1-ubyte[.gz]</c>, <c>t10k-…</c>. Images are magic 0x00000803, count, rows,
/// cols, then count·rows·cols unsigned bytes; labels are magic 0x00000801, count, then count bytes.
/// Gzip is detected by its magic bytes, so both compressed and uncompressed files work.
/// </summary>
public static class IdxLoader
{
    public static readonly string FashionMnistDirectory = DataCatalog.FashionMnist.DefaultPath!;
    public static readonly string MnistDirectory = DataCatalog.Mnist.DefaultPath!;

    public static readonly IReadOnlyList<string> FashionMnistClasses = new[]
    {
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    };

    public static readonly IReadOnlyList<string> MnistClasses =
        Enumerable.Range(0, 10).Select(i => i.ToString()).ToArray();

    /// <summary>Loads the train and test sets of Fashion-MNIST (default: Debian's dataset-fashion-mnist).</summary>
    public static (Dataset Train, Dataset Test) LoadFashionMnist(string? directory = null) =>
        LoadPair(directory ?? FashionMnistDirectory, "Fashion-MNIST", FashionMnistClasses,
                 directory is null
                     ? "install it with `apt-get install dataset-fashion-mnist`, or give `path:` in the train section"
                     : "give the directory that holds the IDX files (Debian's `apt-get install dataset-fashion-mnist` puts them in " + FashionMnistDirectory + ")");

    /// <summary>Loads MNIST from <paramref name="directory"/> (default <see cref="MnistDirectory"/>).</summary>
    public static (Dataset Train, Dataset Test) LoadMnist(string? directory = null) =>
        LoadPair(directory ?? MnistDirectory, "MNIST", MnistClasses,
                 "put the four MNIST IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, " +
                 "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) there, or give `path:` in the train section " +
                 "(Fashion-MNIST has the same format and a Debian package: `apt-get install dataset-fashion-mnist`)");

    public static (Dataset Train, Dataset Test) LoadPair(string directory, string setName, IReadOnlyList<string> classes, string hint)
    {
        if (!Directory.Exists(directory))
            throw new DataException($"{setName} not found: directory '{directory}' does not exist; {hint}");
        var train = Load(FindFile(directory, "train-images-idx3-ubyte", setName, hint),
                         FindFile(directory, "train-labels-idx1-ubyte", setName, hint), classes, $"{setName} train");
        var test = Load(FindFile(directory, "t10k-images-idx3-ubyte", setName, hint),
                        FindFile(directory, "t10k-labels-idx1-ubyte", setName, hint), classes, $"{setName} test");
        return (train, test);
    }

    private static string FindFile(string directory, string stem, string setName, string hint)
    {
        foreach (var name in new[] { stem + ".gz", stem, stem.Replace("-idx", ".idx") + ".gz", stem.Replace("-idx", ".idx") })
        {
            var p = Path.Combine(directory, name);
            if (File.Exists(p)) return p;
        }
        throw new DataException($"{setName} not found: '{Path.Combine(directory, stem + ".gz")}' does not exist; {hint}");
    }

    /// <summary>Loads one images file and its labels file as a data set.</summary>
    public static Dataset Load(string imagesPath, string labelsPath, IReadOnlyList<string> classes, string name)
    {
        var (pixels, count, rows, cols) = ReadImages(imagesPath);
        var labels = ReadLabels(labelsPath, classes.Count);
        if (labels.Length != count)
            throw new DataException($"'{imagesPath}' has {count} images but '{labelsPath}' has {labels.Length} labels");
        return Dataset.FromBytes(pixels, labels, 1, rows, cols, classes, name);
    }

    public static (byte[] Pixels, int Count, int Rows, int Cols) ReadImages(string path)
    {
        var data = ReadAll(path);
        var header = Header(data, path, 0x00000803, 3, "images (idx3)");
        int count = header[0], rows = header[1], cols = header[2];
        long expected = 16 + (long)count * rows * cols;
        CheckLength(data, expected, path, $"{count} images of {rows}×{cols}");
        return (data.AsSpan(16, (int)(expected - 16)).ToArray(), count, rows, cols);
    }

    public static int[] ReadLabels(string path, int classCount)
    {
        var data = ReadAll(path);
        var header = Header(data, path, 0x00000801, 1, "labels (idx1)");
        int count = header[0];
        CheckLength(data, 8L + count, path, $"{count} labels");
        var labels = new int[count];
        for (int i = 0; i < count; i++)
        {
            int l = data[8 + i];
            if (l >= classCount)
                throw new DataException($"'{path}' is corrupt: label {l} of sample {i} is not one of the {classCount} classes");
            labels[i] = l;
        }
        return labels;
    }

    private static int[] Header(byte[] data, string path, int magic, int dims, string what)
    {
        int headerBytes = 4 + 4 * dims;
        if (data.Length >= 4)
        {
            int m = BinaryPrimitives.ReadInt32BigEndian(data);
            if (m != magic)
                throw new DataException($"'{path}' is not an IDX {what} file: magic number 0x{m:X8}, expected 0x{magic:X8}");
        }
        if (data.Length < headerBytes)
            throw new DataException($"'{path}' is truncated: {data.Length} bytes is shorter than the {headerBytes}-byte IDX header");
        var result = new int[dims];
        for (int d = 0; d < dims; d++)
        {
            result[d] = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(4 + 4 * d));
            if (result[d] < 0 || (d > 0 && result[d] == 0))
                throw new DataException($"'{path}' is corrupt: dimension {d} of the IDX header is {result[d]}");
        }
        return result;
    }

    private static void CheckLength(byte[] data, long expected, string path, string what)
    {
        if (data.Length < expected)
            throw new DataException($"'{path}' is truncated: its header promises {what} ({expected} bytes) but it holds {data.Length} bytes");
        if (data.Length > expected)
            throw new DataException($"'{path}' is corrupt: its header promises {what} ({expected} bytes) but it holds {data.Length} bytes");
    }

    /// <summary>The file's bytes, gunzipped if it starts with the gzip magic.</summary>
    internal static byte[] ReadAll(string path)
    {
        byte[] raw;
        try { raw = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataException($"cannot read '{path}': {e.Message}", e);
        }
        if (raw.Length < 2 || raw[0] != 0x1F || raw[1] != 0x8B) return raw;
        try
        {
            using var gz = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
            using var output = new MemoryStream(raw.Length * 4);
            gz.CopyTo(output);
            return output.ToArray();
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            throw new DataException($"'{path}' is corrupt or truncated: cannot decompress gzip ({e.Message})", e);
        }
    }
}
