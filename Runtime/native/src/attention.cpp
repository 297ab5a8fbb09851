// Multi-head self-attention over a packed qkv (timm's ViT layout), forward and backward, per (sample, head) block on
// the CPU. libtorch 1.13's math path (what the shim's sdpa spells out) copies q, k and v out of the permuted qkv view
// before each batched product, copies the heads back together after it, and in the backward joins the three gradients
// with a cat; here every block is read in place from qkv (rows of 3D values, the head's d consecutive columns), the
// softmax and its backward run on each block while it is in cache, and the gradients are written straight into one
// [B, N, 3D] tensor. Same values as the math path to float rounding (sums in another order). Over 400 lines: the
// float32/float64 blocks, the bfloat16 dot blocks and the autograd Function share the layout, softmax and dispatch
// here; split, they would need a private header of their own.
//
// The products: float32 and bfloat16 on the shim's own register-blocked kernels (attention_kernels.h) where the
// processor has AVX2 + FMA or AVX-512 — a block's products are 50 × 50 × 64, where a general sgemm spends much of its
// time on set-up and packing; float32 elsewhere on oneDNN's dnnl_sgemm, float64 on cblas_dgemm (Blas below). bfloat16,
// where the processor has AVX512_BF16 at the avx512 level (cpu_bf16_dot, core.cpp), runs its products on vdpbf16ps
// (attention_dot_kernels.h; the dot blocks below): q, k, v and dO read in place as bfloat16 pairs, sums in float32, the
// softmax and its backward in float32, P and dS rounded to bfloat16 for their products as libtorch's bfloat16 math path
// (torch.autocast's) rounds them, and the probabilities saved in bfloat16 — B·H·N²·2 bytes, at ViT-B/16's shape (224²,
// N = 197, 12 heads) and batch 128 119 MB per layer rather than float32's 238 MB (the backward's dv product takes them
// in bfloat16, so float32 ones would add memory and a rounding pass, not accuracy). Elsewhere bfloat16 computes on the
// float32 kernels: each sample's rows are converted once, the probabilities kept in float32, the output and gradients
// rounded to bfloat16 once.
// A double backward through the blocks is refused in every dtype (see PackedAttention::backward), bfloat16 included.
// Under autocast this replaces the bfloat16 math path, which ran its products on oneDNN's bf16 matmul and its softmax,
// permutes and cat as separate passes. (An earlier try, oneDNN's dnnl_gemm_bf16bf16f32 per block inside
// at::parallel_for, doubled the two-thread step's CPU time; the own kernels are pure computation on one thread each.)
//
// Measured (2026-12-01, AMD EPYC Zen 4 with AVX512_BF16, 2 cores shared with other work; process CPU time, 1 thread,
// median of 15 repetitions of a harness calling F.packed_attention on a leaf qkv [128, 50, 576], 3 heads of 64,
// backward from a gradient of ones; the shims alternately). Forward + backward of one ViT block:
//   session 9, the float32 blocks against the math path (load 6–12): float32 17.1–17.3 -> 16.0–16.7 ms,
//     bfloat16 (autocast) 23.1–26.5 -> 14.1–14.9 ms;
//   session 10, the dot blocks against the float32 blocks (main at 99d0cb9, load ~2, three rounds): bfloat16
//     13.4–13.7 -> 10.1–10.5 ms.
// The bfloat16 ViT step, `DOTNET_PROCESSOR_COUNT=1 ./archc bench specs/vit.arch --no-pytorch --batch 128 --warmup 2
// --iterations 8 --amp bf16`, main against the dot blocks, four alternating rounds at load 2.3–2.7: median step
// 585.5–618.8 -> 580.9–586.3 ms, the run's process CPU time 9.16–9.41 -> 8.94–8.99 s; with 2 threads, one round each,
// 371.3 -> 364.8 ms (process CPU time 10.90 -> 10.48 s). perf over the 1-thread run: attention 9.4% -> 6.7% of the
// samples, its products (micro<6, 4> -> dot_micro<6, 4>) 5.4% -> 2.9%; peak memory (VmHWM) 674–690 MiB against
// 679–719 MiB.
#include "shim.h"
#include "onednn.h"

