// Exact GELU followed by batch normalization, batch_norm(gelu(x)), in one autograd function on CPU values whose channels
// are the fastest-moving dimension (a channels-last [N, C, H, W] image, or rows [R, C]): the sequence every ConvMixer
// layer runs. Unfused, libtorch 1.13 reads and writes the whole activation six times forward (GELU: read, write; the
// statistics: two reads; normalising: read, write) and eight times backward. Here, when a backward will follow, the first
// pass reads x and writes GELU's value and derivative while summing the statistics, the second normalises the value;
// backward reads them and the output gradient for the two sums, then once more to write the input gradient, and computes
// no GELU (GELU costs ~2 ms per 3.2M values on one core, about as much as a pass over memory). Without gradients both
// passes read x and compute GELU, and nothing is stored. Measured on [128, 128, 14, 14] float32, one thread, CPU time
// (AMD EPYC Zen 4, under load; commit d02b702): forward 3.9 ms and backward 3.8 ms here against libtorch's 4.2 and 8.9 ms
// (GELU on the NHWC view, then batch_norm).
//
// With a residual (ats_gelu_batch_norm_add: a ConvMixer block's token mixer and its residual sum), the normalising pass
// also reads it and writes y + res, so the sum costs one read instead of a separate add's two reads and a write; its
// gradient is y's, passed on as an add's backward does. Default ConvMixer training step, two models (sum folded in or not)
// alternating in one .NET process, median of 10 steps each (2026-12-01, load ~10): 1 thread, process CPU time, 0.962 and
// 0.974 of the step without it (492 against 512 ms, 503 against 516 ms); 2 threads, wall time, 0.918.
//
// Training: batch statistics (mean, biased variance) normalise; the caller updates the running ones. Eval: the running
// statistics normalise. The sums run per block of kBlock rows and are added in block order in double, so the result
// does not depend on the number of threads. float32 runs on the vector kernels (gelu_batchnorm_kernels.h), float64 on
// scalar code with std::erfc.
#include "shim.h"

#include <torch/csrc/autograd/custom_function.h>

#include <cmath>
#include <vector>

#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,prefer-vector-width=512")
namespace gbn_avx512 {
#include "gelu_batchnorm_kernels.h"
}
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace gbn_avx2 {
#include "gelu_batchnorm_kernels.h"
}
#pragma GCC pop_options
namespace gbn_base {
#include "gelu_batchnorm_kernels.h"
}

using namespace ats;

