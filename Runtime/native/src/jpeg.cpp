// The image-folder loader's JPEG path (Runtime/Engine/Data/ImageDecoder.cs): libjpeg-turbo decodes only the rows and
// iMCU columns a crop box needs (jpeg_skip_scanlines, jpeg_crop_scanline), at 1/2, 1/4 or 1/8 scale (DCT scaling) when
// the box stays at least the output size, and each decoded row is resized at once with Pillow 9.4's BILINEAR resample
// (Resample.c: a triangle filter widened by the scale when reducing, 22-bit fixed-point weights, 8-bit rounding after
// each pass) — what torchvision's RandomResizedCrop runs on a PIL image — then written as normalised planar floats
// through one 256-entry table per channel. Anything else (not a baseline/progressive 8-bit grey/YCbCr/RGB JPEG, an
// EXIF orientation other than 1, no end-of-image marker, any libjpeg warning or error) returns 1 and the managed side
// decodes the file with libvips, which also decides whether a damaged file is readable.
// No libtorch here: this file is compiled without the shim's precompiled ATen header (CMakeLists.txt).
#ifdef ARCHDSL_HAVE_JPEG
#include <csetjmp>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <atomic>
#include <vector>

#include <jpeglib.h>
#include <immintrin.h>

#define ATS_API extern "C" __attribute__((visibility("default")))

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;  // Pillow's PRECISION_BITS for 8-bit images

struct ErrorManager {
  jpeg_error_mgr pub;
  jmp_buf jump;
};

void on_error(j_common_ptr info) { longjmp(reinterpret_cast<ErrorManager*>(info->err)->jump, 1); }
// libjpeg's default prints warnings to stderr; here a warning only counts (and sends the file to libvips).
void on_message(j_common_ptr info, int level) {
  if (level < 0) info->err->num_warnings++;
}

// The EXIF orientation tag (0x0112) of IFD0 in an APP1 "Exif" marker: 1 when there is none, 0 when it cannot be read.
int exif_orientation(j_decompress_ptr info) {
  for (jpeg_saved_marker_ptr m = info->marker_list; m; m = m->next) {
    if (m->marker != JPEG_APP0 + 1 || m->data_length < 6 || std::memcmp(m->data, "Exif\0\0", 6) != 0) continue;
    const uint8_t* t = m->data + 6;
    size_t n = m->data_length - 6;
    if (n < 8) return 0;
    bool le = t[0] == 'I' && t[1] == 'I';
    if (!le && !(t[0] == 'M' && t[1] == 'M')) return 0;
    auto u16 = [&](size_t o) -> uint32_t { return le ? t[o] | t[o + 1] << 8 : t[o] << 8 | t[o + 1]; };
    auto u32 = [&](size_t o) -> uint32_t { return le ? u16(o) | u16(o + 2) << 16 : u16(o) << 16 | u16(o + 2); };
    size_t ifd = u32(4);
    if (ifd + 2 > n) return 0;
    uint32_t count = u16(ifd);
    for (uint32_t i = 0; i < count; i++) {
      size_t e = ifd + 2 + 12 * (size_t)i;
      if (e + 12 > n) return 0;
      if (u16(e) == 0x0112) return (int)u16(e + 8);
    }
    return 1;
  }
  return 1;
}

bool ends_with_eoi(const uint8_t* data, int64_t size) {
  return size >= 4 && data[0] == 0xFF && data[1] == 0xD8 && data[size - 2] == 0xFF && data[size - 1] == 0xD9;
}

// Pillow's precompute_coeffs + normalize_coeffs_8bpc for BILINEAR (support 1): output xx reads inputs
// bounds[2xx] .. bounds[2xx] + bounds[2xx+1] − 1 of an in_size-long line, weights kk[xx * ksize ...] in fixed point.
struct Coeffs {
  int ksize = 0;
  std::vector<int> bounds;
  std::vector<int32_t> kk;
  void compute(int in_size, double in0, double in1, int out_size) {
    double scale = (in1 - in0) / out_size, filterscale = scale < 1.0 ? 1.0 : scale, support = filterscale;
    ksize = (int)std::ceil(support) * 2 + 1;
    bounds.assign(2 * (size_t)out_size, 0);
    kk.assign((size_t)out_size * ksize, 0);
    std::vector<double> k((size_t)ksize);
    for (int xx = 0; xx < out_size; xx++) {
      double center = in0 + (xx + 0.5) * scale, ww = 0.0, ss = 1.0 / filterscale;
      int xmin = (int)(center - support + 0.5), xmax = (int)(center + support + 0.5);
      if (xmin < 0) xmin = 0;
      if (xmax > in_size) xmax = in_size;
      xmax -= xmin;
      for (int x = 0; x < xmax; x++) {
        double d = std::fabs((x + xmin - center + 0.5) * ss);
        k[x] = d < 1.0 ? 1.0 - d : 0.0;
        ww += k[x];
      }
      for (int x = 0; x < xmax; x++) {
        double w = ww != 0.0 ? k[x] / ww : k[x];
        kk[(size_t)xx * ksize + x] = (int32_t)(w < 0 ? -0.5 + w * (1 << kPrecisionBits) : 0.5 + w * (1 << kPrecisionBits));
      }
      bounds[2 * xx] = xmin;
      bounds[2 * xx + 1] = xmax;
    }
  }
};