#include <torch/csrc/autograd/custom_function.h>

#include <dlfcn.h>

#include <immintrin.h>

#include <algorithm>
#include <cstring>

// The own products once per instruction set; cpu_vector_level() (shim.h) picks one (see own_products below).
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,prefer-vector-width=512")
namespace att_avx512 {
#define ROWS 6
#include "attention_kernels.h"
#undef ROWS
}  // namespace att_avx512
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace att_avx2 {
#define ROWS 1
#include "attention_kernels.h"
#undef ROWS
}  // namespace att_avx2
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512bw,avx512dq,avx512bf16,avx2,fma,prefer-vector-width=512")
namespace att_bf16 {
#include "attention_dot_kernels.h"
}  // namespace att_bf16
#pragma GCC pop_options

using namespace ats;

namespace {

// Row-major products C[M, N] = alpha · op(A) · op(B) (beta 0) from the libraries libtorch loaded (RTLD_NOLOAD); null
// where absent. They run inside at::parallel_for's (GNU OpenMP) workers, so each must stay on its own thread: Debian's
// OpenBLAS 0.3.21 pthread build wakes its own pool from inside a worker for M·N·K > 65536·4 (no omp_in_parallel() check),
// so float32 takes oneDNN's dnnl_sgemm (sequential inside an OpenMP region, as in linear.cpp); float64, which oneDNN
// lacks, keeps cblas_dgemm and runs its samples on one thread (`blocks`), so there is one level of threads.
using dgemm_t = void (*)(int, int, int, int, int, int, double, const double*, int, const double*, int, double, double*, int);

void* symbol(const char* library, const char* name) {
  void* lib = dlopen(library, RTLD_LAZY | RTLD_NOLOAD);
  return lib ? dlsym(lib, name) : nullptr;
}
struct Blas {
  dnnl_sgemm_t s = onednn_sgemm();
  dgemm_t d = reinterpret_cast<dgemm_t>(symbol("libblas.so.3", "cblas_dgemm"));
};
const Blas& blas() {
  static const Blas b;
  return b;
}

// The shim's own register-blocked products (attention_kernels.h) where the processor has AVX2 with FMA or AVX-512; on
// older processors float32 takes oneDNN's sgemm and bfloat16 the math path.
bool own_products() { return cpu_vector_level() >= 1; }

// Whether a float32 product C[M, N] = A[M, K] · B[K, N] runs on the own kernels. They do not block over K: each row block
// of A streams all of B (K × N, a sequence's length × the head width in every product here), which for long sequences
// leaves the core's L2 and is re-read from L3, where dnnl_sgemm blocks. So a B over 512 KiB (2,048 tokens at d = 64; half
// of Zen 4's 1 MiB L2 per core, leaving room for A's rows and C) goes to dnnl_sgemm where oneDNN is loaded. Not a
// measured crossover (this session's machine was too loaded to time one): a conservative bound, far above every ViT
// here (197 tokens at 224², 577 at 384²), whose 50 × 50 × 64 blocks are where the own kernels were measured to pay.
constexpr int64_t OwnPanelBytes = 512 * 1024;
bool own_product(int64_t N, int64_t K) {
  return own_products() && (K * N * int64_t(sizeof(float)) <= OwnPanelBytes || blas().s == nullptr);
}

// One product per scalar type.
constexpr int RowMajor = 101, NoTrans = 111, Trans = 112;
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const float* B,
          int64_t ldb, float* C, int64_t ldc) {
  if (!own_product(N, K)) {
    const int status = blas().s(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb, 0.f, C, ldc);
    TORCH_CHECK(status == 0, "packed attention: oneDNN sgemm failed with status ", status);
    return;
  }
  // The own products read B as rows of whole 16-float vectors: a transposed B, or one whose rows end inside a vector,
  // is first copied into a [K, N rounded up to 16] buffer with zeros after column N.
  const float* b = B;
  int64_t ld = ldb;
  if (tb || N % 16 != 0) {
    static thread_local std::vector<float> packed;
    ld = (N + 15) / 16 * 16;
    packed.resize(K * ld);
    float* out = packed.data();
    if (tb) {
      if (cpu_vector_level() == 2) att_avx512::transpose(B, N, K, ldb, out, ld);
      else att_avx2::transpose(B, N, K, ldb, out, ld);
    } else
      for (int64_t k = 0; k < K; k++) std::memcpy(out + k * ld, B + k * ldb, N * sizeof(float));
    for (int64_t k = 0; k < K; k++) std::fill(out + k * ld + N, out + (k + 1) * ld, 0.f);
    b = out;
  }
  const int64_t am = ta ? 1 : lda, ak = ta ? lda : 1;
  if (cpu_vector_level() == 2) att_avx512::gemm(M, N, K, alpha, A, am, ak, b, ld, C, ldc);
  else att_avx2::gemm(M, N, K, alpha, A, am, ak, b, ld, C, ldc);
}
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t lda, const double* B,
          int64_t ldb, double* C, int64_t ldc) {
  blas().d(RowMajor, ta ? Trans : NoTrans, tb ? Trans : NoTrans, M, N, K, alpha, A, lda, B, ldb, 0.0, C, ldc);
}

