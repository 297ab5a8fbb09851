using NetVips;

namespace ArchDsl.Runtime.Data;

/// <summary>
/// Decodes one image file into the model's input. A plain JPEG (8-bit grey or YCbCr, no EXIF rotation, intact) takes
/// <see cref="JpegDecoder"/>'s route: libjpeg-turbo decodes only the crop box's part and Pillow's bilinear resample
/// writes the batch directly. Everything else is decoded with libvips (NetVips): JPEG, PNG, WebP, TIFF, GIF (the loaders NetVips.Native 8.18.7 has; its PPM/PGM and BMP files are "not a known file format");
/// grey, RGB, CMYK (to sRGB), 16-bit (to 8 bits), alpha dropped (as PIL's <c>convert("RGB")</c> in torchvision's
/// ImageFolder loader), EXIF orientation applied. Only the header is read before the crop box is chosen; a JPEG is then
/// decoded at 1/2, 1/4 or 1/8 scale (libjpeg's DCT scaling, <c>shrink</c>) when the box stays at least the output size,
/// the box is cut out before resizing, and the resize is libvips' linear (bilinear, antialiased when reducing, as
/// PIL's BILINEAR) kernel. Pixels become floats through a per-channel table of ((v / 255) − mean) / std.
/// </summary>
public static class ImageDecoder
{
    static ImageDecoder()
    {
        // Every file is read once per epoch: libvips' operation cache would only hold memory. Parallelism comes
        // from the data workers, one image each, so libvips' own thread pool is one thread.
        Cache.Max = 0;
        Cache.MaxFiles = 0;
        Cache.MaxMem = 0;
        NetVips.NetVips.Concurrency = 1;
        VipsLog.Install(); // libvips' warnings are not printed beside ArchDsl's report of the same file
    }

    /// <summary>Chooses the crop box of an (oriented) width × height image.</summary>
    public delegate CropBox BoxChooser(int width, int height);

    /// <summary>
    /// Decodes <paramref name="path"/>, crops the box <paramref name="choose"/> picks and resizes it to
    /// <paramref name="outHeight"/>×<paramref name="outWidth"/>, writing C,H,W floats (<paramref name="tables"/>: one
    /// 256-entry table per output channel) into <paramref name="dst"/>.
    /// </summary>
    /// <exception cref="DataException">the file is not an image libvips can read, is truncated or corrupt, or cannot be opened.</exception>
    public static void Decode(string path, BoxChooser choose, int outHeight, int outWidth, float[][] tables, Span<float> dst)
    {
        if (JpegDecoder.TryDecode(path, choose, outHeight, outWidth, tables, dst, out var chosen)) return;
        if (chosen is { } box) // a JPEG the native route gave back keeps its box (libvips sees the same size: no EXIF rotation)
        {
            var draw = choose;
            choose = (w, h) => box.X + box.Width <= w && box.Y + box.Height <= h ? box : draw(w, h);
        }
        var bytes = DecodeBytes(path, choose, outHeight, outWidth, tables.Length, out int bands);
        ToPlanar(bytes, bands, tables, outHeight * outWidth, dst);
    }

