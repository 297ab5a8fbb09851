// Attention's bfloat16 block products on AVX512_BF16's dot-product instruction (vdpbf16ps: each 32-bit lane adds
// a₀·b₀ + a₁·b₁ of two bfloat16 pairs to a float32 sum). attention_dot.cpp includes this file once, inside a
// `#pragma GCC target("...,avx512bf16")` region and its own namespace, and calls it only where cpu_bf16_dot() (shim.h).
//
// Operands as pairs along the summed dimension K (Intel's "VNNI" layout), as 32-bit words: A[m·lda + kp] holds
// A(m, 2kp) in its low and A(m, 2kp+1) in its high half — a bfloat16 row read in place when K is even; B[kp·ldb + n]
// holds B(2kp, n) and B(2kp+1, n) — packed by pack_rows (rows of B) or by a 32-bit transpose (B = Xᵀ, X's rows in place).
// The register blocking is the float32 kernels' (attention_kernels.h): 6 rows of C by up to four 16-lane vectors.

// C[r·ldc + n] = alpha · Σ_kp dot(A[r·lda + kp], B[kp·ldb + n]) for R rows and the first `cols` (≤ 16·NV) columns; B's
// rows are readable for 16·NV words.
template <int R, int NV>
static void dot_micro(int64_t K2, float alpha, const uint32_t* __restrict A, int64_t lda, const uint32_t* __restrict B,
                      int64_t ldb, float* __restrict C, int64_t ldc, int64_t cols) {
  __m512 acc[R][NV];
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 4
    for (int j = 0; j < NV; j++) acc[r][j] = _mm512_setzero_ps();
  for (int64_t kp = 0; kp < K2; kp++) {
    __m512bh b[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; j++) b[j] = (__m512bh)_mm512_loadu_si512(B + kp * ldb + j * 16);
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
      const __m512bh a = (__m512bh)_mm512_set1_epi32(int(A[r * lda + kp]));
#pragma GCC unroll 4
      for (int j = 0; j < NV; j++) acc[r][j] = _mm512_dpbf16_ps(acc[r][j], a, b[j]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 4
    for (int j = 0; j < NV; j++) {
      const __m512 c = _mm512_mul_ps(acc[r][j], _mm512_set1_ps(alpha));
      const int64_t left = cols - j * 16;
      const __mmask16 mask = left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1);
      _mm512_mask_storeu_ps(C + r * ldc + j * 16, mask, c);
    }
}

template <int NV>
static void dot_rows(int64_t rows, int64_t K2, float alpha, const uint32_t* A, int64_t lda, const uint32_t* B, int64_t ldb,
                     float* C, int64_t ldc, int64_t cols) {
  switch (rows) {
    case 6: return dot_micro<6, NV>(K2, alpha, A, lda, B, ldb, C, ldc, cols);
    case 5: return dot_micro<5, NV>(K2, alpha, A, lda, B, ldb, C, ldc, cols);
    case 4: return dot_micro<4, NV>(K2, alpha, A, lda, B, ldb, C, ldc, cols);
    case 3: return dot_micro<3, NV>(K2, alpha, A, lda, B, ldb, C, ldc, cols);
    case 2: return dot_micro<2, NV>(K2, alpha, A, lda, B, ldb, C, ldc, cols);
    default: return dot_micro<1, NV>(K2, alpha, A, lda, B, ldb, C, ldc, cols);
  }
}

// C[M×N] (row stride ldc, float32) = alpha · A · B over K2 pairs (layouts above); B's rows readable up to N rounded up
// to 16 words.
static void dot_gemm(int64_t M, int64_t N, int64_t K2, float alpha, const uint32_t* A, int64_t lda, const uint32_t* B,
                     int64_t ldb, float* C, int64_t ldc) {
  for (int64_t n0 = 0; n0 < N; n0 += 64) {
    const int64_t cols = std::min<int64_t>(64, N - n0), nv = (cols + 15) / 16;
    for (int64_t m0 = 0; m0 < M; m0 += 6) {
      const int64_t rows = std::min<int64_t>(6, M - m0);
      const uint32_t* a = A + m0 * lda;
      float* c = C + m0 * ldc + n0;
      switch (nv) {
        case 4: dot_rows<4>(rows, K2, alpha, a, lda, B + n0, ldb, c, ldc, cols); break;
        case 3: dot_rows<3>(rows, K2, alpha, a, lda, B + n0, ldb, c, ldc, cols); break;
        case 2: dot_rows<2>(rows, K2, alpha, a, lda, B + n0, ldb, c, ldc, cols); break;
        default: dot_rows<1>(rows, K2, alpha, a, lda, B + n0, ldb, c, ldc, cols); break;
      }
    }
  }
}

// The mask of the first max(0, min(n, width)) lanes.
static inline uint32_t first(int64_t n, int width) {
  return n <= 0 ? 0u : n >= width ? uint32_t(uint64_t(1) << width) - 1u : (1u << n) - 1u;
}

// out[kp·ld + n] = X(2kp, n) | X(2kp+1, n) << 16 for the (rows + 1) / 2 row pairs of the bfloat16 rows X (row stride
// ldx) and n < cols; a missing last row and the columns [cols, ld) are zero. 32 columns of two rows at a time, interleaved
// by two word permutes.
static void pack_rows(const uint16_t* __restrict X, int64_t rows, int64_t cols, int64_t ldx, uint32_t* __restrict out,
                      int64_t ld) {
  alignas(64) static const uint16_t lo_half[32] = {0, 32, 1, 33, 2, 34, 3, 35, 4, 36, 5, 37, 6, 38, 7, 39,
                                                   8, 40, 9, 41, 10, 42, 11, 43, 12, 44, 13, 45, 14, 46, 15, 47};
  alignas(64) static const uint16_t hi_half[32] = {16, 48, 17, 49, 18, 50, 19, 51, 20, 52, 21, 53, 22, 54, 23, 55,
                                                   24, 56, 25, 57, 26, 58, 27, 59, 28, 60, 29, 61, 30, 62, 31, 63};
  const __m512i lo_idx = _mm512_load_si512(lo_half), hi_idx = _mm512_load_si512(hi_half);
  for (int64_t kp = 0; kp < (rows + 1) / 2; kp++) {
    const uint16_t* lo = X + 2 * kp * ldx;
    const bool pair = 2 * kp + 1 < rows;
    uint32_t* o = out + kp * ld;
    for (int64_t n = 0; n < ld; n += 32) {
      const __mmask32 in = first(cols - n, 32);
      const __m512i a = _mm512_maskz_loadu_epi16(in, lo + n);
      const __m512i b = pair ? _mm512_maskz_loadu_epi16(in, lo + ldx + n) : _mm512_setzero_si512();
      _mm512_mask_storeu_epi32(o + n, __mmask16(first(ld - n, 16)), _mm512_permutex2var_epi16(a, lo_idx, b));
      _mm512_mask_storeu_epi32(o + n + 16, __mmask16(first(ld - n - 16, 16)), _mm512_permutex2var_epi16(a, hi_idx, b));
    }
  }
}

// float32 → bfloat16 by the processor's vcvtneps2bf16 (round to nearest even, NaN kept a quiet NaN with its sign and
// payload; as vdpbf16ps it treats denormals as zero), `rows` rows of `cols` values from src (row stride lds) to dst (row
// stride ld), each destination row zero from column cols to `width` (≥ cols). For the products' bfloat16 operands P and
// dS only: what the blocks hand out is rounded as the float32 blocks round it (float_to_bf16, attention_kernels.h).
static void to_bf16(const float* __restrict src, int64_t rows, int64_t cols, int64_t lds, uint16_t* __restrict dst,
                    int64_t ld, int64_t width) {
  for (int64_t i = 0; i < rows; i++)
    for (int64_t j = 0; j < width; j += 16) {
      const __m512 f = _mm512_maskz_loadu_ps(__mmask16(first(cols - j, 16)), src + i * lds + j);
      _mm256_mask_storeu_epi16(dst + i * ld + j, __mmask16(first(width - j, 16)), (__m256i)_mm512_cvtneps_pbh(f));
    }
}