// A block's values in the type its products and softmax compute in: float32 for bfloat16, else the stored type.
template <typename S>
using Acc = typename std::conditional<std::is_same<S, c10::BFloat16>::value, float, S>::type;

// `rows` rows of `cols` values at src (row stride ld) as Acc<S>: read in place, or for bfloat16 converted into buf (one
// sample's rows at once: a contiguous pass over memory, where a block's rows would be scattered reads).
template <typename S>
struct In {
  const Acc<S>* p;
  int64_t ld;
  In(const S* src, int64_t rows, int64_t cols, int64_t ld_, std::vector<Acc<S>>& buf) : p(nullptr), ld(ld_) {
    if constexpr (!std::is_same<S, c10::BFloat16>::value) p = src;
    else {
      buf.resize(rows * cols);
      const auto* bits = reinterpret_cast<const uint16_t*>(src);
      if (cpu_vector_level() == 2) att_avx512::bf16_to_float(bits, rows, cols, ld_, buf.data());
      else att_avx2::bf16_to_float(bits, rows, cols, ld_, buf.data());
      p = buf.data(), ld = cols;
    }
  }
};
// `rows` rows of `cols` values to write at dst (row stride ld): written in place, or for bfloat16 into buf, converted
// to dst by flush().
template <typename S>
struct Out {
  Acc<S>* p;
  int64_t ld;
  S* dst;
  int64_t rows, cols, dld;
  Out(S* dst_, int64_t rows_, int64_t cols_, int64_t ld_, std::vector<Acc<S>>& buf)
      : p(nullptr), ld(ld_), dst(dst_), rows(rows_), cols(cols_), dld(ld_) {
    if constexpr (!std::is_same<S, c10::BFloat16>::value) p = dst_;
    else buf.resize(rows * cols), p = buf.data(), ld = cols;
  }
  void flush() const {
    if constexpr (std::is_same<S, c10::BFloat16>::value) {
      auto* bits = reinterpret_cast<uint16_t*>(dst);
      if (cpu_vector_level() == 2) att_avx512::float_to_bf16(p, rows, cols, bits, dld);
      else att_avx2::float_to_bf16(p, rows, cols, bits, dld);
    }
  }
};

