// Packed attention's bfloat16 blocks on AVX512_BF16's dot products (vdpbf16ps; attention_dot_kernels.h), where the
// processor has them at the avx512 level (cpu_bf16_dot, core.cpp). attention.cpp holds the layout, the other dtypes'
// blocks and the autograd Function, and calls forward_dot / backward_dot where dot_blocks says (attention_blocks.h).
//
// Operands: q and dO are read in place as bfloat16 pairs, as the A operands of q kᵀ and dO vᵀ; every B operand (kᵀ and
// vᵀ by a 32-bit transpose of the rows' pairs; v, dO, k and q as pairs of rows) and the transposed A operands Pᵀ and dSᵀ
// are packed per block into small per-thread buffers. Sums are in float32, and so are the softmax and its backward.
// P and dS are rounded to bfloat16 for their products, as libtorch's bfloat16 math path (torch.autocast's) rounds its
// softmax and softmax-backward outputs, by the processor's vcvtneps2bf16 (to_bf16; one instruction per 16 values, the
// integer rounding takes about five — not timed apart): they are internal operands, where its two differences change
// nothing that comes out — it reads subnormals as zero, as vdpbf16ps, which takes them next, does anyway (the saved P
// also feeds the softmax backward, where a probability below 2⁻¹²⁶ moves nothing above float32's rounding), and it
// keeps a NaN's sign, which the rounding of the results then drops. The output and the gradients of q, k and v are
// rounded as the float32 blocks round theirs, with c10::BFloat16's rounding (float_to_bf16, attention_kernels.h: to
// nearest even, subnormals kept, every NaN written as 0x7FC0), not by vcvtneps2bf16, which keeps a NaN's sign and
// payload (bias_gelu.cpp rejected it for the same reasons). vdpbf16ps itself flushes subnormal sums to zero (Intel SDM:
// DAZ and FTZ whatever MXCSR says), so an output or gradient below 2⁻¹²⁶ is 0 here where the float32 blocks keep it: a
// property of the instruction, far below anything attention's values reach.
// The probabilities are saved in bfloat16: B·H·N²·2 bytes, at ViT-B/16's shape (224², N = 197, 12 heads) and batch 128
// 119 MB per layer rather than float32's 238 MB. The backward's dv product takes them as a bfloat16 operand anyway; its
// softmax backward widens them to float32, where float32 probabilities would be a little more accurate — libtorch's
// bfloat16 math path keeps them in bfloat16 as well.
//
// Measured (2026-12-01, AMD EPYC Zen 4 with AVX512_BF16, 2 cores shared with other work; process CPU time, 1 thread,
// median of 15 repetitions of a harness calling F.packed_attention on a leaf bf16 qkv [128, 50, 576], 3 heads of 64,
// forward + backward from a gradient of ones): the dot blocks against the float32 blocks 13.7–13.9 -> 10.8–11.4 ms
// (98daf37); prefetching the next sample's rows (dot_each) 10.8–11.4 -> 9.0–10.1 ms (7b375f5); a later run of three
// alternating rounds, main at 99d0cb9 against the dot blocks with the prefetch, load ~2: 13.4–13.7 -> 10.1–10.5 ms.
// The bfloat16 ViT step and perf's shares: attention.cpp's header.
#include "attention_blocks.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>

// The float32 kernels' transpose and conversions (attention_kernels.h) and the dot products, for the one instruction
// set this file runs on.
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512bw,avx512dq,avx512bf16,avx2,fma,prefer-vector-width=512")
namespace att_bf16 {
#define ROWS 6
#include "attention_kernels.h"
#undef ROWS
#include "attention_dot_kernels.h"
}  // namespace att_bf16
#pragma GCC pop_options

