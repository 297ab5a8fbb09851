using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace ArchDsl.Runtime.Data;

/// <summary>A decoded 8-bit image: <see cref="Channels"/> interleaved samples per pixel (H,W,C order):
/// 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA.</summary>
public sealed record PngImage(int Width, int Height, int Channels, byte[] Pixels);

/// <summary>
/// A small PNG decoder: greyscale (1/2/4/8-bit), grey+alpha, RGB, RGBA (8-bit) and palette (1/2/4/8-bit,
/// with tRNS alpha); non-interlaced; all five row filters. Chunk structure is validated (signature,
/// IHDR first, PLTE before IDAT, IDAT consecutive, IEND last); CRCs are not checked. 16-bit and
/// interlaced images are refused with a clear error. Palette images whose palette is all grey decode to
/// one grey channel.
/// </summary>
public static class Png
{
    private static ReadOnlySpan<byte> Signature => new byte[] { 137, 80, 78, 71, 13, 10, 26, 10 };

    public static PngImage Read(string path)
    {
        byte[] data;
        try { data = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataException($"cannot read '{path}': {e.Message}", e);
        }
        return Decode(data, path);
    }

    public static PngImage Decode(ReadOnlySpan<byte> data, string name = "<png>")
    {
        if (data.Length < 8 || !data[..8].SequenceEqual(Signature))
            throw new DataException($"'{name}' is not a PNG file (bad signature)");

        int pos = 8;
        int width = 0, height = 0, bitDepth = 0, colorType = -1;
        byte[]? palette = null, trns = null;
        var idat = new MemoryStream();
        bool seenHeader = false, seenIdat = false, idatEnded = false, seenEnd = false;

        while (pos < data.Length)
        {
            if (data.Length - pos < 12)
                throw new DataException($"'{name}' is truncated: incomplete chunk at byte {pos}");
            uint length = BinaryPrimitives.ReadUInt32BigEndian(data[pos..]);
            string type = Encoding.ASCII.GetString(data.Slice(pos + 4, 4));
            if (length > int.MaxValue || data.Length - pos - 12 < length)
                throw new DataException($"'{name}' is truncated: chunk {type} at byte {pos} declares {length} bytes");
            var body = data.Slice(pos + 8, (int)length);
            pos += 12 + (int)length;

            if (!seenHeader && type != "IHDR")
                throw new DataException($"'{name}' is not a valid PNG: the first chunk is {type}, not IHDR");
            if (seenIdat && type != "IDAT") idatEnded = true;

            switch (type)
            {
                case "IHDR":
                    if (seenHeader) throw new DataException($"'{name}' is not a valid PNG: more than one IHDR");
                    if (length != 13) throw new DataException($"'{name}' is not a valid PNG: IHDR has {length} bytes, not 13");
                    seenHeader = true;
                    width = checked((int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(body), int.MaxValue));
                    height = checked((int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(body[4..]), int.MaxValue));
                    bitDepth = body[8];
                    colorType = body[9];
                    ValidateHeader(name, width, height, bitDepth, colorType, body[10], body[11], body[12]);
                    break;
                case "PLTE":
                    if (seenIdat) throw new DataException($"'{name}' is not a valid PNG: PLTE after IDAT");
                    if (length % 3 != 0 || length == 0 || length > 768)
                        throw new DataException($"'{name}' is not a valid PNG: PLTE of {length} bytes");
                    palette = body.ToArray();
                    break;
                case "tRNS":
                    trns = body.ToArray();
                    break;
                case "IDAT":
                    if (idatEnded) throw new DataException($"'{name}' is not a valid PNG: IDAT chunks are not consecutive");
                    seenIdat = true;
                    idat.Write(body);
                    break;
                case "IEND":
                    seenEnd = true;
                    break;
                default:
                    if (char.IsUpper(type[0]))
                        throw new DataException($"'{name}' uses the unknown critical PNG chunk {type}");
                    break; // ancillary: ignore
            }
            if (seenEnd) break;
        }
        if (!seenHeader) throw new DataException($"'{name}' is not a valid PNG: no IHDR");
        if (!seenIdat) throw new DataException($"'{name}' is not a valid PNG: no IDAT chunk");
        if (!seenEnd) throw new DataException($"'{name}' is truncated: no IEND chunk");
        if (colorType == 3 && palette is null) throw new DataException($"'{name}' is not a valid PNG: palette image without PLTE");

        int samplesPerPixel = colorType switch { 0 => 1, 2 => 3, 3 => 1, 4 => 2, 6 => 4, _ => 0 };
        int bitsPerPixel = samplesPerPixel * bitDepth;
        long rowBytesLong = ((long)width * bitsPerPixel + 7) / 8;
        long rawLength = height * (1 + rowBytesLong);
        if (rawLength > Array.MaxLength || (long)width * height * 4 > Array.MaxLength)
            throw new DataException($"'{name}' is too large ({width}×{height})");
        int rowBytes = (int)rowBytesLong;
        var raw = Inflate(idat, (int)rawLength, name);
        Unfilter(raw, height, rowBytes, Math.Max(1, bitsPerPixel / 8), name);
        return Expand(raw, width, height, rowBytes, bitDepth, colorType, palette, trns, name);
    }

