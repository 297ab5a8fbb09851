// Multi-head self-attention over a packed qkv (timm's ViT layout), forward and backward, per (sample, head) block on
// the CPU. libtorch 1.13's math path (what the shim's sdpa spells out) copies q, k and v out of the permuted qkv view
// before each batched product, copies the heads back together after it, and in the backward joins the three gradients
// with a cat; here every block is read in place from qkv (rows of 3D values, the head's d consecutive columns), the
// softmax and its backward run on each block while it is in cache, and the gradients are written straight into one
// [B, N, 3D] tensor. Same values as the math path to float rounding (sums in another order). The bfloat16 blocks on
// AVX512_BF16's dot products are attention_dot.cpp's; what both files share is attention_blocks.h.
//
// The products: float32 and bfloat16 on the shim's own register-blocked kernels (attention_kernels.h) where the
// processor has AVX2 + FMA or AVX-512 — a block's products are 50 × 50 × 64, where a general sgemm spends much of its
// time on set-up and packing; float32 elsewhere on oneDNN's dnnl_sgemm, float64 on cblas_dgemm (Blas below). bfloat16,
// where the processor has AVX512_BF16 at the avx512 level, runs its products on vdpbf16ps (attention_dot.cpp, whose
// header gives its operands, roundings and figures): P and dS rounded to bfloat16 for their products as libtorch's
// bfloat16 math path (torch.autocast's) rounds them, the probabilities saved in bfloat16. Elsewhere bfloat16 computes
// on the float32 kernels: each sample's rows are converted once, the probabilities kept in float32, the output and
// gradients rounded to bfloat16 once.
// A double backward through the blocks is refused in every dtype (see PackedAttention::backward), bfloat16 included.
// Under autocast this replaces the bfloat16 math path, which ran its products on oneDNN's bf16 matmul and its softmax,
// permutes and cat as separate passes. (An earlier try, oneDNN's dnnl_gemm_bf16bf16f32 per block inside
// at::parallel_for, doubled the two-thread step's CPU time; the own kernels are pure computation on one thread each.)
// Each op reads cpu_vector_level() once (forward and backward apart) and passes it down, so every thread of its
// parallel_for runs the same variant even if the cap changes meanwhile.
//
// Measured (2026-12-01, AMD EPYC Zen 4 with AVX512_BF16, 2 cores shared with other work; process CPU time, 1 thread,
// median of 15 repetitions of a harness calling F.packed_attention on a leaf qkv [128, 50, 576], 3 heads of 64,
// backward from a gradient of ones; the shims alternately). Forward + backward of one ViT block:
//   session 9, the float32 blocks against the math path (load 6–12): float32 17.1–17.3 -> 16.0–16.7 ms,
//     bfloat16 (autocast) 23.1–26.5 -> 14.1–14.9 ms;
//   session 10, the dot blocks against the float32 blocks: attention_dot.cpp's header.
// The bfloat16 ViT step, `DOTNET_PROCESSOR_COUNT=1 ./archc bench specs/vit.arch --no-pytorch --batch 128 --warmup 2
// --iterations 8 --amp bf16`, main against the dot blocks, four alternating rounds at load 2.3–2.7: median step
// 585.5–618.8 -> 580.9–586.3 ms, the run's process CPU time 9.16–9.41 -> 8.94–8.99 s; with 2 threads, one round each,
// 371.3 -> 364.8 ms (process CPU time 10.90 -> 10.48 s). perf over the 1-thread run: attention 9.4% -> 6.7% of the
// samples, its products (micro<6, 4> -> dot_micro<6, 4>) 5.4% -> 2.9%; peak memory (VmHWM) 674–690 MiB against
// 679–719 MiB.
#include "attention_blocks.h"
#include "onednn.h"

#include <torch/csrc/autograd/custom_function.h>

#include <dlfcn.h>

#include <algorithm>
#include <cstring>

// The own products once per instruction set; the op's level (cpu_vector_level(), shim.h) picks one.
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

