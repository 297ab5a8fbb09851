// Depthwise 2-D convolution (groups = channels, one filter per channel) on channels-last CPU tensors, forward and
// backward, with the shim's own kernels (depthwise_kernels.h). libtorch 1.13 sends this convolution to oneDNN, whose
// backward is slow for it: on the default ConvMixer's [128, 128, 14, 14] with 5×5 filters, one thread, CPU time,
// oneDNN's backward (input and weight gradients, no bias) takes 27.6–28.7 ms and its forward 3.3–3.6 ms, against
// 6.5 ms and 3.0 ms (with the bias) here. Same values to float rounding (the sums run in another order). The same bits on
// any number of threads: the output and input gradient split rows over the threads, each row computed whole by one; the
// weight and bias gradients are per-sample partials (one thread each) added up over the samples in order (ordered_column_sums).
#include "shim.h"

#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <vector>

// The kernels once per instruction set; cpu_vector_level() (shim.h) picks one: the widest the processor has, or the cap.
// Each op reads the level once, before its parallel_for, so that every thread of it runs the same variant.
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,prefer-vector-width=512")
namespace dw_avx512 {
#include "depthwise_kernels.h"
}
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace dw_avx2 {
#include "depthwise_kernels.h"
}
#pragma GCC pop_options
namespace dw_base {
#include "depthwise_kernels.h"
}

using namespace ats;

namespace {

template <typename S>
void conv_rows(int level, const S* x, const S* taps, const S* bias, S* out, int64_t Hi, int64_t Wi, int64_t Wo, int64_t C,
               int64_t K, int64_t pad, int64_t h0, int64_t h1) {
  switch (level) {
    case 2: return dw_avx512::conv_rows(x, taps, bias, out, Hi, Wi, Wo, C, K, pad, h0, h1);
    case 1: return dw_avx2::conv_rows(x, taps, bias, out, Hi, Wi, Wo, C, K, pad, h0, h1);
    default: return dw_base::conv_rows(x, taps, bias, out, Hi, Wi, Wo, C, K, pad, h0, h1);
  }
}

template <typename S>
void wgrad_plane(int level, const S* x, const S* gy, S* gw, S* gb, int64_t Hi, int64_t Wi, int64_t Ho, int64_t Wo, int64_t C,
                 int64_t K, int64_t pad) {
  switch (level) {
    case 2: return dw_avx512::wgrad_plane(x, gy, gw, gb, Hi, Wi, Ho, Wo, C, K, pad);
    case 1: return dw_avx2::wgrad_plane(x, gy, gw, gb, Hi, Wi, Ho, Wo, C, K, pad);
    default: return dw_base::wgrad_plane(x, gy, gw, gb, Hi, Wi, Ho, Wo, C, K, pad);
  }
}

// Taps [K][K][C] from a weight [C, 1, K, K], flipped in both directions for the input gradient (a stride-1
// convolution's input gradient is the output gradient convolved with the flipped filters, padded K − 1 − pad).
at::Tensor taps(const at::Tensor& w, bool flipped) {
  auto k = w.reshape({w.size(0), w.size(2) * w.size(3)});
  if (flipped) k = k.flip({1});
  return k.t().contiguous();
}

// out = depthwise conv of x (channels-last [N, C, Hi, Wi]) with taps [K][K][C] and `bias` (or none), `pad` each side.
at::Tensor conv(const at::Tensor& x, const at::Tensor& taps, const at::Tensor& bias, int64_t K, int64_t pad) {
  const int64_t N = x.size(0), C = x.size(1), Hi = x.size(2), Wi = x.size(3);
  const int64_t Ho = Hi + 2 * pad - K + 1, Wo = Wi + 2 * pad - K + 1;
  auto xc = x.contiguous(at::MemoryFormat::ChannelsLast);
  auto out = at::empty({N, C, Ho, Wo}, x.options().memory_format(at::MemoryFormat::ChannelsLast));
  const int level = cpu_vector_level();
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "depthwise_conv2d", [&] {
    const scalar_t* xp = xc.data_ptr<scalar_t>();
    const scalar_t* tp = taps.data_ptr<scalar_t>();
    const scalar_t* bp = bias.defined() ? bias.data_ptr<scalar_t>() : nullptr;
    scalar_t* op = out.data_ptr<scalar_t>();
    // rows of every sample, so that a small batch still spreads over the threads
    at::parallel_for(0, N * Ho, 1, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end;) {
        const int64_t n = r / Ho, h0 = r % Ho, h1 = std::min(Ho, h0 + (end - r));
        conv_rows(level, xp + n * Hi * Wi * C, tp, bp, op + n * Ho * Wo * C, Hi, Wi, Wo, C, K, pad, h0, h1);
        r += h1 - h0;
      }
    });
  });
  return out;
}

// The per-sample partials are added by ordered_column_sums (shim.h: in sample order, in double, rounded once to S), not
// libtorch 1.13's sum(0), which did not keep the bits across thread counts: under ATEN_CPU_CAPABILITY=avx512 its 1- and
// 2-thread sums of a [32, 2496] differ in 48 columns (its AVX-512 code sums a 64-wide column group in another order than
// the 16-wide vectors left over, and 2 threads split the columns at 1,248 = 19·64 + 32). Precision: float32 is summed
// in double, where sum(0) summed in float32 (in a cascade); float64 in double in order, an error bound of
// (N − 1)·2⁻⁵³·Σₙ|part[n][j]| against the cascade's smaller one. Cost on [128, 3328] (a default ConvMixer layer's), one
// thread, CPU time, a standalone loop of 200 calls: 92 µs against sum(0)'s 28 µs, so +0.5 ms on the ~0.5 s training
// step's 8 layers.