    private static void ValidateHeader(string name, int width, int height, int bitDepth, int colorType,
                                       int compression, int filter, int interlace)
    {
        if (width <= 0 || height <= 0) throw new DataException($"'{name}' is not a valid PNG: size {width}×{height}");
        bool valid = colorType switch
        {
            0 => bitDepth is 1 or 2 or 4 or 8 or 16,
            3 => bitDepth is 1 or 2 or 4 or 8,
            2 or 4 or 6 => bitDepth is 8 or 16,
            _ => false,
        };
        if (!valid) throw new DataException($"'{name}' is not a valid PNG: colour type {colorType} with bit depth {bitDepth}");
        if (bitDepth == 16) throw new DataException($"'{name}': 16-bit PNG images are unsupported; save it with 8 bits per sample");
        if (compression != 0 || filter != 0)
            throw new DataException($"'{name}' is not a valid PNG: compression method {compression}, filter method {filter}");
        if (interlace == 1) throw new DataException($"'{name}': interlaced (Adam7) PNG images are unsupported; save it non-interlaced");
        if (interlace != 0) throw new DataException($"'{name}' is not a valid PNG: interlace method {interlace}");
    }

    private static byte[] Inflate(MemoryStream idat, int expected, string name)
    {
        var raw = new byte[expected];
        try
        {
            idat.Position = 0;
            using var z = new ZLibStream(idat, CompressionMode.Decompress);
            int read = 0;
            while (read < expected)
            {
                int n = z.Read(raw, read, expected - read);
                if (n == 0) break;
                read += n;
            }
            if (read < expected)
                throw new DataException($"'{name}' is truncated or corrupt: image data holds {read} of {expected} bytes");
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            throw new DataException($"'{name}' is corrupt: cannot decompress image data ({e.Message})", e);
        }
        return raw;
    }

    /// <summary>Reverses the per-row filters in place (row r occupies raw[r*(rowBytes+1)+1 ..]).</summary>
    private static void Unfilter(byte[] raw, int height, int rowBytes, int bpp, string name)
    {
        int stride = rowBytes + 1;
        for (int r = 0; r < height; r++)
        {
            int start = r * stride;
            int filter = raw[start];
            var row = raw.AsSpan(start + 1, rowBytes);
            var prior = r == 0 ? Span<byte>.Empty : raw.AsSpan(start - stride + 1, rowBytes);
            switch (filter)
            {
                case 0: break;
                case 1: // Sub
                    for (int i = bpp; i < rowBytes; i++) row[i] += row[i - bpp];
                    break;
                case 2: // Up
                    if (r > 0) for (int i = 0; i < rowBytes; i++) row[i] += prior[i];
                    break;
                case 3: // Average
                    for (int i = 0; i < rowBytes; i++)
                    {
                        int left = i >= bpp ? row[i - bpp] : 0;
                        int up = r > 0 ? prior[i] : 0;
                        row[i] += (byte)((left + up) >> 1);
                    }
                    break;
                case 4: // Paeth
                    for (int i = 0; i < rowBytes; i++)
                    {
                        int a = i >= bpp ? row[i - bpp] : 0;
                        int b = r > 0 ? prior[i] : 0;
                        int c = r > 0 && i >= bpp ? prior[i - bpp] : 0;
                        row[i] += (byte)Paeth(a, b, c);
                    }
                    break;
                default:
                    throw new DataException($"'{name}' is corrupt: row {r} has unknown filter type {filter}");
            }
        }
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c;
        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        if (pa <= pb && pa <= pc) return a;
        return pb <= pc ? b : c;
    }

    private static PngImage Expand(byte[] raw, int width, int height, int rowBytes, int bitDepth, int colorType,
                                   byte[]? palette, byte[]? trns, string name)
    {
        int stride = rowBytes + 1;
        switch (colorType)
        {
            case 0 when bitDepth == 8:
            case 2:
            case 4:
            case 6:
            {
                int ch = colorType switch { 0 => 1, 2 => 3, 4 => 2, _ => 4 };
                var pixels = new byte[width * height * ch];
                for (int r = 0; r < height; r++)
                    raw.AsSpan(r * stride + 1, width * ch).CopyTo(pixels.AsSpan(r * width * ch));
                return new PngImage(width, height, ch, pixels);
            }
            case 0: // 1, 2, 4-bit grey, scaled to 0..255
            {
                var pixels = new byte[width * height];
                int max = (1 << bitDepth) - 1;
                for (int r = 0; r < height; r++)
                    for (int x = 0; x < width; x++)
                        pixels[r * width + x] = (byte)(SubByte(raw, r * stride + 1, x, bitDepth) * 255 / max);
                return new PngImage(width, height, 1, pixels);
            }
            default: // 3: palette
            {
                int entries = palette!.Length / 3;
                bool hasAlpha = trns is { Length: > 0 };
                bool grey = !hasAlpha;
                for (int i = 0; i < entries && grey; i++)
                    grey = palette[3 * i] == palette[3 * i + 1] && palette[3 * i + 1] == palette[3 * i + 2];
                int ch = grey ? 1 : hasAlpha ? 4 : 3;
                var pixels = new byte[width * height * ch];
                for (int r = 0; r < height; r++)
                    for (int x = 0; x < width; x++)
                    {
                        int idx = SubByte(raw, r * stride + 1, x, bitDepth);
                        if (idx >= entries)
                            throw new DataException($"'{name}' is corrupt: pixel ({x}, {r}) uses palette entry {idx} of {entries}");
                        int o = (r * width + x) * ch;
                        pixels[o] = palette[3 * idx];
                        if (ch >= 3)
                        {
                            pixels[o + 1] = palette[3 * idx + 1];
                            pixels[o + 2] = palette[3 * idx + 2];
                        }
                        if (ch == 4) pixels[o + 3] = idx < trns!.Length ? trns[idx] : (byte)255;
                    }
                return new PngImage(width, height, ch, pixels);
            }
        }
    }

    private static int SubByte(byte[] raw, int rowStart, int x, int bitDepth)
    {
        if (bitDepth == 8) return raw[rowStart + x];
        int bit = x * bitDepth;
        int b = raw[rowStart + (bit >> 3)];
        int shift = 8 - bitDepth - (bit & 7);
        return (b >> shift) & ((1 << bitDepth) - 1);
    }
}