    /// <summary>The cropped and resized image as H,W,C bytes with <paramref name="bands"/> (1, or <paramref name="channels"/>) bands.</summary>
    public static byte[] DecodeBytes(string path, BoxChooser choose, int outHeight, int outWidth, int channels, out int bands)
    {
        var owned = new List<Image>();
        try
        {
            var header = Own(owned, Image.NewFromFile(path, access: Enums.Access.Sequential, failOn: Enums.FailOn.Error));
            bool jpeg = header.Get("vips-loader") as string == "jpegload";
            int orientation = header.Contains("orientation") && header.Get("orientation") is int o ? o : 1;
            var access = orientation == 1 ? Enums.Access.Sequential : Enums.Access.Random; // a rotation reads out of order
            if (orientation != 1 && !jpeg) header = Own(owned, Image.NewFromFile(path, access: access, failOn: Enums.FailOn.Error));
            bool swap = orientation is >= 5 and <= 8;
            int width = swap ? header.Height : header.Width, height = swap ? header.Width : header.Height;
            var box = choose(width, height);
            int shrink = 1;
            if (jpeg)
                while (shrink < 8 && box.Width / (shrink * 2) >= outWidth && box.Height / (shrink * 2) >= outHeight) shrink *= 2;
            // The header's image decodes as it is; a JPEG is opened again only to shrink on load or to rotate (autorotate).
            var image = jpeg && (shrink > 1 || orientation != 1)
                ? Own(owned, Image.Jpegload(path, shrink: shrink, autorotate: true, access: access, failOn: Enums.FailOn.Error))
                : orientation != 1 ? Own(owned, header.Autorot()) : header;
            image = Colour(owned, image, channels);
            double fx = (double)image.Width / width, fy = (double)image.Height / height;
            int x = Math.Clamp((int)Math.Round(box.X * fx), 0, image.Width - 1), y = Math.Clamp((int)Math.Round(box.Y * fy), 0, image.Height - 1);
            int w = Math.Clamp((int)Math.Round(box.Width * fx), 1, image.Width - x), h = Math.Clamp((int)Math.Round(box.Height * fy), 1, image.Height - y);
            if (x != 0 || y != 0 || w != image.Width || h != image.Height) image = Own(owned, image.ExtractArea(x, y, w, h));
            if (w != outWidth || h != outHeight)
            {
                image = Own(owned, image.Resize((double)outWidth / w, kernel: Enums.Kernel.Linear, vscale: (double)outHeight / h));
                if (image.Width != outWidth || image.Height != outHeight) // a rounding pixel either way
                    image = Own(owned, image.Embed(0, 0, outWidth, outHeight, extend: Enums.Extend.Copy));
            }
            bands = image.Bands;
            return image.WriteToMemory();
        }
        catch (VipsException e)
        {
            if (OpenError(path) is { } open) throw CannotOpen(path, open); // libvips says only "unable to load from file"
            throw new DataException($"'{path}' is not an image libvips can read (corrupt, truncated or another format): {FirstLine(e.Message)}", e);
        }
        catch (Exception e) when (e is TypeInitializationException or DllNotFoundException)
        {
            throw new DataException($"libvips (NetVips.Native) could not be loaded, so images cannot be read: {e.InnerException?.Message ?? e.Message}", e);
        }
        finally
        {
            for (int i = owned.Count - 1; i >= 0; i--) owned[i].Dispose();
        }
    }

    /// <summary>8-bit sRGB or grey without alpha; grey stays one band (repeated by <see cref="ToPlanar"/>), colour for a one-channel model becomes grey.</summary>
    private static Image Colour(List<Image> owned, Image image, int channels)
    {
        if (image.Interpretation == Enums.Interpretation.Cmyk) image = Own(owned, image.Colourspace(Enums.Interpretation.Srgb));
        if (image.HasAlpha()) image = Own(owned, image.ExtractBand(0, n: image.Bands - 1));
        if (image.Format != Enums.BandFormat.Uchar)
            image = Own(owned, image.Format == Enums.BandFormat.Ushort ? image.Cast(Enums.BandFormat.Uchar, shift: true) : image.Cast(Enums.BandFormat.Uchar));
        if (image.Bands > 3) image = Own(owned, image.ExtractBand(0, n: 3));
        if (image.Bands == 2) image = Own(owned, image.ExtractBand(0));
        if (channels == 1 && image.Bands == 3) image = Own(owned, image.Colourspace(Enums.Interpretation.Bw));
        return image;
    }

    /// <summary>H,W,C bytes → C,H,W floats through each channel's table (a grey image feeds every channel).</summary>
    public static void ToPlanar(ReadOnlySpan<byte> src, int bands, float[][] tables, int plane, Span<float> dst)
    {
        for (int c = 0; c < tables.Length; c++)
        {
            var table = tables[c];
            var d = dst.Slice(c * plane, plane);
            int offset = bands == 1 ? 0 : c;
            for (int i = 0, j = offset; i < plane; i++, j += bands) d[i] = table[src[j]];
        }
    }

    /// <summary>One table per channel: ((v / 255) − mean) / std, or v / 255 without normalisation.</summary>
    public static float[][] Tables(int channels, Normalization? norm) =>
        Enumerable.Range(0, channels).Select(c => Enumerable.Range(0, 256).Select(v =>
            norm is null ? Dataset.ByteToUnit[v] : (float)((Dataset.ByteToUnit[v] - norm.Mean[c]) / norm.Std[c])).ToArray()).ToArray();

    /// <summary>The error a file that cannot be opened for reading gets (no read permission, gone, a dangling link): the system's reason, not a decoder's.</summary>
    public static DataException CannotOpen(string path, Exception e) =>
        new($"'{path}' cannot be opened for reading: {e.Message}", e);

    /// <summary>Why <paramref name="path"/> cannot be opened for reading, or null when it can.</summary>
    private static Exception? OpenError(string path)
    {
        try
        {
            using var handle = File.OpenHandle(path);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return e; }
    }

    private static Image Own(List<Image> owned, Image image)
    {
        owned.Add(image);
        return image;
    }

    private static string FirstLine(string message) => message.Trim().Split('\n')[0].Trim();
}