// Weight [C, 1, K, K] and bias [C] gradients: per-sample sums (each sample's written by one thread), then added up over
// the samples in order (ordered_column_sums), so the result does not depend on the number of threads.
std::pair<at::Tensor, at::Tensor> weight_grads(const at::Tensor& x, const at::Tensor& gy, int64_t K, int64_t pad) {
  const int64_t N = x.size(0), C = x.size(1), Hi = x.size(2), Wi = x.size(3), Ho = gy.size(2), Wo = gy.size(3);
  const int64_t per = K * K * C + C;
  auto part = at::empty({N, per}, x.options().memory_format(at::MemoryFormat::Contiguous));
  auto total = at::empty({per}, part.options());
  const int level = cpu_vector_level();
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "depthwise_conv2d_backward", [&] {
    const scalar_t* xp = x.data_ptr<scalar_t>();
    const scalar_t* gp = gy.data_ptr<scalar_t>();
    scalar_t* pp = part.data_ptr<scalar_t>();
    at::parallel_for(0, N, 1, [&](int64_t begin, int64_t end) {
      for (int64_t n = begin; n < end; n++)
        wgrad_plane(level, xp + n * Hi * Wi * C, gp + n * Ho * Wo * C, pp + n * per, pp + n * per + K * K * C, Hi, Wi, Ho, Wo,
                    C, K, pad);
    });
    const std::vector<double> sums = ordered_column_sums(pp, N, per);
    std::transform(sums.begin(), sums.end(), total.data_ptr<scalar_t>(), [](double v) { return static_cast<scalar_t>(v); });
  });
  auto gw = total.narrow(0, 0, K * K * C).view({K * K, C}).t().reshape({C, 1, K, K});
  return {gw.contiguous(at::MemoryFormat::ChannelsLast), total.narrow(0, K * K * C, C).clone()};
}

struct DepthwiseConv2d : public torch::autograd::Function<DepthwiseConv2d> {
  // The bias goes in as an optional: an undefined tensor is no autograd input, and needs_input_grad counts inputs that are.
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w,
                            const c10::optional<at::Tensor>& b, int64_t pad) {
    ctx->save_for_backward({x, w});
    ctx->saved_data["pad"] = pad;
    ctx->saved_data["bias"] = b.has_value();
    return conv(x, taps(w, false), b.value_or(at::Tensor()), w.size(2), pad);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& w = saved[1];
    const int64_t pad = ctx->saved_data["pad"].toInt(), K = w.size(2);
    auto gy = grads[0].contiguous(at::MemoryFormat::ChannelsLast);
    at::Tensor gx, gw, gb;
    if (ctx->needs_input_grad(0)) gx = conv(gy, taps(w, true), at::Tensor(), K, K - 1 - pad);
    const bool bias_grad = ctx->saved_data["bias"].toBool() && ctx->needs_input_grad(2);
    if (ctx->needs_input_grad(1) || bias_grad) {
      auto g = weight_grads(x.contiguous(at::MemoryFormat::ChannelsLast), gy, K, pad);
      if (ctx->needs_input_grad(1)) gw = g.first;
      if (bias_grad) gb = g.second;
    }
    return {gx, gw, gb, at::Tensor()};
  }
};

// Whether the shim's kernels take this convolution: a channels-last CPU float32/float64 input [N, C, H, W], weight
// [C, 1, K, K] (square, groups = C), bias [C] or none, all of one dtype, padding at least 0 and an output of at least one pixel.
bool own_kernel(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, int64_t pad) {
  if (x.dim() != 4 || w.dim() != 4 || !x.device().is_cpu() || !w.device().is_cpu()) return false;
  if (x.scalar_type() != at::kFloat && x.scalar_type() != at::kDouble) return false;
  if (w.scalar_type() != x.scalar_type() || (b.defined() && (b.scalar_type() != x.scalar_type() || !b.device().is_cpu())))
    return false;
  const int64_t C = x.size(1), K = w.size(2);
  if (w.size(0) != C || w.size(1) != 1 || w.size(3) != K || (b.defined() && (b.dim() != 1 || b.size(0) != C))) return false;
  if (pad < 0 || x.size(2) + 2 * pad - K + 1 < 1 || x.size(3) + 2 * pad - K + 1 < 1) return false;
  return x.is_contiguous(at::MemoryFormat::ChannelsLast);
}

}  // namespace

// F.conv2d(x, w, b, stride=1, padding=pad, dilation=1, groups=C) for a depthwise w [C, 1, K, K]. Where the shim's
// kernels take it (own_kernel) they compute it, recorded for autograd with their own backward; anywhere else (another
// layout, dtype or device, or a weight that is not depthwise) it is at::conv2d itself.
ATS_TENSOR_FN(ats_depthwise_conv2d, (T* x, T* w, T* b, int64_t pad), [&] {
  const at::Tensor bias = b ? *b : at::Tensor();
  if (!own_kernel(*x, *w, bias, pad)) return at::conv2d(*x, *w, opt(b), {1, 1}, {pad, pad}, {1, 1}, x->size(1));
  return DepthwiseConv2d::apply(*x, *w, opt(b), pad);
}())
