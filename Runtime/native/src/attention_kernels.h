// Attention's per-block float32 products and bfloat16 conversions, ISA-neutral source: attention.cpp includes this file
// once per instruction set (inside a `#pragma GCC target` region and its own namespace) and picks one at run time. No
// ATen here, so nothing from ATen's headers is compiled for an instruction set the machine may lack.
//
// A (sample, head) block of ViT's attention is small (50 × 50 scores from 64-wide heads): a general sgemm spends much of
// such a product on its set-up and packing. Here a product is register-blocked as BLIS's micro-kernels are: ROWS rows of
// C by up to four 64-byte vectors of columns held in registers, each k adding a broadcast element of A times a row of B.
// GCC's vector extension makes these zmm registers under AVX-512 (ROWS 6: 24 accumulators) and ymm pairs under AVX2
// (ROWS 1: 8 ymm accumulators, within its 16 registers).

// A 16-float vector; `unaligned` is the type loads and stores go through: 4-byte aligned, and may_alias because
// transpose also moves bfloat16 pairs (attention_dot.cpp reads bfloat16 storage and writes uint32_t buffers through it).
struct F32 {
  typedef float type __attribute__((vector_size(64)));
  typedef float unaligned __attribute__((vector_size(64), aligned(4), may_alias));
  static constexpr int64_t lanes = 16;
  static type load(const float* p) { return *reinterpret_cast<const unaligned*>(p); }
  static void store(float* p, type v) { *reinterpret_cast<unaligned*>(p) = v; }
};

// C[r·ldc + n] = alpha · Σ_k A[r·am + k·ak] · B[k·ldb + n] for R rows and the first `cols` (≤ 16·NV) columns; B's rows
// are readable for 16·NV floats.
template <int R, int NV>
static void micro(int64_t K, float alpha, const float* __restrict A, int64_t am, int64_t ak, const float* __restrict B,
                  int64_t ldb, float* __restrict C, int64_t ldc, int64_t cols) {
  using v = F32::type;
  v acc[R][NV];
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 4
    for (int j = 0; j < NV; j++) acc[r][j] = v{};
  for (int64_t k = 0; k < K; k++) {
    v b[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; j++) b[j] = F32::load(B + k * ldb + j * F32::lanes);
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
      const v a = A[r * am + k * ak] - v{};  // broadcast (x − 0 is x, −0 included: no add is emitted)
#pragma GCC unroll 4
      for (int j = 0; j < NV; j++) acc[r][j] += a * b[j];
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 4
    for (int j = 0; j < NV; j++) {
      const v c = acc[r][j] * alpha;
      float* dst = C + r * ldc + j * F32::lanes;
      const int64_t left = cols - j * F32::lanes;
      if (left >= F32::lanes) F32::store(dst, c);
      else for (int64_t l = 0; l < left; l++) dst[l] = c[l];
    }
}

// Up to ROWS rows of C, NV vectors of columns: micro<rows, NV>.
template <int NV>
static void rows_of(int64_t rows, int64_t K, float alpha, const float* A, int64_t am, int64_t ak, const float* B, int64_t ldb,
                    float* C, int64_t ldc, int64_t cols) {
  switch (rows) {
#if ROWS >= 6
    case 6: return micro<6, NV>(K, alpha, A, am, ak, B, ldb, C, ldc, cols);
    case 5: return micro<5, NV>(K, alpha, A, am, ak, B, ldb, C, ldc, cols);
    case 4: return micro<4, NV>(K, alpha, A, am, ak, B, ldb, C, ldc, cols);
    case 3: return micro<3, NV>(K, alpha, A, am, ak, B, ldb, C, ldc, cols);
    case 2: return micro<2, NV>(K, alpha, A, am, ak, B, ldb, C, ldc, cols);
#endif
    default: return micro<1, NV>(K, alpha, A, am, ak, B, ldb, C, ldc, cols);
  }
}

// C[M×N] (row stride ldc) = alpha · Σ_k A(m, k) · B[k·ldb + n], A(m, k) = A[m·am + k·ak] (row-major A: am = lda, ak = 1;
// transposed: am = 1, ak = lda). Each row of B must be readable up to N rounded up to 16 floats.
static void gemm(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t am, int64_t ak, const float* B,
                 int64_t ldb, float* C, int64_t ldc) {
  constexpr int64_t panel = 4 * F32::lanes;
  for (int64_t n0 = 0; n0 < N; n0 += panel) {
    const int64_t cols = std::min(panel, N - n0), nv = (cols + F32::lanes - 1) / F32::lanes;
    for (int64_t m0 = 0; m0 < M; m0 += ROWS) {
      const int64_t rows = std::min<int64_t>(ROWS, M - m0);
      const float* a = A + m0 * am;
      float* c = C + m0 * ldc + n0;
      switch (nv) {
        case 4: rows_of<4>(rows, K, alpha, a, am, ak, B + n0, ldb, c, ldc, cols); break;
        case 3: rows_of<3>(rows, K, alpha, a, am, ak, B + n0, ldb, c, ldc, cols); break;
        case 2: rows_of<2>(rows, K, alpha, a, am, ak, B + n0, ldb, c, ldc, cols); break;
        default: rows_of<1>(rows, K, alpha, a, am, ak, B + n0, ldb, c, ldc, cols); break;
      }
    }
  }
}

// out[c·ld + r] = B[r·ldb + c] for r < rows, c < cols: 16 × 16 tiles in registers (four butterfly stages, each swapping
// the off-diagonal s × s blocks of every 2s × 2s block), the edges element by element. Any 32-bit values: the tiles
// move through F32::unaligned (may_alias), the edges by memcpy.
static void transpose(const float* __restrict B, int64_t rows, int64_t cols, int64_t ldb, float* __restrict out, int64_t ld) {
  using v = F32::type;
  typedef int32_t idx __attribute__((vector_size(64)));
  static const idx lo[4] = {{0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23},
                            {0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27},
                            {0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29},
                            {0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30}};
  static const idx hi[4] = {{8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31},
                            {4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31},
                            {2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31},
                            {1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31}};
  const int64_t r16 = rows / 16 * 16, c16 = cols / 16 * 16;
  for (int64_t r0 = 0; r0 < r16; r0 += 16)
    for (int64_t c0 = 0; c0 < c16; c0 += 16) {
      v t[16];
#pragma GCC unroll 16
      for (int i = 0; i < 16; i++) t[i] = F32::load(B + (r0 + i) * ldb + c0);
#pragma GCC unroll 4
      for (int st = 0, sz = 8; st < 4; st++, sz /= 2)
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++)
          if ((i & sz) == 0) {
            const v a = t[i], b = t[i + sz];
            t[i] = __builtin_shuffle(a, b, lo[st]);
            t[i + sz] = __builtin_shuffle(a, b, hi[st]);
          }
#pragma GCC unroll 16
      for (int i = 0; i < 16; i++) F32::store(out + (c0 + i) * ld + r0, t[i]);
    }
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = r < r16 ? c16 : 0; c < cols; c++) std::memcpy(out + c * ld + r, B + r * ldb + c, sizeof(float));
}