// Where q, k and v of a block are: q rows of the query source (row stride lq), k and v rows of the key source (row
// stride lk), the columns of head h at h·d from q0, k0 and v0.
struct Layout {
  int64_t B, L, S, H, d, lq, lk, q0, k0, v0;
  int64_t D() const { return H * d; }
};

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
void softmax_avx512(float* p, int64_t rows, int64_t n) { softmax_body(p, rows, n); }
__attribute__((target("avx2,fma"))) void softmax_avx2(float* p, int64_t rows, int64_t n) { softmax_body(p, rows, n); }
void softmax_rows(float* p, int64_t rows, int64_t n) {
  const int level = cpu_vector_level();
  return level == 2 ? softmax_avx512(p, rows, n) : level == 1 ? softmax_avx2(p, rows, n) : softmax_body(p, rows, n);
}
void softmax_rows(double* p, int64_t rows, int64_t n) {
  for (int64_t i = 0; i < rows; i++) {
    double* row = p + i * n;
    const double top = *std::max_element(row, row + n);
    double sum = 0;
    for (int64_t j = 0; j < n; j++) sum += (row[j] = std::exp(row[j] - top));
    for (int64_t j = 0; j < n; j++) row[j] /= sum;
  }
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

// A thread's buffers: the L × S block of score gradients, and bfloat16's sample rows converted to float32 (In, Out).
template <typename S>
struct Scratch {
  std::vector<Acc<S>> dp, q, kv, g, gq, gkv;
};

// `each(b, h0, h1, scratch)` for the heads [h0, h1) of sample b, every (sample, head) once, spread over the threads
// (float64: one thread, its OpenBLAS product may thread; see Blas), with one Scratch per thread. Whole samples, or for
// float32 with fewer samples than threads (batch-1 inference) single (sample, head) blocks, so that no thread idles;
// bfloat16 keeps whole samples, as it converts and rounds a sample's rows at once (In, Out). Each block is computed
// alone by the same calls either way, so the results are the same bits on any thread count.
template <typename S>
bool per_head(const Layout& s) {
  return std::is_same<S, float>::value && s.H > 1 && s.B < at::get_num_threads();
}
template <typename S, typename F>
void blocks(const Layout& s, F each) {
  const bool heads = per_head<S>(s);
  const int64_t n = heads ? s.B * s.H : s.B;
  const int64_t grain = std::is_same<S, double>::value ? std::max<int64_t>(1, n) : 1;
  at::parallel_for(0, n, grain, [&](int64_t begin, int64_t end) {
    Scratch<S> scratch;
    scratch.dp.resize(s.L * s.S);
    for (int64_t i = begin; i < end; i++)
      if (heads) each(i / s.H, i % s.H, i % s.H + 1, scratch);
      else each(i, int64_t(0), s.H, scratch);
  });
}

// Forward of every block: probs [B, H, L, S] (kept for the backward) = softmax(q kᵀ / √d), out [B, L, D] (heads merged)
// = probs v. kv is q's source when packed.
template <typename S>
void forward_blocks(const Layout& s, const S* q, const S* kv, Acc<S>* probs, S* out) {
  using A = Acc<S>;
  const A scale = A(1) / std::sqrt(A(s.d));
  const bool packed = q == kv;
  blocks<S>(s, [&](int64_t b, int64_t h0, int64_t h1, Scratch<S>& w) {
    const In<S> Q(q + b * s.L * s.lq, s.L, s.lq, s.lq, w.q);
    const In<S> KV = packed ? Q : In<S>(kv + b * s.S * s.lk, s.S, s.lk, s.lk, w.kv);
    const Out<S> O(out + b * s.L * s.D(), s.L, s.D(), s.D(), w.gq);
    for (int64_t h = h0; h < h1; h++) {
      A* p = probs + (b * s.H + h) * s.L * s.S;
      gemm(false, true, s.L, s.S, s.d, scale, Q.p + s.q0 + h * s.d, Q.ld, KV.p + s.k0 + h * s.d, KV.ld, p, s.S);
      softmax_rows(p, s.L, s.S);
      gemm(false, false, s.L, s.d, s.S, A(1), p, s.S, KV.p + s.v0 + h * s.d, KV.ld, O.p + h * s.d, O.ld);
    }
    O.flush();
  });
}

// Backward of every block from gy [B, L, D]: dv = Pᵀ dO, dS = softmax's backward of dP = dO vᵀ, dq = dS k, dk = dSᵀ q —
// dq into gq (laid out as q's source), dk and dv into gkv (as kv's; gkv is gq when packed).
template <typename S>
void backward_blocks(const Layout& s, const S* q, const S* kv, const Acc<S>* probs, const S* gy, S* gq, S* gkv) {
  using A = Acc<S>;
  const A scale = A(1) / std::sqrt(A(s.d));
  const bool packed = q == kv;
  blocks<S>(s, [&](int64_t b, int64_t h0, int64_t h1, Scratch<S>& w) {
    A* dp = w.dp.data();
    const In<S> Q(q + b * s.L * s.lq, s.L, s.lq, s.lq, w.q);
    const In<S> KV = packed ? Q : In<S>(kv + b * s.S * s.lk, s.S, s.lk, s.lk, w.kv);
    const In<S> G(gy + b * s.L * s.D(), s.L, s.D(), s.D(), w.g);
    const Out<S> GQ(gq + b * s.L * s.lq, s.L, s.lq, s.lq, w.gq);
    const Out<S> GKV = packed ? GQ : Out<S>(gkv + b * s.S * s.lk, s.S, s.lk, s.lk, w.gkv);
    for (int64_t h = h0; h < h1; h++) {
      const A* p = probs + (b * s.H + h) * s.L * s.S;
      const A *Gh = G.p + h * s.d, *Qh = Q.p + s.q0 + h * s.d, *Kh = KV.p + s.k0 + h * s.d, *Vh = KV.p + s.v0 + h * s.d;
      gemm(true, false, s.S, s.d, s.L, A(1), p, s.S, Gh, G.ld, GKV.p + s.v0 + h * s.d, GKV.ld);
      gemm(false, true, s.L, s.S, s.d, A(1), Gh, G.ld, Vh, KV.ld, dp, s.S);
      softmax_backward_rows(p, dp, s.L, s.S, scale);
      gemm(false, false, s.L, s.d, s.S, A(1), dp, s.S, Kh, KV.ld, GQ.p + s.q0 + h * s.d, GQ.ld);
      gemm(true, false, s.S, s.d, s.L, A(1), dp, s.S, Qh, Q.ld, GKV.p + s.k0 + h * s.d, GKV.ld);
    }
    GQ.flush();
    if (!packed) GKV.flush();
  });
}

// ---- bfloat16 blocks on AVX512_BF16's dot products (attention_dot_kernels.h) ----------------------------------------
// q, k, v and dO are read as bfloat16 in place; P and dS are computed in float32 and rounded to bfloat16 for their
// products, as libtorch's bfloat16 math path (torch.autocast's) rounds its softmax and softmax-backward outputs; every
// product sums in float32, and its result is rounded to bfloat16 once. The probabilities are saved in bfloat16.

// Whether the blocks of s take the dot products: the processor has them at the level in effect, the head width is even
// (so every block's rows start on a bfloat16 pair) and B stays within the own kernels' panel (own_product).
// Pairs are read as 32-bit words, so the tensors must start on one (a view at an odd offset takes the float32 blocks).
bool dot_blocks(const Layout& s, std::initializer_list<const at::Tensor*> tensors) {
  for (const at::Tensor* t : tensors)
    if (t->defined() && reinterpret_cast<uintptr_t>(t->data_ptr()) % 4 != 0) return false;
  return cpu_bf16_dot() && s.d % 2 == 0 && std::max(s.L, s.S) * s.d * int64_t(sizeof(uint16_t)) <= OwnPanelBytes;
}

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
  att_avx512::transpose(reinterpret_cast<const float*>(x), rows, cols / 2, ldx / 2, reinterpret_cast<float*>(buf.data()), ld);
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
  att_avx512::transpose(reinterpret_cast<const float*>(w.tt.data()), r2, cols, cols, reinterpret_cast<float*>(w.t.data()), r2);
  return w.t.data();
}
// w.s's `rows` × n float32 values rounded to bfloat16 into w.a, rows padded with a zero to an even length; returns it.
const uint16_t* round_padded(int64_t rows, int64_t n, DotScratch& w) {
  const int64_t n2 = (n + 1) / 2 * 2;
  w.a.resize(rows * n2);
  att_bf16::to_bf16(w.s.data(), rows, n, n, w.a.data(), n2, n2);
  return w.a.data();
}
// C = A · B into w.o ([M, N] float32), rounded to bfloat16 at dst (row stride ld).
void product_to(int64_t M, int64_t N, int64_t K2, const uint32_t* A, int64_t lda, const uint32_t* B, int64_t ldb,
                uint16_t* dst, int64_t ld, DotScratch& w) {
  w.o.resize(M * N);
  att_bf16::dot_gemm(M, N, K2, 1.f, A, lda, B, ldb, w.o.data(), N);
  att_bf16::to_bf16(w.o.data(), M, N, N, dst, ld, N);
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

// forward_blocks for bfloat16 on the dot products; probs [B, H, L, S] in bfloat16.
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
    softmax_rows(w.s.data(), s.L, s.S);
    const uint16_t* P = round_padded(s.L, s.S, w);
    uint16_t* saved = bits(probs) + (b * s.H + h) * s.L * s.S;
    for (int64_t r = 0; r < s.L; r++) std::memcpy(saved + r * s.S, P + r * 2 * S2, s.S * sizeof(uint16_t));
    const uint32_t* vp = pack_rows(V, s.S, s.d, s.lk, w.b, ld);
    product_to(s.L, s.d, S2, pairs(P), S2, vp, ld, bits(out) + b * s.L * s.D() + h * s.d, s.D(), w);
  });
}

