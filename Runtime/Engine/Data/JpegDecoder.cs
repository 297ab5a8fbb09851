using System.Buffers;
using ArchDsl.Torch;

namespace ArchDsl.Runtime.Data;

/// <summary>
/// The JPEG route of <see cref="ImageDecoder"/>: libjpeg-turbo through the native shim (<see cref="NativeJpeg"/>) decodes
/// only the rows and columns the crop box needs, at 1/2–1/8 scale when the box stays at least the output size, and
/// resizes with Pillow 9.4's BILINEAR resample — at full scale the same bytes as torchvision's RandomResizedCrop on a
/// PIL image (same libjpeg-turbo, same filter and fixed-point rounding) — writing normalised planar floats straight into
/// the batch. A file it does not take (not a JPEG, CMYK, an EXIF rotation, any libjpeg warning: see
/// <see cref="NativeJpeg.Probe"/>) goes to libvips, which also decides whether a damaged file is readable.
/// </summary>
public static class JpegDecoder
{
    /// <summary>
    /// Decodes <paramref name="path"/> into <paramref name="dst"/> as <see cref="ImageDecoder.Decode"/> does, when it is a
    /// JPEG this route takes; returns false otherwise, with the box already drawn from <paramref name="choose"/> (null
    /// when none was), so that the fallback uses the same box.
    /// </summary>
    /// <exception cref="DataException">the native shim cannot be loaded or lacks the JPEG entry points (rebuild it).</exception>
    public static bool TryDecode(string path, ImageDecoder.BoxChooser choose, int outHeight, int outWidth, float[][] tables, Span<float> dst, out CropBox? chosen)
    {
        chosen = null;
        int channels = tables.Length;
        if (channels is not (1 or 3) || !Open(path, channels, choose, out var data, out int length, out var box)) return false;
        try
        {
            chosen = box;
            Span<float> flat = stackalloc float[channels * 256];
            for (int c = 0; c < channels; c++) tables[c].AsSpan(0, 256).CopyTo(flat[(c * 256)..]);
            return NativeJpeg.DecodeCrop(data.AsSpan(0, length), box.X, box.Y, box.Width, box.Height, outHeight, outWidth, channels, flat, dst) != 0;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(data);
        }
    }

    /// <summary>The cropped and resized image as H,W,C bytes with <paramref name="bands"/> bands (1 for a grey JPEG, else 3), or null when this route does not take the file.</summary>
    /// <exception cref="DataException">the native shim cannot be loaded or lacks the JPEG entry points (rebuild it).</exception>
    public static byte[]? TryDecodeBytes(string path, ImageDecoder.BoxChooser choose, int outHeight, int outWidth, int channels, out int bands)
    {
        bands = 0;
        if (!Open(path, channels, choose, out var data, out int length, out var box)) return null;
        try
        {
            var bytes = new byte[outHeight * outWidth * 3];
            bands = NativeJpeg.DecodeCropBytes(data.AsSpan(0, length), box.X, box.Y, box.Width, box.Height, outHeight, outWidth, channels, bytes);
            return bands == 0 ? null : bytes[..(outHeight * outWidth * bands)];
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(data);
        }
    }

    /// <summary>Reads a JPEG this route takes into a pooled buffer (the caller returns it) and draws its box; false, with nothing held, otherwise.</summary>
    private static bool Open(string path, int channels, ImageDecoder.BoxChooser choose, out byte[] data, out int length, out CropBox box)
    {
        box = default;
        data = Read(path, out length)!;
        if (data is null) return false;
        int width, height;
        try
        {
            if (!NativeJpeg.Probe(data.AsSpan(0, length), channels, out width, out height))
            {
                ArrayPool<byte>.Shared.Return(data);
                return false;
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            ArrayPool<byte>.Shared.Return(data);
            throw new DataException($"the native shim's JPEG decoder could not be used ({e.Message}); rebuild it with `bash scripts/setup.sh`", e);
        }
        box = choose(width, height);
        return true;
    }

    /// <summary>The whole file in a pooled buffer when it starts as a JPEG (FF D8 FF); null when it does not.</summary>
    /// <exception cref="DataException">the file cannot be opened or read (no read permission, gone, a dangling link).</exception>
    private static byte[]? Read(string path, out int length)
    {
        length = 0;
        try
        {
            using var handle = File.OpenHandle(path);
            long size = RandomAccess.GetLength(handle);
            if (size < 4 || size > Array.MaxLength) return null;
            Span<byte> magic = stackalloc byte[3];
            if (RandomAccess.Read(handle, magic, 0) < 3 || magic[0] != 0xFF || magic[1] != 0xD8 || magic[2] != 0xFF) return null;
            var buffer = ArrayPool<byte>.Shared.Rent((int)size);
            int n = 0, read;
            while (n < size && (read = RandomAccess.Read(handle, buffer.AsSpan(n, (int)size - n), n)) > 0) n += read;
            length = n;
            return buffer;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw ImageDecoder.CannotOpen(path, e);
        }
    }
}
