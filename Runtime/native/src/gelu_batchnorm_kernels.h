// Exact GELU followed by a per-channel affine normalisation, over rows of C channels (a channels-last image's pixels,
// or tokens), float32, ISA-neutral source: gelu_batchnorm.cpp includes this file once per instruction set (inside a
// `#pragma GCC target` region and its own namespace) and picks one at run time. No ATen here. 16 channels at a time in
// GCC's 64-byte vector type (a zmm register under AVX-512, halves or quarters elsewhere); a last group of fewer than 16
// channels goes through a zero-padded vector.
//
// erf is Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7), the formula of ATen's own vectorised erf (Vectorized<float>::erf,
// aten/src/ATen/cpu/vec/vec512/vec512_float.h); exp is Cephes' expf (range reduction by ln 2 in two parts, a degree-5
// polynomial, the exponent set in the bits). GELU's derivative as ATen's GeluBackward: Φ(x) + x·φ(x),
// φ(x) = exp(−x²/2)/√(2π), reusing the exp(−x²/2) that erf(x/√2) computed.

typedef float gbn_v __attribute__((vector_size(64)));
typedef float gbn_vu __attribute__((vector_size(64), aligned(4)));
typedef int32_t gbn_vi __attribute__((vector_size(64)));
constexpr int64_t GBN_LANES = 16;

static inline gbn_v gbn_splat(float s) { return gbn_v{} + s; }

