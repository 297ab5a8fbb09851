using ArchDsl.Runtime.Data;

namespace ArchDsl.Runtime.Tests;

public class DataPngTests
{
    private const int W = 11, H = 10; // 10 rows: each of the five filters on two rows

    [Theory]
    [InlineData(0, 1)]
    [InlineData(4, 2)]
    [InlineData(2, 3)]
    [InlineData(6, 4)]
    public void Eight_bit_images_round_trip_through_all_five_filters(int colorType, int channels)
    {
        var pixels = DataTestFiles.Pattern(W * H * channels, colorType);
        foreach (int? fixedFilter in new int?[] { null, 0, 1, 2, 3, 4 })
        {
            var png = DataTestFiles.Png(W, H, colorType, 8, pixels, fixedFilter is int f ? _ => f : null, idatChunks: 3);
            var img = Png.Decode(png);
            Assert.Equal((W, H, channels), (img.Width, img.Height, img.Channels));
            Assert.Equal(pixels, img.Pixels);
        }
    }

    [Fact]
    public void Palette_image_expands_to_rgb_and_tRNS_to_rgba()
    {
        byte[] palette = { 255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30 };
        var idx = Enumerable.Range(0, W * H).Select(i => (byte)(i % 4)).ToArray();
        var img = Png.Decode(DataTestFiles.Png(W, H, 3, 8, idx, palette: palette));
        Assert.Equal(3, img.Channels);
        for (int i = 0; i < W * H; i++)
            Assert.Equal(palette.AsSpan(3 * idx[i], 3).ToArray(), img.Pixels.AsSpan(3 * i, 3).ToArray());

        var withAlpha = Png.Decode(DataTestFiles.Png(W, H, 3, 8, idx, palette: palette, trns: new byte[] { 0, 128 }));
        Assert.Equal(4, withAlpha.Channels);
        Assert.Equal(new byte[] { 255, 0, 0, 0 }, withAlpha.Pixels[..4]);
        Assert.Equal(new byte[] { 0, 255, 0, 128 }, withAlpha.Pixels[4..8]);
        Assert.Equal(new byte[] { 0, 0, 255, 255 }, withAlpha.Pixels[8..12]); // beyond tRNS: opaque
    }

    [Fact]
    public void Sub_byte_palette_and_grey_are_unpacked()
    {
        // 2-bit palette, all grey entries → one channel
        byte[] palette = { 0, 0, 0, 85, 85, 85, 170, 170, 170, 255, 255, 255 };
        int rowBytes = (W * 2 + 7) / 8;
        var packed = new byte[rowBytes * H];
        var expected = new byte[W * H];
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
            {
                int v = (x + y) % 4;
                packed[y * rowBytes + x / 4] |= (byte)(v << (6 - 2 * (x % 4)));
                expected[y * W + x] = palette[3 * v];
            }
        var img = Png.Decode(DataTestFiles.Png(W, H, 3, 2, packed, palette: palette));
        Assert.Equal(1, img.Channels);
        Assert.Equal(expected, img.Pixels);
        // the same bits as 2-bit greyscale scale 0..3 to 0..255
        var grey = Png.Decode(DataTestFiles.Png(W, H, 0, 2, packed));
        Assert.Equal(expected, grey.Pixels);
    }

    [Theory]
    [InlineData("gray8", 1)]
    [InlineData("gray_alpha", 2)]
    [InlineData("rgb", 3)]
    [InlineData("rgba", 4)]
    [InlineData("palette4", 3)]
    [InlineData("palette_trns", 4)]
    [InlineData("bilevel", 1)]
    public void Decodes_pngs_written_by_a_real_encoder(string name, int channels)
    {
        // Fixtures/DataPng: written by Pillow (adaptive filters), with the expected pixels beside them (gen.py).
        string dir = Path.Combine(DataTestFiles.FixturesDir(), "DataPng");
        var img = Png.Read(Path.Combine(dir, name + ".png"));
        Assert.Equal((13, 9, channels), (img.Width, img.Height, img.Channels));
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir, name + ".raw")), img.Pixels);
    }

    [Fact]
    public void Sixteen_bit_is_refused_as_unsupported()
    {
        string path = Path.Combine(DataTestFiles.FixturesDir(), "DataPng", "gray16.png");
        var e = Assert.Throws<DataException>(() => Png.Read(path));
        Assert.Contains("16-bit", e.Message);
        Assert.Contains("unsupported", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Interlaced_is_refused_as_unsupported()
    {
        var png = DataTestFiles.Png(W, H, 0, 8, new byte[W * H], interlace: 1);
        var e = Assert.Throws<DataException>(() => Png.Decode(png, "x.png"));
        Assert.Contains("interlaced", e.Message);
        Assert.Contains("unsupported", e.Message);
    }

    [Fact]
    public void Structure_errors_are_reported()
    {
        var good = DataTestFiles.GrayPng(W, H, DataTestFiles.Pattern(W * H, 1));
        Assert.Contains("signature", Assert.Throws<DataException>(() => Png.Decode(good[1..], "a.png")).Message);
        // cut inside the IDAT / before IEND
        Assert.Contains("truncated", Assert.Throws<DataException>(() => Png.Decode(good[..^20], "b.png")).Message);
        Assert.Contains("IEND", Assert.Throws<DataException>(() => Png.Decode(good[..^12], "c.png")).Message);

        // IDAT first (no IHDR)
        var ms = new MemoryStream();
        ms.Write(good.AsSpan(0, 8));
        DataTestFiles.Chunk(ms, "IDAT", new byte[] { 1, 2, 3 });
        Assert.Contains("IHDR", Assert.Throws<DataException>(() => Png.Decode(ms.ToArray(), "d.png")).Message);

        // IDAT split by another chunk
        var split = DataTestFiles.Png(W, H, 0, 8, DataTestFiles.Pattern(W * H, 1), idatChunks: 2);
        var withGap = InsertChunkAfterFirst(split, "IDAT", "tEXt");
        Assert.Contains("consecutive", Assert.Throws<DataException>(() => Png.Decode(withGap, "e.png")).Message);

        // palette type without PLTE
        var noPlte = DataTestFiles.Png(W, H, 3, 8, new byte[W * H]);
        Assert.Contains("PLTE", Assert.Throws<DataException>(() => Png.Decode(noPlte, "f.png")).Message);

        // an unknown filter byte
        var badFilter = DataTestFiles.Png(W, H, 0, 8, new byte[W * H], _ => 7);
        Assert.Contains("filter", Assert.Throws<DataException>(() => Png.Decode(badFilter, "g.png")).Message);

        // image data shorter than the header promises
        var small = DataTestFiles.Png(W, H - 2, 0, 8, new byte[W * (H - 2)]);
        var lying = (byte[])small.Clone();
        lying[8 + 8 + 7] = (byte)H; // IHDR height
        Assert.Contains("truncated", Assert.Throws<DataException>(() => Png.Decode(lying, "h.png")).Message);
    }

    private static byte[] InsertChunkAfterFirst(byte[] png, string after, string insert)
    {
        int pos = 8;
        while (pos < png.Length)
        {
            int len = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(pos));
            string type = System.Text.Encoding.ASCII.GetString(png, pos + 4, 4);
            pos += 12 + len;
            if (type == after) break;
        }
        var ms = new MemoryStream();
        ms.Write(png.AsSpan(0, pos));
        DataTestFiles.Chunk(ms, insert, System.Text.Encoding.ASCII.GetBytes("k\0v"));
        ms.Write(png.AsSpan(pos));
        return ms.ToArray();
    }
}
