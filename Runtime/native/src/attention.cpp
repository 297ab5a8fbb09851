// Multi-head self-attention over a packed qkv (timm's ViT layout), forward and backward, per (sample, head) block on
// the CPU. libtorch 1.13's math path (what the shim's sdpa spells out) copies q, k and v out of the permuted qkv view
// before each batched product, copies the heads back together after it, and in the backward joins the three gradients
// with a cat; here every block is read in place from qkv (rows of 3D values, the head's d consecutive columns), the
// products are BLAS calls on those strided rows (float32: oneDNN's dnnl_sgemm, float64: cblas_dgemm, from the libraries
// libtorch loaded; see Blas below for why), the softmax and
// its backward run on each block while it is in cache, and the gradients are written straight into one [B, N, 3D]
// tensor. Same values as the math path to float rounding (sums in another order). bfloat16 stays on the math path: with
// oneDNN's dnnl_gemm_bf16bf16f32 for the products, one thread was faster (ViT step 688 -> 643 ms CPU) but two threads
// doubled the whole bf16 step's CPU time (687-1013 -> 1545-1595 ms, 2 threads, load 8-12), so it is not used.
#include "shim.h"
#include "onednn.h"

#include <torch/csrc/autograd/custom_function.h>

#include <dlfcn.h>

#include <algorithm>

using namespace ats;

namespace {

// Row-major products C[M, N] = alpha · op(A) · op(B) (beta 0), found at run time in the libraries libtorch itself loaded
// (RTLD_NOLOAD); null where absent. The products run inside at::parallel_for's workers (GNU OpenMP in Debian's libtorch),
// so each must stay on its own thread. Debian's libblas.so.3 / libopenblas.so.0 here is OpenBLAS 0.3.21's pthread build
// (openblas-pthread/), whose gemm takes one thread only for M·N·K ≤ 65536·4 and otherwise wakes its own pool from
// inside each worker — it has no omp_in_parallel() check (that is in its OpenMP build only); a ViT block of 197 tokens
// and d = 64 is 2.5M. So float32 goes to oneDNN's dnnl_sgemm (as F.linear's, linear.cpp), which runs sequentially
// inside an OpenMP parallel region (oneDNN's dnnl_get_current_num_threads() is 1 where omp_in_parallel()); float64,
// which oneDNN lacks, keeps cblas_dgemm and runs its blocks on one thread (`blocks`), so there is one level of threads.
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

// One product per scalar type.
constexpr int RowMajor = 101, NoTrans = 111, Trans = 112;
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const float* B,
          int64_t ldb, float* C, int64_t ldc) {
  const int status = blas().s(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb, 0.f, C, ldc);
  TORCH_CHECK(status == 0, "packed attention: oneDNN sgemm failed with status ", status);
}
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t lda, const double* B,
          int64_t ldb, double* C, int64_t ldc) {
  blas().d(RowMajor, ta ? Trans : NoTrans, tb ? Trans : NoTrans, M, N, K, alpha, A, lda, B, ldb, 0.0, C, ldc);
}
// Where q, k and v of a block are: q rows of the query source (row stride lq), k and v rows of the key source (row
// stride lk), the columns of head h at h·d from q0, k0 and v0.
struct Layout {
  int64_t B, L, S, H, d, lq, lk, q0, k0, v0;
  int64_t D() const { return H * d; }
  int64_t q(int64_t bh) const { return bh / H * L * lq + bh % H * d + q0; }
  int64_t k(int64_t bh) const { return bh / H * S * lk + bh % H * d + k0; }
  int64_t v(int64_t bh) const { return bh / H * S * lk + bh % H * d + v0; }
  int64_t o(int64_t bh) const { return bh / H * L * D() + bh % H * d; }  // in [B, L, D]
};

