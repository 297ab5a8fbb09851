// Exact GELU of a linear layer's output plus its bias, gelu(x + b), as one autograd function on CPU float32 and
// bfloat16 values: the MLP of every ViT and MLP-Mixer block (linear(dim·4) → GELU → linear(dim)) runs its first linear
// without the bias and this after it (LinearGeluFusion picks the pairs from the graph). Unfused, libtorch adds the bias
// in the product's output (a broadcast copy before oneDNN's sgemm in linear.cpp, or inside autocast's bf16 addmm),
// GELU's forward reads and writes the activation, its backward computes erf and exp again for every value, and the
// bias gradient is one more pass over the output gradient. Here the forward pass adds the bias and writes GELU's value
// and its derivative (computed from the same erf and exp); the backward pass multiplies the output gradient by the
// stored derivative and sums it per column for the bias gradient in the same pass. The derivative is kept in float32,
// where libtorch's GELU keeps x itself: the same memory for float32, twice as much for bfloat16.
//
// Numerics: float32 arithmetic throughout (erf as ATen's vectorised one, Abramowitz & Stegun 7.1.26, |error| ≤ 1.5e-7;
// gelu_batchnorm_kernels.h); a bfloat16 result and input gradient are rounded once, to nearest even, as ATen rounds.
// Under autocast the bias stays float32 and is added to the bf16 product (autocast's addmm adds a bf16 bias inside the
// product, then GELU rounds again); the input gradient gy·GELU'(v) is rounded once, as libtorch's bf16 GELU backward
// rounds it; the bias gradient is the float32 sum of the unrounded products (autocast's is a bf16 sum of the rounded
// ones). Each is within a unit or two of bf16's last place of autocast's (tests/ArchDsl.Runtime.Tests/BiasGeluTests.cs).
// The bias gradient is summed in float32 per block of kBlock rows and the blocks in order in double: the same bits at
// any number of threads.
//
// Measured (2026-12-01, AMD EPYC Zen 4, 2 cores under load 11–12; a C++ program on this shim and libtorch, one thread,
// process CPU time, median of 15, three runs; x [6400, 768], the default ViT's fc1 output at batch 128), ms:
//                      this file: forward / backward | libtorch: forward / backward
//   float32            3.7–3.9 / 2.7–2.9             | bias copy + gelu 4.3–4.8 / gelu_backward + bias sum 6.5–10.5
//   bfloat16           4.8 / 1.8                     | gelu 3.1–3.2 (bias inside addmm) / gelu_backward + bias sum 5.4–10.1
// The default ViT's training step (one thread, process CPU time, the fused and unfused IrModel alternating in one
// process): the README's speed section ("MLP bias + GELU").
//
// Measured and not taken (2026-12-01, same kind of harness, one thread, load 3–4): widening bf16 with vpmovzxwd and
// rounding with AVX512_BF16's vcvtneps2bf16 (with the integer path for subnormals and NaN, which it reads as zero and
// keeps the payload of; the same bits) took the bf16 forward 4.6 → 4.1 ms but no step gain above the noise, for one
// more variant that no test here could run without BF16; the derivative kept in bf16 (forward 5.0 ms, backward
// 1.2–1.3, the input gradient rounded twice); v = x + b saved and erf recomputed in the backward (9.0–9.4 ms fwd + bwd
// against 6.2–6.6).
//
// Not taken (at::gelu(x + b) instead, b cast to x's dtype as autocast's addmm would): other devices, other dtypes,
// a bias that is not [C] of float32 or x's dtype, empty tensors. A double backward (create_graph) is refused: the
// backward runs on raw pointers.
#include "shim.h"

#include <torch/csrc/autograd/custom_function.h>

#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,prefer-vector-width=512")
namespace bg_avx512 {
#include "gelu_batchnorm_kernels.h"
#include "bias_gelu_kernels.h"
}
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace bg_avx2 {
#include "gelu_batchnorm_kernels.h"
#include "bias_gelu_kernels.h"
}
#pragma GCC pop_options
namespace bg_base {
#include "gelu_batchnorm_kernels.h"
#include "bias_gelu_kernels.h"
}

using namespace ats;