inline uint8_t clip8(int32_t v) {
  if (v >= (1 << kPrecisionBits << 8)) return 255;
  if (v <= 0) return 0;
  return (uint8_t)(v >> kPrecisionBits);
}

// One output row of the horizontal pass: `in` holds pixels of S bytes (the first B used) from column 0 of the
// filter's line; `out` gets B bytes per pixel.
template <int B, int S>
void resample_row(const uint8_t* in, const Coeffs& c, int out_w, uint8_t* out) {
  for (int xx = 0; xx < out_w; xx++) {
    const int32_t* k = &c.kk[(size_t)xx * c.ksize];
    const uint8_t* p = in + (size_t)c.bounds[2 * xx] * S;
    int n = c.bounds[2 * xx + 1];
    int32_t ss[B];
    for (int b = 0; b < B; b++) ss[b] = 1 << (kPrecisionBits - 1);
    for (int x = 0; x < n; x++)
      for (int b = 0; b < B; b++) ss[b] += p[x * S + b] * k[x];
    for (int b = 0; b < B; b++) out[xx * B + b] = clip8(ss[b]);
  }
}

// The same for RGBX input with AVX2: one pixel's four channels per 128-bit lane, two taps per step, the same
// 32-bit products and sums (so the same bytes); clip8 is the saturating packs. Writes 4 bytes per 3-byte output
// pixel (the 4th is overwritten by the next; `out` has one byte of slack).
__attribute__((target("avx2"))) void resample_row_rgbx_avx2(const uint8_t* in, const Coeffs& c, int out_w, uint8_t* out) {
  const __m128i half = _mm_set1_epi32(1 << (kPrecisionBits - 1));
  const __m256i pairs = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1);  // k[x] to the low lane's 4 channels, k[x+1] to the high
  for (int xx = 0; xx < out_w; xx++) {
    const int32_t* k = &c.kk[(size_t)xx * c.ksize];
    const uint8_t* p = in + (size_t)c.bounds[2 * xx] * 4;
    int n = c.bounds[2 * xx + 1], x = 0;
    __m256i acc = _mm256_setzero_si256();
    for (; x + 1 < n; x += 2) {
      __m256i px = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + x * 4)));
      __m256i kv = _mm256_permutevar8x32_epi32(_mm256_castsi128_si256(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(k + x))), pairs);
      acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(px, kv));
    }
    __m128i sum = _mm_add_epi32(_mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1)), half);
    if (x < n) {
      int32_t one;
      std::memcpy(&one, p + x * 4, 4);
      sum = _mm_add_epi32(sum, _mm_mullo_epi32(_mm_cvtepu8_epi32(_mm_cvtsi32_si128(one)), _mm_set1_epi32(k[x])));
    }
    sum = _mm_srai_epi32(sum, kPrecisionBits);
    sum = _mm_packus_epi16(_mm_packs_epi32(sum, sum), sum);
    int32_t v = _mm_cvtsi128_si32(sum);
    std::memcpy(out + (size_t)xx * 3, &v, 4);
  }
}

const bool kHasAvx2 = __builtin_cpu_supports("avx2");
std::atomic<bool> use_avx2{kHasAvx2};  // ats_jpeg_simd turns it off (the tests run both paths)

// acc[i] += row[i] × k over a row of the vertical pass (contiguous, so it vectorises).
__attribute__((target_clones("avx2", "default"))) void accumulate(int32_t* acc, const uint8_t* row, int32_t k, int n) {
  for (int i = 0; i < n; i++) acc[i] += row[i] * k;
}

// Per-thread buffers, kept between images (the loader's workers are long-lived threads).
struct Scratch {
  Coeffs horizontal, vertical;
  std::vector<uint8_t> row, rows;
  std::vector<int32_t> acc;
};
thread_local Scratch scratch;

struct Request {
  int x, y, w, h, out_h, out_w, channels;
  const float* tables;  // channels × 256, or null for bytes
  float* planar;        // channels × out_h × out_w
  uint8_t* bytes;       // out_h × out_w × bands
};

