// GELU (exact: x·Φ(x)) and its derivative over float32 arrays, ISA-neutral source: gelu.cpp includes this file once per
// instruction set (inside a `#pragma GCC target` region and its own namespace) and picks one at run time. No ATen here.
// 16 values at a time in GCC's 64-byte vector type (a zmm register under AVX-512, halves or quarters elsewhere).
//
// erf is Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7), the formula of ATen's own vectorised erf (Vectorized<float>::erf,
// aten/src/ATen/cpu/vec/vec512/vec512_float.h); exp is Cephes' expf (range reduction by ln 2 in two parts, a degree-5
// polynomial, the exponent set in the bits). GELU's derivative as ATen's GeluBackward:
// Φ(x) + x·φ(x), φ(x) = exp(−x²/2)/√(2π), reusing the exp(−x²/2) that erf(x/√2) computed.

typedef float gelu_v __attribute__((vector_size(64)));
typedef float gelu_vu __attribute__((vector_size(64), aligned(4)));
typedef int32_t gelu_vi __attribute__((vector_size(64)));
constexpr int64_t GELU_LANES = 16;

static inline gelu_v gelu_splat(float s) { return gelu_v{} + s; }

// exp(x) for x ≤ 0 (the only arguments here: −x²/2); below −87.3 it is 0 to float precision.
static inline gelu_v gelu_exp_neg(gelu_v x) {
  x = x < -87.3f ? gelu_splat(-87.3f) : x;
  const gelu_v z = x * 1.44269504088896341f + 0.5f;
  gelu_v n = __builtin_convertvector(__builtin_convertvector(z, gelu_vi), gelu_v);  // trunc(z)
  n = n > z ? n - 1.0f : n;                                                          // floor(z)
  const gelu_v r = x - n * 0.693359375f + n * 2.12194440e-4f;
  gelu_v p = gelu_splat(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const gelu_v y = p * r * r + r + 1.0f;
  const gelu_vi scale = (__builtin_convertvector(n, gelu_vi) + 127) << 23;
  return y * (gelu_v)scale;  // the bits of 2^n
}

// Φ(x) = (1 + erf(x/√2))/2 and e = exp(−x²/2), for GELU and its derivative.
static inline void gelu_cdf(gelu_v x, gelu_v& cdf, gelu_v& e) {
  const gelu_v a0 = x * 0.70710678118654752440f;
  const gelu_v a = a0 < 0.0f ? -a0 : a0;
  const gelu_v t = 1.0f / (a * 0.3275911f + 1.0f);
  gelu_v r = gelu_splat(1.061405429f);
  r = r * t - 1.453152027f;
  r = r * t + 1.421413741f;
  r = r * t - 0.284496736f;
  r = r * t + 0.254829592f;
  r = r * t;
  e = gelu_exp_neg(-(a * a));
  const gelu_v erf_abs = 1.0f - r * e;
  const gelu_v erf = a0 < 0.0f ? -erf_abs : erf_abs;
  cdf = 0.5f * (1.0f + erf);
}

// The values [i, n) of a tail shorter than a vector, in a zero-padded one.
static inline gelu_v gelu_tail(const float* p, int64_t count) {
  gelu_v v{};
  for (int64_t j = 0; j < count; j++) v[j] = p[j];
  return v;
}

// y[i] = x[i]·Φ(x[i]) for i in [0, n).
static void gelu_forward(const float* __restrict x, float* __restrict y, int64_t n) {
  int64_t i = 0;
  for (; i + GELU_LANES <= n; i += GELU_LANES) {
    const gelu_v xv = *reinterpret_cast<const gelu_vu*>(x + i);
    gelu_v cdf, e;
    gelu_cdf(xv, cdf, e);
    *reinterpret_cast<gelu_vu*>(y + i) = xv * cdf;
  }
  if (i < n) {
    const gelu_v xv = gelu_tail(x + i, n - i);
    gelu_v cdf, e;
    gelu_cdf(xv, cdf, e);
    const gelu_v yv = xv * cdf;
    for (int64_t j = 0; j < n - i; j++) y[i + j] = yv[j];
  }
}

// dx[i] = dy[i]·(Φ(x[i]) + x[i]·φ(x[i])) for i in [0, n).
static void gelu_backward(const float* __restrict dy, const float* __restrict x, float* __restrict dx, int64_t n) {
  constexpr float inv_sqrt_2pi = 0.39894228040143267794f;
  int64_t i = 0;
  for (; i + GELU_LANES <= n; i += GELU_LANES) {
    const gelu_v xv = *reinterpret_cast<const gelu_vu*>(x + i);
    gelu_v cdf, e;
    gelu_cdf(xv, cdf, e);
    *reinterpret_cast<gelu_vu*>(dx + i) = *reinterpret_cast<const gelu_vu*>(dy + i) * (cdf + xv * e * inv_sqrt_2pi);
  }
  if (i < n) {
    const gelu_v xv = gelu_tail(x + i, n - i);
    gelu_v cdf, e;
    gelu_cdf(xv, cdf, e);
    const gelu_v dxv = gelu_tail(dy + i, n - i) * (cdf + xv * e * inv_sqrt_2pi);
    for (int64_t j = 0; j < n - i; j++) dx[i + j] = dxv[j];
  }
}