// backward_blocks for bfloat16 on the dot products, from bfloat16 probs.
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
    att_avx512::bf16_to_float(P, s.L, s.S, s.S, w.p.data());
    softmax_backward_rows(w.p.data(), w.s.data(), s.L, s.S, scale);
    const uint16_t* dS = round_padded(s.L, s.S, w);
    // dq = dS k, dk = dSᵀ q
    const uint32_t* kp = pack_rows(K, s.S, s.d, s.lk, w.b, ld);
    product_to(s.L, s.d, S2, pairs(dS), S2, kp, ld, GQ, s.lq, w);
    const uint32_t* qp = pack_rows(Q, s.L, s.d, s.lq, w.b, ld);
    product_to(s.S, s.d, L2, pack_transposed_a(dS, s.L, s.S, 2 * S2, w), L2, qp, ld, GK, s.lk, w);
  });
}

// The layout of (qsrc, kv): packed, kv undefined and qsrc [B, N, 3D] (q, k, v in that order); or qsrc [B, L, D] and
// kv [B, S, 2D] (k, v).
Layout layout(const at::Tensor& qsrc, const at::Tensor& kv, int64_t heads) {
  Layout s{};
  s.B = qsrc.size(0), s.L = qsrc.size(1), s.H = heads;
  if (!kv.defined()) {
    s.S = s.L, s.lq = s.lk = qsrc.size(2), s.d = s.lq / 3 / heads;
    s.q0 = 0, s.k0 = s.d * heads, s.v0 = 2 * s.d * heads;
  } else {
    s.S = kv.size(1), s.lq = qsrc.size(2), s.lk = kv.size(2), s.d = s.lq / heads;
    s.q0 = 0, s.k0 = 0, s.v0 = s.d * heads;
  }
  return s;
}