// Reads the header (and the APP1 markers): true when this path takes the file for a `channels`-channel output — grey, or
// YCbCr/RGB for three channels (colour to grey stays libvips'), no EXIF rotation, no warning so far.
bool read_header(jpeg_decompress_struct& info, int channels) {
  jpeg_save_markers(&info, JPEG_APP0 + 1, 0xFFFF);
  jpeg_read_header(&info, TRUE);
  int bands = info.num_components;
  bool colour = info.jpeg_color_space == JCS_YCbCr || info.jpeg_color_space == JCS_RGB;
  return ((bands == 1 && info.jpeg_color_space == JCS_GRAYSCALE) || (bands == 3 && colour && channels == 3)) &&
         exif_orientation(&info) == 1 && info.err->num_warnings == 0;
}

// Runs body(info) on a decompressor reading data[0, size); a libjpeg error (its error_exit longjmps here) gives 0.
// body must keep only plain-old-data locals: the jump skips its frame.
template <class Body>
int with_decompressor(const uint8_t* data, int64_t size, Body&& body) {
  jpeg_decompress_struct info;
  ErrorManager err;
  info.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = on_error;
  err.pub.emit_message = on_message;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&info);
    return 0;
  }
  jpeg_create_decompress(&info);
  jpeg_mem_src(&info, data, (unsigned long)size);
  int result = body(info);
  jpeg_destroy_decompress(&info);  // also abandons rows below a crop box, undecoded
  return result;
}

// The decode proper. Only plain-old-data locals live here: libjpeg's errors longjmp back into the caller's setjmp.
// Returns the bands decoded (1 or 3), or 0 when the file is not for this path.
int decode(jpeg_decompress_struct& info, const Request& r, Scratch& s) {
  if (!read_header(info, r.channels)) return 0;
  int bands = info.num_components;
  int width = (int)info.image_width, height = (int)info.image_height;
  if (r.x < 0 || r.y < 0 || r.w < 1 || r.h < 1 || r.x + r.w > width || r.y + r.h > height) return 0;
  int shrink = 1;
  while (shrink < 8 && r.w / (shrink * 2) >= r.out_w && r.h / (shrink * 2) >= r.out_h) shrink *= 2;
  info.scale_num = 1;
  info.scale_denom = (unsigned)shrink;
  info.out_color_space = bands == 1 ? JCS_GRAYSCALE : JCS_EXT_RGBX;  // 4 bytes a pixel: one SIMD lane
  int stride = bands == 1 ? 1 : 4;
  jpeg_start_decompress(&info);
  // The box on the scaled image: whole pixels [x0, x1) × [y0, y1) holding it, the box itself at in0..in1 within them.
  int x0 = r.x / shrink, y0 = r.y / shrink;
  int x1 = (r.x + r.w + shrink - 1) / shrink, y1 = (r.y + r.h + shrink - 1) / shrink;
  if (x1 > (int)info.output_width) x1 = (int)info.output_width;
  if (y1 > (int)info.output_height) y1 = (int)info.output_height;
  s.horizontal.compute(x1 - x0, (double)r.x / shrink - x0, (double)(r.x + r.w) / shrink - x0, r.out_w);
  s.vertical.compute(y1 - y0, (double)r.y / shrink - y0, (double)(r.y + r.h) / shrink - y0, r.out_h);
  int first = s.vertical.bounds[0], last = s.vertical.bounds[2 * (r.out_h - 1)] + s.vertical.bounds[2 * (r.out_h - 1) + 1];
  // Chroma upsampling treats the edges of the decoded part as the image's: one more pixel on each side (where there
  // is one) keeps the box's own pixels as a whole decode gives them (as PIL's), bit for bit.
  int left = x0 > 0 ? x0 - 1 : 0, right = x1 < (int)info.output_width ? x1 + 1 : x1, top = y0 + first > 0 ? y0 + first - 1 : 0;
  JDIMENSION crop_x = (JDIMENSION)left, crop_w = (JDIMENSION)(right - left);
  jpeg_crop_scanline(&info, &crop_x, &crop_w);  // widens to whole iMCU columns
  int skip_cols = x0 - (int)crop_x;
  s.row.resize((size_t)crop_w * stride);
  s.rows.resize((size_t)(last - first) * r.out_w * bands + 1);
  if (top > 0) jpeg_skip_scanlines(&info, (JDIMENSION)top);
  for (int yy = top - y0; yy < last; yy++) {
    JSAMPROW row = s.row.data();
    if (jpeg_read_scanlines(&info, &row, 1) != 1) return 0;
    if (yy < first) continue;
    const uint8_t* in = s.row.data() + (size_t)skip_cols * stride;
    uint8_t* out = s.rows.data() + (size_t)(yy - first) * r.out_w * bands;
    if (bands == 1) resample_row<1, 1>(in, s.horizontal, r.out_w, out);
    else if (use_avx2.load(std::memory_order_relaxed)) resample_row_rgbx_avx2(in, s.horizontal, r.out_w, out);
    else resample_row<3, 4>(in, s.horizontal, r.out_w, out);
  }
  if (info.err->num_warnings > 0) return 0;
  return bands;
}