// exp(x) for x ≤ 0 (the only arguments here: −x²/2); below −87.3 it is 0 to float precision.
static inline gbn_v gbn_exp_neg(gbn_v x) {
  x = x < -87.3f ? gbn_splat(-87.3f) : x;
  const gbn_v z = x * 1.44269504088896341f + 0.5f;
  gbn_v n = __builtin_convertvector(__builtin_convertvector(z, gbn_vi), gbn_v);  // trunc(z)
  n = n > z ? n - 1.0f : n;                                                      // floor(z)
  const gbn_v r = x - n * 0.693359375f + n * 2.12194440e-4f;
  gbn_v p = gbn_splat(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const gbn_v y = p * r * r + r + 1.0f;
  const gbn_vi scale = (__builtin_convertvector(n, gbn_vi) + 127) << 23;
  return y * (gbn_v)scale;  // the bits of 2^n
}

// Φ(x) = (1 + erf(x/√2))/2 and e = exp(−x²/2).
static inline void gbn_cdf(gbn_v x, gbn_v& cdf, gbn_v& e) {
  const gbn_v a0 = x * 0.70710678118654752440f;
  const gbn_v a = a0 < 0.0f ? -a0 : a0;
  const gbn_v t = 1.0f / (a * 0.3275911f + 1.0f);
  gbn_v r = gbn_splat(1.061405429f);
  r = r * t - 1.453152027f;
  r = r * t + 1.421413741f;
  r = r * t - 0.284496736f;
  r = r * t + 0.254829592f;
  r = r * t;
  e = gbn_exp_neg(-(a * a));
  const gbn_v erf_abs = 1.0f - r * e;
  const gbn_v erf = a0 < 0.0f ? -erf_abs : erf_abs;
  cdf = 0.5f * (1.0f + erf);
}

// `n` (1..16) values from p: a plain load when 16, else zero-padded.
static inline gbn_v gbn_load(const float* p, int64_t n) {
  if (n == GBN_LANES) return *reinterpret_cast<const gbn_vu*>(p);
  gbn_v v{};
  for (int64_t j = 0; j < n; j++) v[j] = p[j];
  return v;
}

static inline void gbn_store(float* p, gbn_v v, int64_t n) {
  if (n == GBN_LANES) {
    *reinterpret_cast<gbn_vu*>(p) = v;
    return;
  }
  for (int64_t j = 0; j < n; j++) p[j] = v[j];
}

// body(o, c, n) for every row's offset o = r·C of rows [0, rows) and each group of channels [c, c + n): whole vectors
// first, with n the constant 16 (so that gbn_load and gbn_store compile to plain vector moves), then the rest.
template <typename F>
static inline void gbn_each(int64_t rows, int64_t C, F body) {
  const int64_t whole = C / GBN_LANES * GBN_LANES;
  for (int64_t r = 0; r < rows; r++) {
    for (int64_t c = 0; c < whole; c += GBN_LANES) body(r * C, c, GBN_LANES);
    if (whole < C) body(r * C, whole, C - whole);
  }
}

// For rows [0, rows) of x [rows][C], g = GELU(x): s1[c] = Σ (g − shift[c]), s2[c] = Σ (g − shift[c])² (overwritten).
// The shift (a value near the channel's mean) keeps the variance E[(g − s)²] − E[g − s]² free of cancellation.
// Unless null, g and GELU'(x) are also written to `g` and `dg` (for backward, which then computes no GELU).
static void gbn_stats(const float* __restrict x, int64_t rows, int64_t C, const float* __restrict shift, float* __restrict s1,
                      float* __restrict s2, float* __restrict g, float* __restrict dg) {
  constexpr float inv_sqrt_2pi = 0.39894228040143267794f;
  for (int64_t c = 0; c < C; c++) s1[c] = s2[c] = 0.0f;
  gbn_each(rows, C, [&](int64_t o, int64_t c, int64_t n) {
    const gbn_v xv = gbn_load(x + o + c, n);
    gbn_v cdf, e;
    gbn_cdf(xv, cdf, e);
    const gbn_v gv = xv * cdf;
    if (g) {
      gbn_store(g + o + c, gv, n);
      gbn_store(dg + o + c, cdf + xv * e * inv_sqrt_2pi, n);
    }
    const gbn_v d = gv - gbn_load(shift + c, n);
    gbn_store(s1 + c, gbn_load(s1 + c, n) + d, n);
    gbn_store(s2 + c, gbn_load(s2 + c, n) + d * d, n);
  });
}

// y = GELU(x)·scale[c] + bias[c] over rows [0, rows); with `gelu` false, y = x·scale[c] + bias[c] (x already GELU's value).
// Unless null, `res` (rows like x) is added: y = … + res (a residual sum in the same pass).
static void gbn_normalize(const float* __restrict x, int64_t rows, int64_t C, const float* __restrict scale,
                          const float* __restrict bias, float* __restrict y, bool gelu, const float* __restrict res) {
  gbn_each(rows, C, [&](int64_t o, int64_t c, int64_t n) {
    gbn_v v = gbn_load(x + o + c, n);
    if (gelu) {
      gbn_v cdf, e;
      gbn_cdf(v, cdf, e);
      v = v * cdf;
    }
    v = v * gbn_load(scale + c, n) + gbn_load(bias + c, n);
    if (res) v = v + gbn_load(res + o + c, n);
    gbn_store(y + o + c, v, n);
  });
}

// With g = GELU(x) and dg = GELU'(x) as gbn_stats wrote them, x̂ = (g − mean[c])·invstd[c], over rows [0, rows):
// sums (dx null): s1[c] = Σ gy, s2[c] = Σ gy·x̂ (overwritten); else dx = (k[c]·gy − a[c] − x̂·b[c])·dg.
static void gbn_backward(const float* __restrict g, const float* __restrict dg, const float* __restrict gy, int64_t rows, int64_t C,
                         const float* __restrict mean, const float* __restrict invstd, float* __restrict s1, float* __restrict s2,
                         const float* __restrict k, const float* __restrict a, const float* __restrict b, float* __restrict dx) {
  if (!dx)
    for (int64_t c = 0; c < C; c++) s1[c] = s2[c] = 0.0f;
  gbn_each(rows, C, [&](int64_t o, int64_t c, int64_t n) {
    const gbn_v xh = (gbn_load(g + o + c, n) - gbn_load(mean + c, n)) * gbn_load(invstd + c, n);
    const gbn_v gv = gbn_load(gy + o + c, n);
    if (dx) {
      const gbn_v d = gbn_load(k + c, n) * gv - gbn_load(a + c, n) - xh * gbn_load(b + c, n);
      gbn_store(dx + o + c, d * gbn_load(dg + o + c, n), n);
    } else {
      gbn_store(s1 + c, gbn_load(s1 + c, n) + gv, n);
      gbn_store(s2 + c, gbn_load(s2 + c, n) + gv * xh, n);
    }
  });
}