// The blocks (above), recorded for autograd with their own backward; the softmax probabilities are kept for it.
struct PackedAttention : public torch::autograd::Function<PackedAttention> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& qsrc, const c10::optional<at::Tensor>& kv_opt,
                            int64_t heads) {
    const at::Tensor kv = kv_opt.has_value() ? kv_opt->contiguous() : at::Tensor();
    const Layout s = layout(qsrc, kv, heads);
    auto q = qsrc.contiguous();
    const auto& k = kv.defined() ? kv : q;
    auto out = at::empty({s.B, s.L, s.D()}, q.options());
    const bool bf16 = q.scalar_type() == at::kBFloat16, dot = bf16 && dot_blocks(s, {&q, &kv});
    // bfloat16's probabilities: bfloat16 on the dot products, else float32, as its float32 blocks compute.
    auto probs = at::empty({s.B, s.H, s.L, s.S}, q.options().dtype(bf16 && !dot ? at::kFloat : q.scalar_type()));
    if (dot)
      forward_dot(s, q.data_ptr<c10::BFloat16>(), k.data_ptr<c10::BFloat16>(), probs.data_ptr<c10::BFloat16>(),
                  out.data_ptr<c10::BFloat16>());
    else AT_DISPATCH_FLOATING_TYPES_AND(at::kBFloat16, q.scalar_type(), "packed_attention", [&] {
      forward_blocks<scalar_t>(s, q.data_ptr<scalar_t>(), k.data_ptr<scalar_t>(), probs.data_ptr<Acc<scalar_t>>(),
                               out.data_ptr<scalar_t>());
    });
    ctx->save_for_backward({q, kv, probs});
    ctx->saved_data["heads"] = heads;
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    // Raw-pointer products: the gradients would carry no grad_fn (as PyTorch's @once_differentiable, an error instead).
    TORCH_CHECK(!at::GradMode::is_enabled(),
                "packed attention: double backward (create_graph=True) is not supported; its backward is not differentiable");
    auto saved = ctx->get_saved_variables();
    const at::Tensor &q = saved[0], &kv = saved[1];
    const Layout s = layout(q, kv, ctx->saved_data["heads"].toInt());
    const auto& k = kv.defined() ? kv : q;
    auto gy = grads[0].to(q.scalar_type()).contiguous();
    auto gq = at::empty_like(q);
    auto gkv = kv.defined() ? at::empty_like(kv) : gq;
    // bfloat16 probabilities come from the dot products; where they are off now (the level was capped since the
    // forward), the float32 blocks take them in float32.
    const bool dot = saved[2].scalar_type() == at::kBFloat16 && dot_blocks(s, {&q, &kv, &gy});
    const at::Tensor probs = saved[2].scalar_type() == at::kBFloat16 && !dot ? saved[2].to(at::kFloat) : saved[2];
    if (dot)
      backward_dot(s, q.data_ptr<c10::BFloat16>(), k.data_ptr<c10::BFloat16>(), probs.data_ptr<c10::BFloat16>(),
                   gy.data_ptr<c10::BFloat16>(), gq.data_ptr<c10::BFloat16>(), gkv.data_ptr<c10::BFloat16>());
    else AT_DISPATCH_FLOATING_TYPES_AND(at::kBFloat16, q.scalar_type(), "packed_attention_backward", [&] {
      backward_blocks<scalar_t>(s, q.data_ptr<scalar_t>(), k.data_ptr<scalar_t>(), probs.data_ptr<Acc<scalar_t>>(),
                                gy.data_ptr<scalar_t>(), gq.data_ptr<scalar_t>(), gkv.data_ptr<scalar_t>());
    });
    return {gq, kv.defined() ? gkv : at::Tensor(), at::Tensor()};
  }
};