// The vertical pass from the horizontally resampled rows into planar floats through the tables, or into H,W,C bytes.
void vertical_pass(const Request& r, Scratch& s, int bands) {
  const Coeffs& c = s.vertical;
  int first = c.bounds[0], plane = r.out_h * r.out_w, len = r.out_w * bands;
  s.acc.resize((size_t)len);
  int32_t* acc = s.acc.data();
  for (int yy = 0; yy < r.out_h; yy++) {
    const int32_t* k = &c.kk[(size_t)yy * c.ksize];
    const uint8_t* base = s.rows.data() + (size_t)(c.bounds[2 * yy] - first) * len;
    std::fill(acc, acc + len, 1 << (kPrecisionBits - 1));
    for (int y = 0; y < c.bounds[2 * yy + 1]; y++) accumulate(acc, base + (size_t)y * len, k[y], len);
    size_t row = (size_t)yy * r.out_w;
    if (r.tables == nullptr) {
      for (int i = 0; i < len; i++) r.bytes[row * bands + i] = clip8(acc[i]);
    } else if (bands == 1) {
      for (int ch = 0; ch < r.channels; ch++)
        for (int xx = 0; xx < r.out_w; xx++) r.planar[ch * plane + row + xx] = r.tables[ch * 256 + clip8(acc[xx])];
    } else {
      for (int ch = 0; ch < 3; ch++)
        for (int xx = 0; xx < r.out_w; xx++) r.planar[ch * plane + row + xx] = r.tables[ch * 256 + clip8(acc[xx * 3 + ch])];
    }
  }
}

}  // namespace

// Whether the horizontal resample may use AVX2 (where the CPU has it): sets it, returns the previous setting (0/1).
// Both paths give the same bytes; the switch exists so that tests check the portable one too.
ATS_API int ats_jpeg_simd(int enable) { return use_avx2.exchange(enable != 0 && kHasAvx2) ? 1 : 0; }

// Reads the header of the JPEG in data[0, size): 1 with its width and height when ats_jpeg_decode_crop can decode it
// for a `channels`-channel model (see the top of this file), else 0.
ATS_API int ats_jpeg_probe(const uint8_t* data, int64_t size, int channels, int* width, int* height) {
  if (!ends_with_eoi(data, size) || (channels != 1 && channels != 3)) return 0;
  return with_decompressor(data, size, [&](jpeg_decompress_struct& info) {
    bool ok = read_header(info, channels);
    *width = (int)info.image_width;
    *height = (int)info.image_height;
    return ok ? 1 : 0;
  });
}

// Decodes box (x, y, w, h) of the JPEG in data[0, size) resized to out_h × out_w (see the top of this file). With
// `tables` (channels × 256 floats) it writes channels × out_h × out_w floats to `planar` (a grey image feeds every
// channel); without, out_h × out_w × bands bytes to `bytes` (bands: 1 for a grey image, else 3). Returns the bands
// (1 or 3), or 0 when the file is not for this path (nothing is written then that the caller may rely on).
ATS_API int ats_jpeg_decode_crop(const uint8_t* data, int64_t size, int x, int y, int w, int h, int out_h, int out_w,
                                 int channels, const float* tables, float* planar, uint8_t* bytes) {
  if (!ends_with_eoi(data, size) || out_h < 1 || out_w < 1 || (channels != 1 && channels != 3)) return 0;
  Request r{x, y, w, h, out_h, out_w, channels, tables, planar, bytes};
  Scratch& s = scratch;
  int bands = with_decompressor(data, size, [&](jpeg_decompress_struct& info) { return decode(info, r, s); });
  if (bands == 0) return 0;
  vertical_pass(r, s, bands);
  return bands;
}
#else  // no libjpeg headers where the shim was built (CMake found no JPEG): every file goes to the caller's libvips route
#include <cstdint>
#define ATS_API extern "C" __attribute__((visibility("default")))
ATS_API int ats_jpeg_simd(int) { return 0; }
ATS_API int ats_jpeg_probe(const uint8_t*, int64_t, int, int* width, int* height) { *width = *height = 0; return 0; }
ATS_API int ats_jpeg_decode_crop(const uint8_t*, int64_t, int, int, int, int, int, int, int, const float*, float*, uint8_t*) {
  return 0;
}
#endif