namespace {

constexpr int64_t kBlock = 256;  // rows per partial bias sum (fixed: the sums' order does not depend on the threads)

// `level`: cpu_vector_level(), read once per op before its parallel_for so that every thread runs the same variant.
#define BG_DISPATCH(fn, ...)                          \
  switch (level) {                                    \
    case 2: return bg_avx512::fn(__VA_ARGS__);        \
    case 1: return bg_avx2::fn(__VA_ARGS__);          \
    default: return bg_base::fn(__VA_ARGS__);         \
  }

template <typename E>
void forward_rows(int level, const E* x, const float* b, int64_t rows, int64_t C, E* y, float* dg) {
  BG_DISPATCH(bg_forward<E>, x, b, rows, C, y, dg)
}
template <typename E>
void backward_rows(int level, const E* gy, const float* dg, int64_t rows, int64_t C, E* gx, float* sums) {
  BG_DISPATCH(bg_backward<E>, gy, dg, rows, C, gx, sums)
}

// bfloat16 as the kernels see it: its 16 bits.
template <typename S>
using Elem = std::conditional_t<std::is_same_v<S, at::BFloat16>, uint16_t, S>;
template <typename S>
Elem<S>* raw(const at::Tensor& t) {
  return reinterpret_cast<Elem<S>*>(t.data_ptr<S>());
}

template <typename S>
void forward_all(const at::Tensor& x, const at::Tensor& b, const at::Tensor& y, const at::Tensor& dg) {
  const int64_t C = x.size(-1), R = x.numel() / C;
  const Elem<S>* xp = raw<S>(x);
  Elem<S>* yp = raw<S>(y);
  float* dp = dg.defined() ? dg.data_ptr<float>() : nullptr;
  const float* bp = b.defined() ? b.data_ptr<float>() : nullptr;
  const int level = cpu_vector_level();
  at::parallel_for(0, R, kBlock, [&](int64_t r0, int64_t r1) {
    forward_rows(level, xp + r0 * C, bp, r1 - r0, C, yp + r0 * C, dp ? dp + r0 * C : nullptr);
  });
}

// gx = gy·dg; with `bias`, also the bias gradient Σ_rows gy·dg (float64 [C]), summed per block of kBlock rows in float
// and the blocks in order in double.
template <typename S>
std::vector<double> backward_all(const at::Tensor& gy, const at::Tensor& dg, const at::Tensor& gx, bool bias) {
  const int64_t C = dg.size(-1), R = dg.numel() / C, blocks = (R + kBlock - 1) / kBlock;
  const Elem<S>* gp = raw<S>(gy);
  const float* dp = dg.data_ptr<float>();
  Elem<S>* xp = raw<S>(gx);
  std::vector<float> part(bias ? static_cast<size_t>(blocks * C) : 0);
  const int level = cpu_vector_level();
  at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t blk = b0; blk < b1; blk++) {
      const int64_t r0 = blk * kBlock, n = std::min(kBlock, R - r0);
      backward_rows(level, gp + r0 * C, dp + r0 * C, n, C, xp + r0 * C, bias ? part.data() + blk * C : nullptr);
    }
  });
  return bias ? ordered_column_sums(part.data(), blocks, C) : std::vector<double>();
}

struct BiasGelu : public torch::autograd::Function<BiasGelu> {
  // x contiguous [..., C] float32 or bfloat16; b float32 [C] or undefined. With `keep` (a backward will follow) GELU's
  // derivative is stored for it; else nothing is.
  // The bias goes in as an optional: an undefined tensor is no autograd input (as in linear.cpp).
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const c10::optional<at::Tensor>& b,
                            bool keep) {
    auto y = at::empty_like(x);
    const auto dg = keep ? at::empty_like(x, x.options().dtype(at::kFloat)) : at::Tensor();
    const auto bias = b.value_or(at::Tensor());
    if (x.scalar_type() == at::kFloat) forward_all<float>(x, bias, y, dg);
    else forward_all<at::BFloat16>(x, bias, y, dg);
    if (keep) ctx->save_for_backward({dg});
    ctx->saved_data["bias"] = b.has_value();
    ctx->saved_data["dtype"] = x.scalar_type();
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    // Raw-pointer products: the gradients would carry no grad_fn (as PyTorch's @once_differentiable, an error instead).
    TORCH_CHECK(!at::GradMode::is_enabled(),
                "bias_gelu: double backward (create_graph=True) is not supported; its backward is not differentiable");
    auto saved = ctx->get_saved_variables();
    TORCH_CHECK(saved.size() == 1, "bias_gelu: backward through a forward run without gradients");
    const auto& dg = saved[0];
    const bool bias = ctx->saved_data["bias"].toBool() && ctx->needs_input_grad(1);
    const auto dtype = ctx->saved_data["dtype"].toScalarType();
    auto gy = grads[0].to(dtype).contiguous();
    auto gx = at::empty_like(dg, dg.options().dtype(dtype));
    const auto sums = dtype == at::kFloat ? backward_all<float>(gy, dg, gx, bias) : backward_all<at::BFloat16>(gy, dg, gx, bias);
    at::Tensor gb;
    if (bias) gb = at::tensor(sums, at::TensorOptions().dtype(at::kDouble)).to(at::kFloat);
    return {ctx->needs_input_grad(0) ? gx : at::Tensor(), gb, at::Tensor()};
  }
};

// Whether the fused kernel takes these: CPU float32 or bfloat16 x [..., C], non-empty, and a float32 bias [C] or none.
bool own_kernel(const at::Tensor& x, const at::Tensor& b) {
  if (!x.device().is_cpu() || x.layout() != at::kStrided || x.is_mkldnn()) return false;
  if ((x.scalar_type() != at::kFloat && x.scalar_type() != at::kBFloat16) || x.dim() < 1 || x.numel() == 0) return false;
  if (!b.defined()) return true;
  return b.device().is_cpu() && b.layout() == at::kStrided && b.scalar_type() == at::kFloat && b.dim() == 1 &&
         b.size(0) == x.size(-1);
}

at::Tensor bias_gelu(const at::Tensor& x, const at::Tensor& b) {
  if (!own_kernel(x, b)) return at::gelu(b.defined() ? x + b.to(x.scalar_type()) : x);
  const bool keep = at::GradMode::is_enabled() && (x.requires_grad() || (b.defined() && b.requires_grad()));
  return BiasGelu::apply(x.contiguous(), b.defined() ? c10::optional<at::Tensor>(b.contiguous()) : c10::nullopt, keep);
}

}  // namespace

// gelu(x + b) with exact GELU, b [C] over the last dim of x [..., C] (or none: gelu(x)); see the top of this file.
ATS_TENSOR_FN(ats_bias_gelu, (T* x, T* b), bias_gelu(*x, b ? *b : at::Tensor()))