using namespace ats;
using namespace ats::attn;

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
// older processors float32 takes oneDNN's sgemm and bfloat16 the math path. `level`: the op's cpu_vector_level().
bool own_products(int level) { return level >= 1; }

// Whether a float32 product C[M, N] = A[M, K] · B[K, N] runs on the own kernels. They do not block over K: each row
// block of A streams all of B (K × N, a sequence's length × the head width in every product here), which for long
// sequences leaves the core's L2 and is re-read from L3, where dnnl_sgemm blocks. So a B over OwnPanelBytes, 512 KiB
// (2,048 tokens at d = 64; half of Zen 4's 1 MiB L2 per core, leaving room for A's rows and C) goes to dnnl_sgemm where
// oneDNN is loaded. Not a measured crossover (this session's machine was too loaded to time one): a conservative bound,
// far above every ViT here (197 tokens at 224², 577 at 384²), whose 50 × 50 × 64 blocks are where the own kernels were
// measured to pay.
bool own_product(int64_t N, int64_t K, int level) {
  return own_products(level) && (K * N * int64_t(sizeof(float)) <= OwnPanelBytes || blas().s == nullptr);
}

// One product per scalar type, on the variant of `level`.
constexpr int RowMajor = 101, NoTrans = 111, Trans = 112;
void gemm(int level, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float* C, int64_t ldc) {
  if (!own_product(N, K, level)) {
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
      if (level == 2) att_avx512::transpose(B, N, K, ldb, out, ld);
      else att_avx2::transpose(B, N, K, ldb, out, ld);
    } else
      for (int64_t k = 0; k < K; k++) std::memcpy(out + k * ld, B + k * ldb, N * sizeof(float));
    for (int64_t k = 0; k < K; k++) std::fill(out + k * ld + N, out + (k + 1) * ld, 0.f);
    b = out;
  }
  const int64_t am = ta ? 1 : lda, ak = ta ? lda : 1;
  if (level == 2) att_avx512::gemm(M, N, K, alpha, A, am, ak, b, ld, C, ldc);
  else att_avx2::gemm(M, N, K, alpha, A, am, ak, b, ld, C, ldc);
}
void gemm(int, bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t lda,
          const double* B, int64_t ldb, double* C, int64_t ldc) {
  blas().d(RowMajor, ta ? Trans : NoTrans, tb ? Trans : NoTrans, M, N, K, alpha, A, lda, B, ldb, 0.0, C, ldc);
}

// A block's values in the type its products and softmax compute in: float32 for bfloat16, else the stored type.
template <typename S>
using Acc = typename std::conditional<std::is_same<S, c10::BFloat16>::value, float, S>::type;

// `rows` rows of `cols` values at src (row stride ld) as Acc<S>: read in place, or for bfloat16 converted into buf (one
// sample's rows at once: a contiguous pass over memory, where a block's rows would be scattered reads) on the variant
// of `level` (the avx2 one below it: bfloat16 reaches these blocks only where the processor has AVX2).
template <typename S>
struct In {
  const Acc<S>* p;
  int64_t ld;
  In(int level, const S* src, int64_t rows, int64_t cols, int64_t ld_, std::vector<Acc<S>>& buf) : p(nullptr), ld(ld_) {
    if constexpr (!std::is_same<S, c10::BFloat16>::value) p = src;
    else {
      buf.resize(rows * cols);
      const auto* bits = reinterpret_cast<const uint16_t*>(src);
      if (level == 2) att_avx512::bf16_to_float(bits, rows, cols, ld_, buf.data());
      else att_avx2::bf16_to_float(bits, rows, cols, ld_, buf.data());
      p = buf.data(), ld = cols;
    }
  }
};
// `rows` rows of `cols` values to write at dst (row stride ld): written in place, or for bfloat16 into buf, converted
// to dst by flush() (as In, on the variant of `level`).
template <typename S>
struct Out {
  Acc<S>* p;
  int64_t ld;
  S* dst;
  int64_t rows, cols, dld;
  int level;
  Out(int level_, S* dst_, int64_t rows_, int64_t cols_, int64_t ld_, std::vector<Acc<S>>& buf)
      : p(nullptr), ld(ld_), dst(dst_), rows(rows_), cols(cols_), dld(ld_), level(level_) {
    if constexpr (!std::is_same<S, c10::BFloat16>::value) p = dst_;
    else buf.resize(rows * cols), p = buf.data(), ld = cols;
  }
  void flush() const {
    if constexpr (std::is_same<S, c10::BFloat16>::value) {
      auto* bits = reinterpret_cast<uint16_t*>(dst);
      if (level == 2) att_avx512::float_to_bf16(p, rows, cols, bits, dld);
      else att_avx2::float_to_bf16(p, rows, cols, bits, dld);
    }
  }
};

