// Exact GELU of x + bias over rows of C values (the output of a linear layer without its bias: [..., C], bias [C]),
// keeping GELU's derivative for the backward; float32 or bfloat16 values, float32 arithmetic; ISA-neutral source:
// bias_gelu.cpp includes this file once per instruction set (inside a `#pragma GCC target` region and its own
// namespace, after gelu_batchnorm_kernels.h, whose vector type, loads, stores and Φ(x) it uses) and picks one at run
// time. No ATen here.
//
// bfloat16 is read by widening its 16 bits to a float's high half, and written rounded to nearest even with NaN kept
// a quiet NaN: c10::BFloat16's round_to_nearest_even, so a value is rounded exactly as ATen rounds it.

typedef uint16_t bg_h16 __attribute__((vector_size(32)));
typedef uint16_t bg_h16u __attribute__((vector_size(32), aligned(2)));
typedef uint32_t bg_u32 __attribute__((vector_size(64)));

// `n` (1..16) values from p as floats: a plain load when 16, else zero-padded.
static inline gbn_v bg_load(const float* p, int64_t n) { return gbn_load(p, n); }
static inline gbn_v bg_load(const uint16_t* p, int64_t n) {
  bg_h16 h{};
  if (n == GBN_LANES) h = *reinterpret_cast<const bg_h16u*>(p);
  else
    for (int64_t j = 0; j < n; j++) h[j] = p[j];
  return (gbn_v)(__builtin_convertvector(h, bg_u32) << 16);
}

static inline void bg_store(float* p, gbn_v v, int64_t n) { gbn_store(p, v, n); }
static inline void bg_store(uint16_t* p, gbn_v v, int64_t n) {
  const bg_u32 u = (bg_u32)v;
  const bg_u32 rounded = (u + (((u >> 16) & 1u) + 0x7FFFu)) >> 16;
  const bg_u32 bits = v != v ? (bg_u32{} + 0x7FC0u) : rounded;  // NaN: c10's quiet NaN
  const bg_h16 h = __builtin_convertvector(bits, bg_h16);
  if (n == GBN_LANES) {
    *reinterpret_cast<bg_h16u*>(p) = h;
    return;
  }
  for (int64_t j = 0; j < n; j++) p[j] = h[j];
}

// body(o, c, n) for every row's offset o = r·C of rows [0, rows) and each group of columns [c, c + n), as gbn_each does,
// but two whole vectors per step: GELU's erf and exp are one long chain of dependent operations, and two independent
// chains side by side ran 4% (float32) and 12% (bfloat16) faster (one thread, [6400, 768]).
template <typename F>
static inline void bg_each(int64_t rows, int64_t C, F body) {
  const int64_t pairs = C / (2 * GBN_LANES) * (2 * GBN_LANES), whole = C / GBN_LANES * GBN_LANES;
  for (int64_t r = 0; r < rows; r++) {
    for (int64_t c = 0; c < pairs; c += 2 * GBN_LANES) {
      body(r * C, c, GBN_LANES);
      body(r * C, c + GBN_LANES, GBN_LANES);
    }
    if (pairs < whole) body(r * C, pairs, GBN_LANES);
    if (whole < C) body(r * C, whole, C - whole);
  }
}

// For rows [0, rows) of x [rows][C]: v = x + bias[c] (bias may be null: v = x), y = GELU(v) = v·Φ(v) rounded once to E,
// and unless dg is null, dg = GELU'(v) = Φ(v) + v·φ(v) (ATen's GeluBackward) in float32 — for bfloat16 too, so that the
// backward rounds its product once, as libtorch's bf16 GELU backward does (and a bf16 derivative cost more time: its
// rounding, 5.1 against 4.3 ms for [6400, 768]).
template <typename E>
static void bg_forward(const E* __restrict x, const float* __restrict bias, int64_t rows, int64_t C, E* __restrict y,
                       float* __restrict dg) {
  constexpr float inv_sqrt_2pi = 0.39894228040143267794f;
  bg_each(rows, C, [&](int64_t o, int64_t c, int64_t n) {
    gbn_v v = bg_load(x + o + c, n);
    if (bias) v += gbn_load(bias + c, n);
    gbn_v cdf, e;
    gbn_cdf(v, cdf, e);
    bg_store(y + o + c, v * cdf, n);
    if (dg) gbn_store(dg + o + c, cdf + v * e * inv_sqrt_2pi, n);
  });
}

// For rows [0, rows): gx = gy·dg, rounded once to E; unless sums is null, sums[c] = Σ over these rows of gy·dg in float
// (overwritten) — the bias gradient of this block of rows.
template <typename E>
static void bg_backward(const E* __restrict gy, const float* __restrict dg, int64_t rows, int64_t C, E* __restrict gx,
                        float* __restrict sums) {
  if (sums)
    for (int64_t c = 0; c < C; c++) sums[c] = 0.0f;
  bg_each(rows, C, [&](int64_t o, int64_t c, int64_t n) {
    const gbn_v g = bg_load(gy + o + c, n) * gbn_load(dg + o + c, n);
    bg_store(gx + o + c, g, n);
    if (sums) gbn_store(sums + c, gbn_load(sums + c, n) + g, n);
  });
}