bool has_gemm(at::ScalarType t) {
  if (t == at::kBFloat16) return own_products();
  return t == at::kFloat ? own_products() || blas().s != nullptr : t == at::kDouble && blas().d != nullptr;
}

// libtorch's own ops for what the blocks compute, where they do not apply (another device or dtype, no BLAS found).
at::Tensor math(const at::Tensor& qsrc, const at::Tensor& kv, const Layout& s) {
  auto split = [&](const at::Tensor& t, int64_t parts, int64_t rows) {
    return t.reshape({s.B, rows, parts, s.H, s.d}).permute({2, 0, 3, 1, 4}).unbind(0);  // [B, H, rows, d] each
  };
  auto qs = kv.defined() ? split(qsrc, 1, s.L) : split(qsrc, 3, s.L);
  auto kvs = kv.defined() ? split(kv, 2, s.S) : std::vector<at::Tensor>{qs[1], qs[2]};
  auto attn = at::softmax(at::matmul(qs[0], kvs[0].transpose(-2, -1)) / std::sqrt((double)s.d), -1);
  return at::matmul(attn, kvs[1]).transpose(1, 2).reshape({s.B, s.L, s.D()});
}

at::Tensor packed_attention(const at::Tensor& qsrc, const at::Tensor& kv, int64_t heads) {
  TORCH_CHECK(qsrc.dim() == 3 && (!kv.defined() || kv.dim() == 3), "packed attention: expected [B, N, C] inputs, got ",
              qsrc.sizes(), kv.defined() ? " and " : "", kv.defined() ? kv.sizes() : at::IntArrayRef());
  TORCH_CHECK(heads > 0, "packed attention: heads must be positive, got ", heads);
  const int64_t parts = kv.defined() ? 1 : 3;
  TORCH_CHECK(qsrc.size(2) % (parts * heads) == 0, "packed attention: the last dim of ", qsrc.sizes(), " is not ", parts,
              " × heads (", heads, ") × head width");
  if (kv.defined())
    TORCH_CHECK(kv.size(0) == qsrc.size(0) && kv.size(2) == 2 * qsrc.size(2), "packed attention: keys and values ", kv.sizes(),
                " do not match queries ", qsrc.sizes(), " (expected [B, S, 2·", qsrc.size(2), "])");
  const Layout s = layout(qsrc, kv, heads);
  const bool own = qsrc.device().is_cpu() && has_gemm(qsrc.scalar_type()) && s.L > 0 && s.S > 0 && s.d > 0 &&
                   (!kv.defined() || (kv.device().is_cpu() && kv.scalar_type() == qsrc.scalar_type()));
  if (!own) return math(qsrc, kv, s);
  return PackedAttention::apply(qsrc, kv.defined() ? c10::optional<at::Tensor>(kv) : c10::nullopt, heads);
}

}  // namespace