// exp(x) for x ≤ 0 in float32, in straight-line code the compiler vectorises (Cephes' expf: x = n·ln 2 + r with
// |r| ≤ ln 2 / 2, a degree-7 polynomial for e^r, 2ⁿ through the exponent bits; within 2 ulp). Below −87.3 it gives
// e^−87.3 ≈ 1.2e−38 rather than a denormal or 0, which changes no softmax beyond float rounding.
inline float exp_nonpositive(float x) {
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
inline float sum16(const float* row, int64_t n) {
  float part[16] = {};
  int64_t j = 0;
  for (; j + 16 <= n; j += 16)
    for (int l = 0; l < 16; l++) part[l] += row[j + l];
  float total = 0;
  for (; j < n; j++) total += row[j];
  for (int l = 0; l < 16; l++) total += part[l];
  return total;
}

// Each of `rows` rows of n scores replaced by its softmax (max subtracted first, as at::softmax).
__attribute__((target_clones("avx512f", "avx2", "default")))
void softmax_rows(float* p, int64_t rows, int64_t n) {
  for (int64_t i = 0; i < rows; i++) {
    float* row = p + i * n;
    float top = row[0];
    for (int64_t j = 1; j < n; j++) top = row[j] > top ? row[j] : top;
    for (int64_t j = 0; j < n; j++) row[j] = exp_nonpositive(row[j] - top);
    const float inv = 1.f / sum16(row, n);
    for (int64_t j = 0; j < n; j++) row[j] *= inv;
  }
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

// `each(bh, scratch)` for every (sample, head) block, spread over the threads (float64: one thread, its OpenBLAS product
// may thread; see Blas), with an L × S scratch block per thread.
template <typename S, typename F>
void blocks(const Layout& s, F each) {
  const int64_t grain = std::is_same<S, float>::value ? 1 : std::max<int64_t>(1, s.B * s.H);
  at::parallel_for(0, s.B * s.H, grain, [&](int64_t begin, int64_t end) {
    std::vector<S> scratch(s.L * s.S);
    for (int64_t bh = begin; bh < end; bh++) each(bh, scratch.data());
  });
}

// Forward of every block: probs [B, H, L, S] (kept for the backward) = softmax(q kᵀ / √d), out [B, L, D] (heads merged)
// = probs v.
template <typename S>
void forward_blocks(const Layout& s, const S* q, const S* kv, S* probs, S* out) {
  const S scale = S(1) / std::sqrt(S(s.d));
  blocks<S>(s, [&](int64_t bh, S*) {
    S* p = probs + bh * s.L * s.S;
    gemm(false, true, s.L, s.S, s.d, scale, q + s.q(bh), s.lq, kv + s.k(bh), s.lk, p, s.S);
    softmax_rows(p, s.L, s.S);
    gemm(false, false, s.L, s.d, s.S, S(1), p, s.S, kv + s.v(bh), s.lk, out + s.o(bh), s.D());
  });
}

// Backward of every block from gy [B, L, D]: dv = Pᵀ dO, dS = softmax's backward of dP = dO vᵀ, dq = dS k, dk = dSᵀ q —
// dq into gq (laid out as q's source), dk and dv into gkv (as kv's).
template <typename S>
void backward_blocks(const Layout& s, const S* q, const S* kv, const S* probs, const S* gy, S* gq, S* gkv) {
  const S scale = S(1) / std::sqrt(S(s.d));
  blocks<S>(s, [&](int64_t bh, S* dp) {
    const S* p = probs + bh * s.L * s.S;
    const S* G = gy + s.o(bh);
    gemm(true, false, s.S, s.d, s.L, S(1), p, s.S, G, s.D(), gkv + s.v(bh), s.lk);
    gemm(false, true, s.L, s.S, s.d, S(1), G, s.D(), kv + s.v(bh), s.lk, dp, s.S);
    softmax_backward_rows(p, dp, s.L, s.S, scale);
    gemm(false, false, s.L, s.d, s.S, S(1), dp, s.S, kv + s.k(bh), s.lk, gq + s.q(bh), s.lq);
    gemm(true, false, s.S, s.d, s.L, S(1), dp, s.S, q + s.q(bh), s.lq, gkv + s.k(bh), s.lk);
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
    auto probs = at::empty({s.B, s.H, s.L, s.S}, q.options());
    AT_DISPATCH_FLOATING_TYPES(q.scalar_type(), "packed_attention", [&] {
      forward_blocks<scalar_t>(s, q.data_ptr<scalar_t>(), k.data_ptr<scalar_t>(), probs.data_ptr<scalar_t>(),
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
    const at::Tensor &q = saved[0], &kv = saved[1], &probs = saved[2];
    const Layout s = layout(q, kv, ctx->saved_data["heads"].toInt());
    const auto& k = kv.defined() ? kv : q;
    auto gy = grads[0].contiguous();
    auto gq = at::empty_like(q);
    auto gkv = kv.defined() ? at::empty_like(kv) : gq;
    AT_DISPATCH_FLOATING_TYPES(q.scalar_type(), "packed_attention_backward", [&] {
      backward_blocks<scalar_t>(s, q.data_ptr<scalar_t>(), k.data_ptr<scalar_t>(), probs.data_ptr<scalar_t>(),
                                gy.data_ptr<scalar_t>(), gq.data_ptr<scalar_t>(), gkv.data_ptr<scalar_t>());
    });
    return {gq, kv.defined() ? gkv : at::Tensor(), at::Tensor()};
  }
};

bool has_gemm(at::ScalarType t) {
  return t == at::kFloat ? blas().s != nullptr : t == at::kDouble && blas().d != nullptr;  // bfloat16: see the top
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
