using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.CompilerServices;
using System.Text;

namespace ArchDsl.Runtime.Tests;

/// <summary>A temporary directory removed on dispose.</summary>
public sealed class DataTempDir : IDisposable
{
    public DataTempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "archdsl-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }
    public string Path { get; }
    public string this[string relative] => System.IO.Path.Combine(Path, relative);
    public void Dispose() { try { Directory.Delete(Path, recursive: true); } catch (IOException) { } }
}

/// <summary>Writers for the data formats, so the loaders are tested on files the tests make.</summary>
public static class DataTestFiles
{
    public static string FixturesDir([CallerFilePath] string here = "") => Path.Combine(Path.GetDirectoryName(here)!, "Fixtures");

    public static byte[] Gzip(byte[] data)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest)) gz.Write(data);
        return ms.ToArray();
    }

    public static byte[] IdxImages(byte[] pixels, int count, int rows, int cols, int magic = 0x803)
    {
        var b = new byte[16 + pixels.Length];
        BinaryPrimitives.WriteInt32BigEndian(b, magic);
        BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(12), cols);
        pixels.CopyTo(b, 16);
        return b;
    }

    public static byte[] IdxLabels(byte[] labels, int magic = 0x801)
    {
        var b = new byte[8 + labels.Length];
        BinaryPrimitives.WriteInt32BigEndian(b, magic);
        BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(4), labels.Length);
        labels.CopyTo(b, 8);
        return b;
    }

    /// <summary>Writes the four IDX files (gzip) of a tiny MNIST-like set; pixel (n, i) = (n*7 + i) % 256, label n % 10.</summary>
    public static void WriteIdxSet(string dir, int trainCount, int testCount, int rows = 4, int cols = 3, bool gzip = true)
    {
        Directory.CreateDirectory(dir);
        void Write(string stem, int count)
        {
            var px = new byte[count * rows * cols];
            for (int n = 0; n < count; n++) for (int i = 0; i < rows * cols; i++) px[n * rows * cols + i] = (byte)((n * 7 + i) % 256);
            var lab = Enumerable.Range(0, count).Select(n => (byte)(n % 10)).ToArray();
            var img = IdxImages(px, count, rows, cols);
            var lbl = IdxLabels(lab);
            string ext = gzip ? ".gz" : "";
            File.WriteAllBytes(Path.Combine(dir, $"{stem}-images-idx3-ubyte{ext}"), gzip ? Gzip(img) : img);
            File.WriteAllBytes(Path.Combine(dir, $"{stem}-labels-idx1-ubyte{ext}"), gzip ? Gzip(lbl) : lbl);
        }
        Write("train", trainCount);
        Write("t10k", testCount);
    }

    // ---- PNG encoder (tests only): any colour type / depth, chosen filter per row ----

    public static byte[] Png(int width, int height, int colorType, int bitDepth, byte[] rawRows,
                             Func<int, int>? filterForRow = null, byte[]? palette = null, byte[]? trns = null,
                             int interlace = 0, int idatChunks = 1)
    {
        int channels = colorType switch { 0 => 1, 2 => 3, 3 => 1, 4 => 2, 6 => 4, _ => throw new ArgumentException() };
        int bitsPerPixel = channels * bitDepth;
        int rowBytes = (width * bitsPerPixel + 7) / 8;
        int bpp = Math.Max(1, bitsPerPixel / 8);
        if (rawRows.Length != rowBytes * height) throw new ArgumentException($"raw rows: {rawRows.Length} != {rowBytes * height}");
        var filtered = new MemoryStream();
        for (int r = 0; r < height; r++)
        {
            int f = filterForRow?.Invoke(r) ?? (r % 5);
            filtered.WriteByte((byte)f);
            for (int i = 0; i < rowBytes; i++)
            {
                int x = rawRows[r * rowBytes + i];
                int a = i >= bpp ? rawRows[r * rowBytes + i - bpp] : 0;
                int b = r > 0 ? rawRows[(r - 1) * rowBytes + i] : 0;
                int c = r > 0 && i >= bpp ? rawRows[(r - 1) * rowBytes + i - bpp] : 0;
                int pred = f switch { 0 => 0, 1 => a, 2 => b, 3 => (a + b) / 2, 4 => Paeth(a, b, c), _ => 0 };
                filtered.WriteByte((byte)(x - pred));
            }
        }
        byte[] z;
        using (var ms = new MemoryStream())
        {
            using (var zs = new ZLibStream(ms, CompressionLevel.Optimal)) zs.Write(filtered.ToArray());
            z = ms.ToArray();
        }
        var png = new MemoryStream();
        png.Write(new byte[] { 137, 80, 78, 71, 13, 10, 26, 10 });
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = (byte)bitDepth; ihdr[9] = (byte)colorType; ihdr[12] = (byte)interlace;
        Chunk(png, "IHDR", ihdr);
        Chunk(png, "tEXt", Encoding.ASCII.GetBytes("Comment\0made by the test"));
        if (palette is not null) Chunk(png, "PLTE", palette);
        if (trns is not null) Chunk(png, "tRNS", trns);
        int per = (z.Length + idatChunks - 1) / idatChunks;
        for (int i = 0; i < idatChunks; i++)
            Chunk(png, "IDAT", z.AsSpan(Math.Min(i * per, z.Length), Math.Max(0, Math.Min(per, z.Length - i * per))).ToArray());
        Chunk(png, "IEND", Array.Empty<byte>());
        return png.ToArray();
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    public static void Chunk(Stream s, string type, byte[] data)
    {
        var len = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(len, data.Length);
        s.Write(len);
        var t = Encoding.ASCII.GetBytes(type);
        s.Write(t);
        s.Write(data);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(t.Concat(data).ToArray()));
        s.Write(crc);
    }

    private static uint Crc32(byte[] data)
    {
        uint c = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            c ^= b;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
        }
        return c ^ 0xFFFFFFFF;
    }

    /// <summary>An 8-bit RGB PNG from interleaved pixels.</summary>
    public static byte[] RgbPng(int w, int h, byte[] rgb) => Png(w, h, 2, 8, rgb);
    public static byte[] GrayPng(int w, int h, byte[] gray) => Png(w, h, 0, 8, gray);

    public static byte[] Pattern(int length, int seed)
    {
        var b = new byte[length];
        uint x = (uint)seed * 2654435761u + 12345;
        for (int i = 0; i < length; i++) { x = x * 1664525 + 1013904223; b[i] = (byte)(x >> 24); }
        return b;
    }
}