// softmax(q kᵀ / √d) v per head, heads merged: [B, L, heads·d]. Packed (kv null): qkv [B, N, 3·heads·d], q, k and v in
// that order, each split into heads of d consecutive features (timm's ViT Attention). Else q [B, L, heads·d] and kv
// [B, S, 2·heads·d] (k, then v).
ATS_TENSOR_FN(ats_packed_attention, (T* q, T* kv, int64_t heads), packed_attention(*q, kv ? *kv : at::Tensor(), heads))

// 1 where packed attention on a CPU tensor of this dtype runs on the shim's own blocks (its BLAS product was found), else 0.
ATS_API int ats_packed_attention_kernel(int dtype_code) { return has_gemm(dtype(dtype_code)) ? 1 : 0; }

// 1 where the blocks' float32 product with B [k, n] runs on the shim's own kernels, 0 where on oneDNN's sgemm (own_product).
ATS_API int ats_packed_attention_own_product(int64_t n, int64_t k) { return own_product(n, k) ? 1 : 0; }

// 1 where bfloat16 blocks of an even head width run on AVX512_BF16's dot products now (cpu_bf16_dot), else 0; -1 with
// the error when ARCHDSL_CPU_CAPABILITY names no level.
ATS_API int ats_packed_attention_bfloat16_dot() {
  ATS_TRY return cpu_bf16_dot() ? 1 : 0;
  ATS_CATCH(-1)
}
