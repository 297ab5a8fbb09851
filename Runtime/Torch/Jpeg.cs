using System.Runtime.InteropServices;

namespace ArchDsl.Torch;

/// <summary>
/// The shim's one entry point that is not libtorch's: the image-folder loader's JPEG crop decode
/// (Runtime/native/src/jpeg.cpp, libjpeg-turbo). It decodes only the part of a JPEG a crop box needs, at 1/2–1/8 scale
/// when the box allows, and resizes it with Pillow's BILINEAR resample; files it does not take (see <see cref="Probe"/>)
/// are left to the caller's general decoder. It lives in the shim because that is the project's one native library.
/// </summary>
public static unsafe class NativeJpeg
{
    /// <summary>
    /// Reads the header of the JPEG <paramref name="data"/>: true, with its size in pixels, when <see cref="DecodeCrop"/> can
    /// decode it for a <paramref name="channels"/>-channel output — an 8-bit baseline or progressive JPEG, grey or YCbCr/RGB
    /// (grey only for one channel), EXIF orientation 1 or none, ending in its end-of-image marker; false otherwise.
    /// </summary>
    public static bool Probe(ReadOnlySpan<byte> data, int channels, out int width, out int height)
    {
        int w = 0, h = 0;
        int ok;
        fixed (byte* d = data) ok = ats_jpeg_probe(d, data.Length, channels, &w, &h);
        (width, height) = (w, h);
        return ok == 1;
    }

    /// <summary>
    /// Decodes the box (<paramref name="x"/>, <paramref name="y"/>, <paramref name="boxWidth"/> × <paramref name="boxHeight"/>
    /// pixels) of the JPEG resized to <paramref name="outHeight"/> × <paramref name="outWidth"/> and writes it as
    /// C,H,W floats: value v of channel c becomes <paramref name="tables"/>[c × 256 + v] (a grey image feeds every channel).
    /// Returns the image's bands (1 or 3), or 0 when the file is not one <see cref="Probe"/> accepts, the box is outside
    /// it, or libjpeg met any warning or error (then <paramref name="planar"/> holds nothing to rely on).
    /// </summary>
    /// <exception cref="ArgumentException">a destination or table shorter than the output.</exception>
    public static int DecodeCrop(ReadOnlySpan<byte> data, int x, int y, int boxWidth, int boxHeight, int outHeight, int outWidth,
                                 int channels, ReadOnlySpan<float> tables, Span<float> planar)
    {
        if (tables.Length < channels * 256 || planar.Length < (long)channels * outHeight * outWidth)
            throw new ArgumentException("tables or destination shorter than the output");
        fixed (byte* d = data) fixed (float* t = tables) fixed (float* p = planar)
            return ats_jpeg_decode_crop(d, data.Length, x, y, boxWidth, boxHeight, outHeight, outWidth, channels, t, p, null);
    }

    /// <summary>As <see cref="DecodeCrop"/>, but the output as H,W,C bytes (bands of them per pixel: 1 for a grey image, else 3).</summary>
    /// <exception cref="ArgumentException">a destination shorter than outHeight × outWidth × 3.</exception>
    public static int DecodeCropBytes(ReadOnlySpan<byte> data, int x, int y, int boxWidth, int boxHeight, int outHeight, int outWidth,
                                      int channels, Span<byte> bytes)
    {
        if (bytes.Length < (long)outHeight * outWidth * 3) throw new ArgumentException("destination shorter than the output");
        fixed (byte* d = data) fixed (byte* b = bytes)
            return ats_jpeg_decode_crop(d, data.Length, x, y, boxWidth, boxHeight, outHeight, outWidth, channels, null, null, b);
    }

    /// <summary>Whether the resample may use AVX2 where the CPU has it (default: yes); both paths give the same bytes. Returns the previous setting.</summary>
    public static bool UseSimd(bool enable) => ats_jpeg_simd(enable ? 1 : 0) == 1;

    [DllImport(NativeLibraryLocator.LibraryName)] private static extern int ats_jpeg_simd(int enable);
    [DllImport(NativeLibraryLocator.LibraryName)] private static extern int ats_jpeg_probe(byte* data, long size, int channels, int* width, int* height);
    [DllImport(NativeLibraryLocator.LibraryName)]
    private static extern int ats_jpeg_decode_crop(byte* data, long size, int x, int y, int w, int h, int outH, int outW, int channels,
                                                   float* tables, float* planar, byte* bytes);
}