// bfloat16 as its 16 bits: 16 of them (read from and written to c10::BFloat16 storage, so may_alias), and 16 float32
// bit patterns.
typedef uint16_t H16 __attribute__((vector_size(32), aligned(2), may_alias));
typedef uint32_t U32 __attribute__((vector_size(64)));

// The bfloat16 bits of float32 bits (a scalar or U32), rounded to nearest even as c10::BFloat16's constructor (NaN aside).
template <typename U>
static U round_to_bf16(U bits) {
  return (bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16;
}

// bfloat16 → float32 for `rows` rows of `cols` values, source row stride ld, destination contiguous.
static void bf16_to_float(const uint16_t* __restrict src, int64_t rows, int64_t cols, int64_t ld, float* __restrict dst) {
  for (int64_t i = 0; i < rows; i++) {
    const uint16_t* s = src + i * ld;
    float* d = dst + i * cols;
    int64_t j = 0;
    for (; j + 16 <= cols; j += 16) {
      const U32 bits = __builtin_convertvector(*reinterpret_cast<const H16*>(s + j), U32) << 16;
      std::memcpy(d + j, &bits, sizeof bits);
    }
    for (; j < cols; j++) {
      const uint32_t bits = uint32_t(s[j]) << 16;
      std::memcpy(d + j, &bits, 4);
    }
  }
}

// float32 → bfloat16 by round_to_bf16 (NaN becomes the quiet NaN 0x7FC0, as c10::BFloat16's), `rows` rows of `cols`
// values from a contiguous source to a destination of row stride ld.
static void float_to_bf16(const float* __restrict src, int64_t rows, int64_t cols, uint16_t* __restrict dst, int64_t ld) {
  for (int64_t i = 0; i < rows; i++) {
    const float* s = src + i * cols;
    uint16_t* d = dst + i * ld;
    int64_t j = 0;
    for (; j + 16 <= cols; j += 16) {
      const F32::type f = F32::load(s + j);
      U32 bits;
      std::memcpy(&bits, &f, sizeof bits);
      const U32 out = f != f ? U32{} + 0x7FC0u : round_to_bf16(bits);
      *reinterpret_cast<H16*>(d + j) = __builtin_convertvector(out, H16);
    }
    for (; j < cols; j++) {
      uint32_t bits;
      std::memcpy(&bits, s + j, 4);
      d[j] = s[j] != s[j] ? uint16_t(0x7FC0) : uint16_t(round_to_bf16(bits));
    }
  }
}