namespace ats::attn {

// Whether the blocks of s take the dot products: the processor has them at the level in effect, the head width is even
// (so every block's rows start on a bfloat16 pair) and B stays within the own kernels' panel (OwnPanelBytes).
// Pairs are read as 32-bit words, so the tensors must start on one (a view at an odd offset takes the float32 blocks).
bool dot_blocks(const Layout& s, std::initializer_list<const at::Tensor*> tensors, int level) {
  for (const at::Tensor* t : tensors)
    if (t->defined() && reinterpret_cast<uintptr_t>(t->data_ptr()) % 4 != 0) return false;
  // cpu_bf16_dot() reads the level again: both must say yes, so a cap lowered in between leaves the float32 blocks.
  return level == 2 && cpu_bf16_dot() && s.d % 2 == 0 &&
         std::max(s.L, s.S) * s.d * int64_t(sizeof(uint16_t)) <= OwnPanelBytes;
}

namespace {

// A thread's buffers: a block's float32 scores or score gradients (s), probabilities (p) and product (o); P or dS
// rounded to bfloat16 with rows padded to an even length (a); a packed B (b) and transposed A (t, via tt).
struct DotScratch {
  std::vector<float> s, p, o;
  std::vector<uint16_t> a;
  std::vector<uint32_t> b, t, tt;
};

const uint16_t* bits(const c10::BFloat16* x) { return reinterpret_cast<const uint16_t*>(x); }
uint16_t* bits(c10::BFloat16* x) { return reinterpret_cast<uint16_t*>(x); }
const uint32_t* pairs(const uint16_t* x) { return reinterpret_cast<const uint32_t*>(x); }

// B = Xᵀ for dot_gemm from X's `rows` rows of `cols` (even) bfloat16 at x (row stride ldx): a 32-bit transpose of X's
// pairs into [cols / 2, ld], ld = rows rounded up to 16, zeros after column `rows`.
const uint32_t* pack_transposed(const uint16_t* x, int64_t rows, int64_t cols, int64_t ldx, std::vector<uint32_t>& buf,
                                int64_t& ld) {
  ld = (rows + 15) / 16 * 16;
  buf.assign(cols / 2 * ld, 0u);
  att_bf16::transpose(reinterpret_cast<const float*>(x), rows, cols / 2, ldx / 2, reinterpret_cast<float*>(buf.data()), ld);
  return buf.data();
}
// B = X's `rows` rows of `cols` bfloat16 at x (row stride ldx), as pairs of rows: [(rows + 1) / 2, ld], ld = cols
// rounded up to 16.
const uint32_t* pack_rows(const uint16_t* x, int64_t rows, int64_t cols, int64_t ldx, std::vector<uint32_t>& buf, int64_t& ld) {
  ld = (cols + 15) / 16 * 16;
  buf.resize((rows + 1) / 2 * ld);
  att_bf16::pack_rows(x, rows, cols, ldx, buf.data(), ld);
  return buf.data();
}
// A = Xᵀ for dot_gemm from X's `rows` rows of `cols` bfloat16 (row stride ldx): pairs of X's rows, transposed into
// [cols, (rows + 1) / 2] (its row stride).
const uint32_t* pack_transposed_a(const uint16_t* x, int64_t rows, int64_t cols, int64_t ldx, DotScratch& w) {
  const int64_t r2 = (rows + 1) / 2;
  w.tt.resize(r2 * cols);
  att_bf16::pack_rows(x, rows, cols, ldx, w.tt.data(), cols);
  w.t.resize(cols * r2);
  att_bf16::transpose(reinterpret_cast<const float*>(w.tt.data()), r2, cols, cols, reinterpret_cast<float*>(w.t.data()), r2);
  return w.t.data();
}
// w.s's `rows` × n float32 values (P or dS) rounded to bfloat16 operands into w.a, rows padded with a zero to an even
// length; returns it.
const uint16_t* round_padded(int64_t rows, int64_t n, DotScratch& w) {
  const int64_t n2 = (n + 1) / 2 * 2;
  w.a.resize(rows * n2);
  att_bf16::to_bf16(w.s.data(), rows, n, n, w.a.data(), n2, n2);
  return w.a.data();
}
// C = A · B into w.o ([M, N] float32), rounded to bfloat16 at dst (row stride ld) as the float32 blocks round.
void product_to(int64_t M, int64_t N, int64_t K2, const uint32_t* A, int64_t lda, const uint32_t* B, int64_t ldb,
                uint16_t* dst, int64_t ld, DotScratch& w) {
  w.o.resize(M * N);
  att_bf16::dot_gemm(M, N, K2, 1.f, A, lda, B, ldb, w.o.data(), N);
  att_bf16::float_to_bf16(w.o.data(), M, N, dst, ld);
}

// One sample's bytes of a tensor, at base + b · bytes for sample b; read or written by the blocks.
struct Region {
  const void* base;
  int64_t bytes;
  bool write;
};

// The (sample, head) blocks spread over the threads, each computed alone: the same bits on any thread count. Each
// block first prefetches 1/H of the next sample's regions: a block's rows are strided (a head's 128 bytes of each
// 3D-wide row), which the hardware prefetchers follow poorly.
template <typename F>
void dot_each(const Layout& s, std::initializer_list<Region> regions, F each) {
  at::parallel_for(0, s.B * s.H, 1, [&](int64_t begin, int64_t end) {
    DotScratch w;
    for (int64_t i = begin; i < end; i++) {
      const int64_t b = i / s.H, h = i % s.H;
      if (b + 1 < s.B)
        for (const Region& r : regions) {
          const char* next = static_cast<const char*>(r.base) + (b + 1) * r.bytes;
          for (int64_t o = h * r.bytes / s.H; o < (h + 1) * r.bytes / s.H; o += 64)
            r.write ? __builtin_prefetch(next + o, 1, 3) : __builtin_prefetch(next + o, 0, 3);
        }
      each(b, h, w);
    }
  });
}

}  // namespace

void forward_dot(const Layout& s, const c10::BFloat16* q, const c10::BFloat16* kv, c10::BFloat16* probs, c10::BFloat16* out) {
  const float scale = 1.f / std::sqrt(float(s.d));
  const int64_t S2 = (s.S + 1) / 2;
  dot_each(s, {{q, s.L * s.lq * 2, false}, {kv, q == kv ? 0 : s.S * s.lk * 2, false}}, [&](int64_t b, int64_t h, DotScratch& w) {
    const uint16_t* Q = bits(q) + b * s.L * s.lq + s.q0 + h * s.d;
    const uint16_t *K = bits(kv) + b * s.S * s.lk + s.k0 + h * s.d, *V = K - s.k0 + s.v0;
    int64_t ld;
    const uint32_t* kt = pack_transposed(K, s.S, s.d, s.lk, w.b, ld);
    w.s.resize(s.L * s.S);
    att_bf16::dot_gemm(s.L, s.S, s.d / 2, scale, pairs(Q), s.lq / 2, kt, ld, w.s.data(), s.S);
    softmax_rows(w.s.data(), s.L, s.S, 2);
    const uint16_t* P = round_padded(s.L, s.S, w);
    uint16_t* saved = bits(probs) + (b * s.H + h) * s.L * s.S;
    for (int64_t r = 0; r < s.L; r++) std::memcpy(saved + r * s.S, P + r * 2 * S2, s.S * sizeof(uint16_t));
    const uint32_t* vp = pack_rows(V, s.S, s.d, s.lk, w.b, ld);
    product_to(s.L, s.d, S2, pairs(P), S2, vp, ld, bits(out) + b * s.L * s.D() + h * s.d, s.D(), w);
  });
}

void backward_dot(const Layout& s, const c10::BFloat16* q, const c10::BFloat16* kv, const c10::BFloat16* probs,
                  const c10::BFloat16* gy, c10::BFloat16* gq, c10::BFloat16* gkv) {
  const float scale = 1.f / std::sqrt(float(s.d));
  const int64_t L2 = (s.L + 1) / 2, S2 = (s.S + 1) / 2;
  const bool packed = q == kv;
  dot_each(s,
           {{q, s.L * s.lq * 2, false}, {kv, packed ? 0 : s.S * s.lk * 2, false}, {gy, s.L * s.D() * 2, false},
            {probs, s.H * s.L * s.S * 2, false}, {gq, s.L * s.lq * 2, true}, {gkv, packed ? 0 : s.S * s.lk * 2, true}},
           [&](int64_t b, int64_t h, DotScratch& w) {
    const uint16_t* Q = bits(q) + b * s.L * s.lq + s.q0 + h * s.d;
    const uint16_t *K = bits(kv) + b * s.S * s.lk + s.k0 + h * s.d, *V = K - s.k0 + s.v0;
    const uint16_t *G = bits(gy) + b * s.L * s.D() + h * s.d, *P = bits(probs) + (b * s.H + h) * s.L * s.S;
    uint16_t *GQ = bits(gq) + b * s.L * s.lq + s.q0 + h * s.d, *GK = bits(gkv) + b * s.S * s.lk + s.k0 + h * s.d;
    uint16_t* GV = GK - s.k0 + s.v0;
    int64_t ld;
    // dv = Pᵀ dO
    const uint32_t* g = pack_rows(G, s.L, s.d, s.D(), w.b, ld);
    product_to(s.S, s.d, L2, pack_transposed_a(P, s.L, s.S, s.S, w), L2, g, ld, GV, s.lk, w);
    // dS = softmax's backward of dP = dO vᵀ, from P in float32
    const uint32_t* vt = pack_transposed(V, s.S, s.d, s.lk, w.b, ld);
    w.s.resize(s.L * s.S);
    att_bf16::dot_gemm(s.L, s.S, s.d / 2, 1.f, pairs(G), s.D() / 2, vt, ld, w.s.data(), s.S);
    w.p.resize(s.L * s.S);
    att_bf16::bf16_to_float(P, s.L, s.S, s.S, w.p.data());
    softmax_backward_rows(w.p.data(), w.s.data(), s.L, s.S, scale);
    const uint16_t* dS = round_padded(s.L, s.S, w);
    // dq = dS k, dk = dSᵀ q
    const uint32_t* kp = pack_rows(K, s.S, s.d, s.lk, w.b, ld);
    product_to(s.L, s.d, S2, pairs(dS), S2, kp, ld, GQ, s.lq, w);
    const uint32_t* qp = pack_rows(Q, s.L, s.d, s.lq, w.b, ld);
    product_to(s.S, s.d, L2, pack_transposed_a(dS, s.L, s.S, 2 * S2, w), L2, qp, ld, GK, s.lk, w);
  });
}

}  // namespace ats::attn