namespace {

constexpr int64_t kBlock = 256;  // rows per partial sum (fixed: the sums' order does not depend on the threads)

// ---- the kernels per element type: float32 on the vector code for the processor, float64 scalar ---------------------
// `level`: cpu_vector_level(), read once per op before its parallel_for so that every thread runs the same variant.

#define GBN_DISPATCH(fn, ...)                                         \
  switch (level) {                                                    \
    case 2: return gbn_avx512::fn(__VA_ARGS__);                       \
    case 1: return gbn_avx2::fn(__VA_ARGS__);                         \
    default: return gbn_base::fn(__VA_ARGS__);                       \
  }

inline double gelu_cdf(double x) { return 0.5 * std::erfc(-x * M_SQRT1_2); }
inline double gelu_pdf(double x) { return std::exp(-0.5 * x * x) * 0.39894228040143267794; }

void stats(int level, const float* x, int64_t rows, int64_t C, const float* shift, float* s1, float* s2, float* g,
           float* dg) {
  GBN_DISPATCH(gbn_stats, x, rows, C, shift, s1, s2, g, dg)
}
void stats(int, const double* x, int64_t rows, int64_t C, const double* shift, double* s1, double* s2, double* g,
           double* dg) {
  std::fill(s1, s1 + C, 0.0);
  std::fill(s2, s2 + C, 0.0);
  for (int64_t i = 0; i < rows * C; i++) {
    const int64_t c = i % C;
    const double v = x[i], cdf = gelu_cdf(v), d = v * cdf - shift[c];
    if (g) {
      g[i] = v * cdf;
      dg[i] = cdf + v * gelu_pdf(v);
    }
    s1[c] += d;
    s2[c] += d * d;
  }
}

void normalize(int level, const float* x, int64_t rows, int64_t C, const float* scale, const float* bias, float* y,
               bool gelu, const float* res = nullptr) {
  GBN_DISPATCH(gbn_normalize, x, rows, C, scale, bias, y, gelu, res)
}
void normalize(int, const double* x, int64_t rows, int64_t C, const double* scale, const double* bias, double* y, bool gelu,
               const double* res = nullptr) {
  for (int64_t i = 0; i < rows * C; i++) {
    const double v = gelu ? x[i] * gelu_cdf(x[i]) : x[i];
    y[i] = v * scale[i % C] + bias[i % C] + (res ? res[i] : 0.0);
  }
}

void backward_rows(int level, const float* g, const float* dg, const float* gy, int64_t rows, int64_t C, const float* mean,
                   const float* invstd, float* s1, float* s2, const float* k, const float* a, const float* b, float* dx) {
  GBN_DISPATCH(gbn_backward, g, dg, gy, rows, C, mean, invstd, s1, s2, k, a, b, dx)
}
void backward_rows(int, const double* g, const double* dg, const double* gy, int64_t rows, int64_t C, const double* mean,
                   const double* invstd, double* s1, double* s2, const double* k, const double* a, const double* b, double* dx) {
  if (!dx) {
    std::fill(s1, s1 + C, 0.0);
    std::fill(s2, s2 + C, 0.0);
  }
  for (int64_t i = 0; i < rows * C; i++) {
    const int64_t c = i % C;
    const double xh = (g[i] - mean[c]) * invstd[c];
    if (dx) {
      dx[i] = (k[c] * gy[i] - a[c] - xh * b[c]) * dg[i];
    } else {
      s1[c] += gy[i];
      s2[c] += gy[i] * xh;
    }
  }
}

// ---- passes over the whole tensor -------------------------------------------------------------------------------------

int64_t channels(const at::Tensor& x) { return x.size(1); }
int64_t rows(const at::Tensor& x) { return x.numel() / channels(x); }

// Per-channel sums of `block_sums` over all rows: each block of kBlock rows is summed by `block_sums(begin, count, s1, s2)`
// into S, the blocks' sums are added in block order in double.
template <typename S, typename F>
std::pair<std::vector<double>, std::vector<double>> sum_blocks(int64_t R, int64_t C, F block_sums) {
  const int64_t blocks = (R + kBlock - 1) / kBlock;
  std::vector<S> part(static_cast<size_t>(blocks * 2 * C));
  at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; b++) {
      const int64_t begin = b * kBlock;
      block_sums(begin, std::min(kBlock, R - begin), part.data() + b * 2 * C, part.data() + b * 2 * C + C);
    }
  });
  const std::vector<double> both = ordered_column_sums(part.data(), blocks, 2 * C);  // each block's row: s1, then s2
  return {std::vector<double>(both.begin(), both.begin() + C), std::vector<double>(both.begin() + C, both.end())};
}

at::Tensor per_channel(const std::vector<double>& v, const at::Tensor& like) {
  return at::tensor(v, at::TensorOptions().dtype(at::kDouble)).to(like.scalar_type());
}

