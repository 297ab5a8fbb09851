#!/usr/bin/python3
# Regenerates the PNG fixtures with a real encoder (Pillow, adaptive row filters) and, beside each
# <name>.png, <name>.raw: the decoded 8-bit pixels, row-major, interleaved, as the C# decoder returns
# them (palette images: grey palette -> 1 channel, with tRNS -> RGBA, else RGB; 1-bit -> 0/255).
#   cd tests/ArchDsl.Runtime.Tests/Fixtures/DataPng && /usr/bin/python3 gen.py
import zlib, struct
import numpy as np
from PIL import Image

rng = np.random.default_rng(7)
W, H = 13, 9
yy, xx = np.mgrid[0:H, 0:W]
def smooth(c):
    # gradients + noise: makes Pillow's adaptive filtering pick different filters on different rows
    base = (xx * 17 + yy * 23 + c * 40) % 256
    noise = rng.integers(0, 40, size=(H, W))
    return ((base + noise * (yy % 3 == 0)) % 256).astype(np.uint8)

def save(name, img, raw):
    img.save(name + ".png", optimize=False)
    np.ascontiguousarray(raw, dtype=np.uint8).tofile(name + ".raw")
    data = open(name + ".png", "rb").read()
    # report the row filters used
    pos, idat = 8, b""
    while pos < len(data):
        n, = struct.unpack(">I", data[pos:pos + 4]); t = data[pos + 4:pos + 8]
        if t == b"IDAT": idat += data[pos + 8:pos + 8 + n]
        pos += 12 + n
    ihdr = Image.open(name + ".png")
    dec = zlib.decompress(idat)
    stride = len(dec) // H
    print(name, ihdr.mode, "filters", sorted(set(dec[r * stride] for r in range(H))))

g = smooth(0)
save("gray8", Image.fromarray(g, "L"), g)
la = np.stack([g, smooth(1)], axis=-1)
save("gray_alpha", Image.fromarray(la, "LA"), la)
rgb = np.stack([smooth(0), smooth(1), smooth(2)], axis=-1)
save("rgb", Image.fromarray(rgb, "RGB"), rgb)
rgba = np.stack([smooth(0), smooth(1), smooth(2), smooth(3)], axis=-1)
save("rgba", Image.fromarray(rgba, "RGBA"), rgba)
# palette, colour, 16 entries -> Pillow writes 4-bit indices
pal = rng.integers(0, 256, size=(16, 3)).astype(np.uint8)
idx = ((xx + 2 * yy) % 16).astype(np.uint8)
p = Image.fromarray(idx, "P"); p.putpalette(pal.flatten().tolist())
save("palette4", p, pal[idx])
# palette with transparency
p2 = Image.fromarray(idx, "P"); p2.putpalette(pal.flatten().tolist())
alpha = np.arange(16, dtype=np.uint8) * 16
p2.info["transparency"] = bytes(alpha[:10])
rgba_p = np.concatenate([pal[idx], np.where(idx < 10, alpha[np.minimum(idx, 9)], 255)[..., None].astype(np.uint8)], axis=-1)
save("palette_trns", p2, rgba_p)
# 1-bit
bits = ((xx * yy + xx) % 3 == 0)
save("bilevel", Image.fromarray(bits).convert("1"), np.where(bits, 255, 0))
# 16-bit grey (unsupported: must be refused)
Image.fromarray((g.astype(np.uint16) * 257), "I;16").save("gray16.png")
