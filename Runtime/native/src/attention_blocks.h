// Packed attention's private header: what attention.cpp (the float32/float64 blocks, the float32-computing bfloat16
// blocks, the autograd Function) and attention_dot.cpp (the bfloat16 blocks on AVX512_BF16's dot products) share — the
// blocks' layout, the float32 softmax and the softmax backward, the own kernels' panel bound, and the dot blocks' entry
// points. No instruction-set pragma may be in force where this is included: each variant carries its own target.
#pragma once

#include "shim.h"

#include <initializer_list>

namespace ats::attn {

// Where q, k and v of a block are: q rows of the query source (row stride lq), k and v rows of the key source (row
// stride lk), the columns of head h at h·d from q0, k0 and v0.
struct Layout {
  int64_t B, L, S, H, d, lq, lk, q0, k0, v0;
  int64_t D() const { return H * d; }
};

// The most bytes of a product's streamed operand the own kernels take (attention.cpp, own_product, gives the reason).
constexpr int64_t OwnPanelBytes = 512 * 1024;

// Σ row[0..n) with 16 running sums (a loop the compiler vectorises; a single running sum would not be).
__attribute__((always_inline)) inline float sum16(const float* row, int64_t n) {
  float part[16] = {};
  int64_t j = 0;
  for (; j + 16 <= n; j += 16)
    for (int l = 0; l < 16; l++) part[l] += row[j + l];
  float total = 0;
  for (; j < n; j++) total += row[j];
  for (int l = 0; l < 16; l++) total += part[l];
  return total;
}

// exp(x) for x ≤ 0 in float32, in straight-line code the compiler vectorises (Cephes' expf: x = n·ln 2 + r with
// |r| ≤ ln 2 / 2, a degree-7 polynomial for e^r, 2ⁿ through the exponent bits; within 2 ulp). Below −87.3 it gives
// e^−87.3 ≈ 1.2e−38 rather than a denormal or 0, which changes no softmax beyond float rounding.
__attribute__((always_inline)) inline float exp_nonpositive(float x) {
  x = x < -87.3f ? -87.3f : x;
  const float n = (x * 1.44269504088896341f + 12582912.f) - 12582912.f;  // round to nearest (|x·log₂e| < 2²²)
  const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;          // Cody–Waite: ln 2 = 0.693359375 − 2.12194440e−4
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float two_n;
  std::memcpy(&two_n, &bits, sizeof two_n);
  return p * two_n;
}

// Each of `rows` rows of n scores replaced by its softmax (max subtracted first, as at::softmax), per instruction set.
__attribute__((always_inline)) inline void softmax_body(float* p, int64_t rows, int64_t n) {
  for (int64_t i = 0; i < rows; i++) {
    float* row = p + i * n;
    float top = row[0];
    for (int64_t j = 1; j < n; j++) top = row[j] > top ? row[j] : top;
    for (int64_t j = 0; j < n; j++) row[j] = exp_nonpositive(row[j] - top);
    const float inv = 1.f / sum16(row, n);
    for (int64_t j = 0; j < n; j++) row[j] *= inv;
  }
}
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,prefer-vector-width=512")))
inline void softmax_avx512(float* p, int64_t rows, int64_t n) { softmax_body(p, rows, n); }
__attribute__((target("avx2,fma"))) inline void softmax_avx2(float* p, int64_t rows, int64_t n) { softmax_body(p, rows, n); }
// The float32 softmax on the variant of `level` (the op's cpu_vector_level(), read once by the caller).
inline void softmax_rows(float* p, int64_t rows, int64_t n, int level) {
  return level == 2 ? softmax_avx512(p, rows, n) : level == 1 ? softmax_avx2(p, rows, n) : softmax_body(p, rows, n);
}

// The scores' gradient from the probabilities' (in place): dS = P ⊙ (dP − Σⱼ P dP) · scale, row by row.
template <typename Acc>
inline void softmax_backward_rows(const Acc* p, Acc* dp, int64_t rows, int64_t n, Acc scale) {
  std::vector<Acc> prod(n);
  for (int64_t i = 0; i < rows; i++) {
    const Acc* pr = p + i * n;
    Acc* r = dp + i * n;
    for (int64_t j = 0; j < n; j++) prod[j] = pr[j] * r[j];
    Acc dot = 0;
    if constexpr (std::is_same<Acc, float>::value) dot = sum16(prod.data(), n);
    else for (int64_t j = 0; j < n; j++) dot += prod[j];
    for (int64_t j = 0; j < n; j++) r[j] = pr[j] * (r[j] - dot) * scale;
  }
}

// ---- the bfloat16 blocks on AVX512_BF16's dot products (attention_dot.cpp) ----
// Whether the blocks of s with these tensors (undefined ones skipped) take them at `level` (the op's
// cpu_vector_level()).
bool dot_blocks(const Layout& s, std::initializer_list<const at::Tensor*> tensors, int level);
// The forward: probs [B, H, L, S] (bfloat16, kept for the backward), out [B, L, D]; kv is q's source when packed.
void forward_dot(const Layout& s, const c10::BFloat16* q, const c10::BFloat16* kv, c10::BFloat16* probs, c10::BFloat16* out);
// The backward from gy [B, L, D] and the saved probs: dq into gq, dk and dv into gkv (gkv is gq when packed).
void backward_dot(const Layout& s, const c10::BFloat16* q, const c10::BFloat16* kv, const c10::BFloat16* probs,
                  const c10::BFloat16* gy, c10::BFloat16* gq, c10::BFloat16* gkv);

}  // namespace ats::attn