// One pass over x: GELU's value and derivative into g and dg unless those are undefined, and (training) the batch mean
// and biased variance of GELU(x) per channel (float64 [C] each; undefined in eval). level: cpu_vector_level().
template <typename S>
std::pair<at::Tensor, at::Tensor> gelu_pass(int level, const at::Tensor& x, const at::Tensor& g, const at::Tensor& dg,
                                            bool training) {
  const int64_t C = channels(x), R = rows(x);
  const S* xp = x.data_ptr<S>();
  S* gp = g.defined() ? g.data_ptr<S>() : nullptr;
  S* dp = g.defined() ? dg.data_ptr<S>() : nullptr;
  // the shift: GELU of the first row, near each channel's mean
  std::vector<S> one(C, S(1)), zero(C, S(0)), shift(C);
  normalize(level, xp, 1, C, one.data(), zero.data(), shift.data(), true);
  if (!training) {
    if (gp) {
      at::parallel_for(0, R, kBlock, [&](int64_t r0, int64_t r1) {
        std::vector<S> sums(2 * C);  // not wanted in eval
        stats(level, xp + r0 * C, r1 - r0, C, shift.data(), sums.data(), sums.data() + C, gp + r0 * C, dp + r0 * C);
      });
    }
    return {};
  }
  auto sums = sum_blocks<S>(R, C, [&](int64_t begin, int64_t count, S* s1, S* s2) {
    stats(level, xp + begin * C, count, C, shift.data(), s1, s2, gp ? gp + begin * C : nullptr, dp ? dp + begin * C : nullptr);
  });
  std::vector<double> mean(C), var(C);
  for (int64_t c = 0; c < C; c++) {
    const double d = sums.first[c] / R;
    mean[c] = shift[c] + d;
    var[c] = std::max(0.0, sums.second[c] / R - d * d);
  }
  auto opt = at::TensorOptions().dtype(at::kDouble);
  return {at::tensor(mean, opt), at::tensor(var, opt)};
}

// y = v·w·invstd + (b − mean·w·invstd) (+ res, unless undefined) with v = GELU(x) (`gelu`) or v = x, in x's layout.
template <typename S>
at::Tensor normalized(int level, const at::Tensor& x, bool gelu, const at::Tensor& w, const at::Tensor& b,
                      const at::Tensor& mean, const at::Tensor& invstd, const at::Tensor& res) {
  const int64_t C = channels(x), R = rows(x);
  auto scale = (w.to(at::kDouble) * invstd.to(at::kDouble));
  auto shift = (b.to(at::kDouble) - mean.to(at::kDouble) * scale).to(x.scalar_type());
  scale = scale.to(x.scalar_type());
  auto y = at::empty_like(x);
  const S *xp = x.data_ptr<S>(), *sp = scale.data_ptr<S>(), *hp = shift.data_ptr<S>();
  S* yp = y.data_ptr<S>();
  const S* rp = res.defined() ? res.data_ptr<S>() : nullptr;
  at::parallel_for(0, R, kBlock, [&](int64_t r0, int64_t r1) {
    normalize(level, xp + r0 * C, r1 - r0, C, sp, hp, yp + r0 * C, gelu, rp ? rp + r0 * C : nullptr);
  });
  return y;
}