// The softmax per scalar type: float32's on the level's variant (attention_blocks.h), float64's here.
using ats::attn::softmax_rows;
void softmax_rows(double* p, int64_t rows, int64_t n, int) {
  for (int64_t i = 0; i < rows; i++) {
    double* row = p + i * n;
    const double top = *std::max_element(row, row + n);
    double sum = 0;
    for (int64_t j = 0; j < n; j++) sum += (row[j] = std::exp(row[j] - top));
    for (int64_t j = 0; j < n; j++) row[j] /= sum;
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
// = probs v. kv is q's source when packed. level: the op's cpu_vector_level().
template <typename S>
void forward_blocks(int level, const Layout& s, const S* q, const S* kv, Acc<S>* probs, S* out) {
  using A = Acc<S>;
  const A scale = A(1) / std::sqrt(A(s.d));
  const bool packed = q == kv;
  blocks<S>(s, [&](int64_t b, int64_t h0, int64_t h1, Scratch<S>& w) {
    const In<S> Q(level, q + b * s.L * s.lq, s.L, s.lq, s.lq, w.q);
    const In<S> KV = packed ? Q : In<S>(level, kv + b * s.S * s.lk, s.S, s.lk, s.lk, w.kv);
    const Out<S> O(level, out + b * s.L * s.D(), s.L, s.D(), s.D(), w.gq);
    for (int64_t h = h0; h < h1; h++) {
      A* p = probs + (b * s.H + h) * s.L * s.S;
      gemm(level, false, true, s.L, s.S, s.d, scale, Q.p + s.q0 + h * s.d, Q.ld, KV.p + s.k0 + h * s.d, KV.ld, p, s.S);
      softmax_rows(p, s.L, s.S, level);
      gemm(level, false, false, s.L, s.d, s.S, A(1), p, s.S, KV.p + s.v0 + h * s.d, KV.ld, O.p + h * s.d, O.ld);
    }
    O.flush();
  });
}

// Backward of every block from gy [B, L, D]: dv = Pᵀ dO, dS = softmax's backward of dP = dO vᵀ, dq = dS k, dk = dSᵀ q —
// dq into gq (laid out as q's source), dk and dv into gkv (as kv's; gkv is gq when packed).
template <typename S>
void backward_blocks(int level, const Layout& s, const S* q, const S* kv, const Acc<S>* probs, const S* gy, S* gq, S* gkv) {
  using A = Acc<S>;
  const A scale = A(1) / std::sqrt(A(s.d));
  const bool packed = q == kv;
  blocks<S>(s, [&](int64_t b, int64_t h0, int64_t h1, Scratch<S>& w) {
    A* dp = w.dp.data();
    const In<S> Q(level, q + b * s.L * s.lq, s.L, s.lq, s.lq, w.q);
    const In<S> KV = packed ? Q : In<S>(level, kv + b * s.S * s.lk, s.S, s.lk, s.lk, w.kv);
    const In<S> G(level, gy + b * s.L * s.D(), s.L, s.D(), s.D(), w.g);
    const Out<S> GQ(level, gq + b * s.L * s.lq, s.L, s.lq, s.lq, w.gq);
    const Out<S> GKV = packed ? GQ : Out<S>(level, gkv + b * s.S * s.lk, s.S, s.lk, s.lk, w.gkv);
    for (int64_t h = h0; h < h1; h++) {
      const A* p = probs + (b * s.H + h) * s.L * s.S;
      const A *Gh = G.p + h * s.d, *Qh = Q.p + s.q0 + h * s.d, *Kh = KV.p + s.k0 + h * s.d, *Vh = KV.p + s.v0 + h * s.d;
      gemm(level, true, false, s.S, s.d, s.L, A(1), p, s.S, Gh, G.ld, GKV.p + s.v0 + h * s.d, GKV.ld);
      gemm(level, false, true, s.L, s.S, s.d, A(1), Gh, G.ld, Vh, KV.ld, dp, s.S);
      softmax_backward_rows(p, dp, s.L, s.S, scale);
      gemm(level, false, false, s.L, s.d, s.S, A(1), dp, s.S, Kh, KV.ld, GQ.p + s.q0 + h * s.d, GQ.ld);
      gemm(level, true, false, s.S, s.d, s.L, A(1), dp, s.S, Qh, Q.ld, GKV.p + s.k0 + h * s.d, GKV.ld);
    }
    GQ.flush();
    if (!packed) GKV.flush();
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
    const int level = cpu_vector_level();
    const bool bf16 = q.scalar_type() == at::kBFloat16, dot = bf16 && dot_blocks(s, {&q, &kv}, level);
    // bfloat16's probabilities: bfloat16 on the dot products, else float32, as its float32 blocks compute.
    auto probs = at::empty({s.B, s.H, s.L, s.S}, q.options().dtype(bf16 && !dot ? at::kFloat : q.scalar_type()));
    if (dot)
      forward_dot(s, q.data_ptr<c10::BFloat16>(), k.data_ptr<c10::BFloat16>(), probs.data_ptr<c10::BFloat16>(),
                  out.data_ptr<c10::BFloat16>());
    else AT_DISPATCH_FLOATING_TYPES_AND(at::kBFloat16, q.scalar_type(), "packed_attention", [&] {
      forward_blocks<scalar_t>(level, s, q.data_ptr<scalar_t>(), k.data_ptr<scalar_t>(), probs.data_ptr<Acc<scalar_t>>(),
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
    const int level = cpu_vector_level();
    const bool dot = saved[2].scalar_type() == at::kBFloat16 && dot_blocks(s, {&q, &kv, &gy}, level);
    const at::Tensor probs = saved[2].scalar_type() == at::kBFloat16 && !dot ? saved[2].to(at::kFloat) : saved[2];
    if (dot)
      backward_dot(s, q.data_ptr<c10::BFloat16>(), k.data_ptr<c10::BFloat16>(), probs.data_ptr<c10::BFloat16>(),
                   gy.data_ptr<c10::BFloat16>(), gq.data_ptr<c10::BFloat16>(), gkv.data_ptr<c10::BFloat16>());
    else AT_DISPATCH_FLOATING_TYPES_AND(at::kBFloat16, q.scalar_type(), "packed_attention_backward", [&] {
      backward_blocks<scalar_t>(level, s, q.data_ptr<scalar_t>(), k.data_ptr<scalar_t>(), probs.data_ptr<Acc<scalar_t>>(),
                                gy.data_ptr<scalar_t>(), gq.data_ptr<scalar_t>(), gkv.data_ptr<scalar_t>());
    });
    return {gq, kv.defined() ? gkv : at::Tensor(), at::Tensor()};
  }
};

bool has_gemm(at::ScalarType t) {
  const int level = cpu_vector_level();
  if (t == at::kBFloat16) return own_products(level);
  return t == at::kFloat ? own_products(level) || blas().s != nullptr : t == at::kDouble && blas().d != nullptr;
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
ATS_API int ats_packed_attention_own_product(int64_t n, int64_t k) { return own_product(n, k, cpu_vector_level()) ? 1 : 0; }

// 1 where bfloat16 blocks of an even head width run on AVX512_BF16's dot products now (cpu_bf16_dot), else 0; -1 with
// the error when ARCHDSL_CPU_CAPABILITY names no level.
ATS_API int ats_packed_attention_bfloat16_dot() {
  ATS_TRY return cpu_bf16_dot() ? 1 : 0;
  ATS_CATCH(-1)
}