struct GeluBatchNorm : public torch::autograd::Function<GeluBatchNorm> {
  // Returns {y, batch mean, batch biased variance} (the last two float64 and not differentiable; only in training).
  // res: a residual added to y in the normalising pass (its gradient is y's). mean_in/var_in: the running statistics, read in eval only. With `keep` (a backward will follow) GELU's value and
  // derivative are stored in the first pass and the second normalises the stored value; else both passes compute GELU.
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w,
                                                const at::Tensor& b, const at::Tensor& mean_in, const at::Tensor& var_in,
                                                const c10::optional<at::Tensor>& res, bool training, double eps, bool keep) {
    at::Tensor mean, var, y;
    const auto g = keep ? at::empty_like(x) : at::Tensor(), dg = keep ? at::empty_like(x) : at::Tensor();
    const int level = cpu_vector_level();
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "gelu_batch_norm", [&] {
      if (training || keep) std::tie(mean, var) = gelu_pass<scalar_t>(level, x, g, dg, training);
      const auto m = training ? mean : mean_in.to(at::kDouble, false, true);  // a copy: the running ones change later
      const auto invstd = ((training ? var : var_in.to(at::kDouble)) + eps).rsqrt();
      const auto r = res.value_or(at::Tensor());
      y = keep ? normalized<scalar_t>(level, g, false, w, b, m, invstd, r)
               : normalized<scalar_t>(level, x, true, w, b, m, invstd, r);
      if (keep) ctx->save_for_backward({g, dg, w, m.to(x.scalar_type()), invstd.to(x.scalar_type())});
    });
    ctx->saved_data["training"] = training;
    ctx->saved_data["res"] = res.has_value();
    if (!training) return {y};
    ctx->mark_non_differentiable({mean, var});
    return {y, mean, var};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    // Raw-pointer sums: the gradients would carry no grad_fn (as PyTorch's @once_differentiable, an error instead).
    TORCH_CHECK(!at::GradMode::is_enabled(),
                "gelu_batch_norm: double backward (create_graph=True) is not supported; its backward is not differentiable");
    auto saved = ctx->get_saved_variables();
    TORCH_CHECK(saved.size() == 5, "gelu_batch_norm: backward through a forward run without gradients");
    const auto &g = saved[0], &dg = saved[1], &w = saved[2], &mean = saved[3], &invstd = saved[4];
    const bool training = ctx->saved_data["training"].toBool();
    const int64_t C = channels(g), R = rows(g);
    auto gy = grads[0].contiguous(g.suggest_memory_format());
    at::Tensor gx, gw, gb;
    const int level = cpu_vector_level();
    AT_DISPATCH_FLOATING_TYPES(g.scalar_type(), "gelu_batch_norm_backward", [&] {
      const scalar_t *gp = g.data_ptr<scalar_t>(), *dp = dg.data_ptr<scalar_t>(), *yp = gy.data_ptr<scalar_t>(),
                     *mp = mean.data_ptr<scalar_t>(), *ip = invstd.data_ptr<scalar_t>();
      auto sums = sum_blocks<scalar_t>(R, C, [&](int64_t begin, int64_t count, scalar_t* s1, scalar_t* s2) {
        backward_rows(level, gp + begin * C, dp + begin * C, yp + begin * C, count, C, mp, ip, s1, s2, nullptr, nullptr, nullptr,
                      nullptr);
      });
      gb = per_channel(sums.first, w);
      gw = per_channel(sums.second, w);
      if (!ctx->needs_input_grad(0)) return;
      // dx = GELU'(x)·w·invstd·(gy − Σgy/R − x̂·Σgy·x̂/R); in eval the statistics are constants: dx = GELU'(x)·w·invstd·gy
      std::vector<scalar_t> k(C), a(C, 0), bc(C, 0);
      const auto wd = w.to(at::kDouble).contiguous();
      const double* wp = wd.data_ptr<double>();
      for (int64_t c = 0; c < C; c++) {
        const double kc = wp[c] * ip[c];
        k[c] = static_cast<scalar_t>(kc);
        if (training) {
          a[c] = static_cast<scalar_t>(kc * sums.first[c] / R);
          bc[c] = static_cast<scalar_t>(kc * sums.second[c] / R);
        }
      }
      gx = at::empty_like(g);
      scalar_t* xp = gx.data_ptr<scalar_t>();
      at::parallel_for(0, R, kBlock, [&](int64_t r0, int64_t r1) {
        backward_rows(level, gp + r0 * C, dp + r0 * C, yp + r0 * C, r1 - r0, C, mp, ip, nullptr, nullptr, k.data(), a.data(),
                      bc.data(), xp + r0 * C);
      });
    });
    // The residual's gradient is y's own (d(y + res)/d res = 1), as an add's backward passes it on.
    const auto gres = ctx->saved_data["res"].toBool() && ctx->needs_input_grad(5) ? grads[0] : at::Tensor();
    return {gx, gw, gb, at::Tensor(), at::Tensor(), gres, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// Whether the fused kernel takes these: CPU float32/float64 x, channels-last [N, C, H, W] or contiguous [R, C], weight and
// bias [C] and running statistics [C] of x's dtype, and in training more than one value per channel.
bool own_kernel(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, const at::Tensor& rm, const at::Tensor& rv, bool training) {
  if (!x.device().is_cpu() || (x.scalar_type() != at::kFloat && x.scalar_type() != at::kDouble)) return false;
  if (!(x.dim() == 4 && x.is_contiguous(at::MemoryFormat::ChannelsLast)) && !(x.dim() == 2 && x.is_contiguous())) return false;
  if (x.numel() == 0 || (training && rows(x) < 2)) return false;
  for (const auto* t : {&w, &b, &rm, &rv})
    if (!t->defined() || !t->device().is_cpu() || t->scalar_type() != x.scalar_type() || t->dim() != 1 || t->size(0) != x.size(1))
      return false;
  return true;
}

// Whether the normalising pass takes the residual `res` (undefined: none): a CPU tensor of x's dtype, sizes and layout.
bool own_residual(const at::Tensor& x, const at::Tensor& res) {
  if (!res.defined()) return true;
  if (!res.device().is_cpu() || res.scalar_type() != x.scalar_type() || res.sizes() != x.sizes()) return false;
  return x.dim() == 4 ? res.is_contiguous(at::MemoryFormat::ChannelsLast) : res.is_contiguous();
}

// batch_norm(gelu(x)) (+ res, unless undefined).
at::Tensor gelu_batch_norm(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, const at::Tensor& rm, const at::Tensor& rv,
                           bool training, double momentum, double eps, const at::Tensor& res) {
  if (!own_kernel(x, w, b, rm, rv, training)) {
    auto y = at::batch_norm(at::gelu(x), w, b, rm, rv, training, momentum, eps, true);
    return res.defined() ? y + res : y;
  }
  if (!own_residual(x, res)) return gelu_batch_norm(x, w, b, rm, rv, training, momentum, eps, at::Tensor()) + res;
  const bool keep = at::GradMode::is_enabled() &&
                    (x.requires_grad() || w.requires_grad() || b.requires_grad() || (res.defined() && res.requires_grad()));
  const auto r = res.defined() ? c10::optional<at::Tensor>(res) : c10::nullopt;
  auto out = GeluBatchNorm::apply(x, w.contiguous(), b.contiguous(), rm, rv, r, training, eps, keep);
  if (training) {
    // PyTorch's update (batch_norm_cpu_update_stats_template): running = momentum·batch + (1 − momentum)·running,
    // the variance unbiased (× R/(R − 1)).
    at::NoGradGuard no_grad;
    const double R = static_cast<double>(rows(x));
    rm.copy_(out[1] * momentum + rm.to(at::kDouble) * (1 - momentum));
    rv.copy_(out[2] * (momentum * R / (R - 1)) + rv.to(at::kDouble) * (1 - momentum));
  }
  return out[0];
}

}  // namespace

// batch_norm(gelu(x), …) with exact GELU (see the top of this file). Where the fused kernel does not take the values
// (own_kernel) it is at::batch_norm(at::gelu(x), …) itself, which also reports every bad input.
ATS_TENSOR_FN(ats_gelu_batch_norm, (T* x, T* w, T* b, T* rm, T* rv, int training, double momentum, double eps),
              gelu_batch_norm(*x, w ? *w : at::Tensor(), b ? *b : at::Tensor(), rm ? *rm : at::Tensor(), rv ? *rv : at::Tensor(),
                              training != 0, momentum, eps, at::Tensor()))
// batch_norm(gelu(x), …) + res, the residual sum added in the normalising pass (a ConvMixer block's token mixer and its
// residual); its gradient is the output's. Where the pass does not take res (own_residual: another dtype, shape or layout),
// the sum is a separate add; where the fused kernel does not take x, both are libtorch's ops.
ATS_TENSOR_FN(ats_gelu_batch_norm_add, (T* x, T* w, T* b, T* rm, T* rv, T* res, int training, double momentum, double eps),
              gelu_batch_norm(*x, w ? *w : at::Tensor(), b ? *b : at::Tensor(), rm ? *rm : at::Tensor(), rv ? *rv : at::Tensor(),
                              training != 0, momentum, eps, *res))
