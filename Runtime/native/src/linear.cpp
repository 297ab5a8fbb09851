// F.linear (y = x·Wᵀ + b) with its three matrix products — forward, input gradient, weight gradient — on oneDNN's
// sgemm where libtorch runs on a shared oneDNN (Debian's libtorch links libdnnl.so.2), instead of at::linear's
// addmm/mm, which libtorch 1.13 sends to OpenBLAS. oneDNN's sgemm runs on libtorch's own GNU OpenMP pool, so a
// training step's matrix products no longer wake a second thread pool (OpenBLAS's) between the other ops.
//
// Measured (2026-11-30, AMD EPYC Zen 4, 2 cores shared with other work, load average 3–4; /usr/bin/python3 with
// torch 1.13 on the same libtorch and OpenBLAS 0.3.21 (Cooperlake kernel), dnnl_sgemm through ctypes; each product
// timed in alternating rounds, oneDNN / OpenBLAS time; 1 thread: median process CPU time of 15 rounds; 2 threads:
// fastest wall time of 21 rounds, as the medians under this load were mostly scheduling):
//   shape rows×in→out (the default specs' linears) fwd / input grad / weight grad, 1 thread | 2 threads
//   ViT qkv        6400×192→576    0.94 0.82 0.83 | 1.01 0.87 0.77
//   ViT proj       6400×192→192    0.92 0.82 0.79 | 0.90 0.76 0.68
//   ViT fc1        6400×192→768    0.95 0.82 0.85 | 0.55 0.56 0.73
//   ViT fc2        6400×768→192    0.87 0.84 0.85 | 0.57 0.61 0.61
//   ViT stem       6272×16→192     0.95 0.68 0.63 | 0.27 0.31 0.38
//   ViT last MLP   128×192→768     0.90 0.84 0.88 | 0.15 0.10 0.74
//   Mixer stem     6272×16→128     0.92 0.67 0.55 | 0.53 0.35 0.29
//   Mixer tokens   16384×49→64     0.97 0.96 0.76 | 0.51 0.50 0.39
//   Mixer tokens   16384×64→49     0.49 0.86 0.73 | 0.25 0.50 0.62
//   Mixer channels 6272×128→512    0.94 0.80 0.78 | 0.69 0.48 0.42
//   Mixer channels 6272×512→128    0.91 0.79 0.80 | 0.49 0.69 0.64
//   heads          128×192→10, 128×128→10: ~0.01 ms either way (1.1–1.5, call overhead from Python)
// So every product goes to oneDNN: a static rule, no shape table and no timing at run time. oneDNN's results were the
// same bits on every run and at 1 and 2 threads for all these shapes, and as close to a float64 reference as
// OpenBLAS's (max |Δ| / max |ref| 1e-7 – 8e-7 for both).
//
// Under autocast (amp: bf16) libtorch's linear already runs oneDNN's bf16 matmul: oneDNN's dnnl_gemm_bf16bf16f32 (exported
// by libdnnl 2.6, not in its public header) with the casts to bf16 took 0.95–1.32× its CPU time on ViT's four linears
// (forward + backward, 1 thread, 9 alternating rounds, load ~13), so a bf16 path would not pay.
//
// A pointwise (1×1) convolution of a channels-last image is this linear over its pixels (ats_pointwise_conv2d, at the
// end): the default ConvMixer's [128, 128, 14, 14] → 128 with bias, 1 thread, median process CPU time of 15 alternating
// rounds in one .NET process (2026-12-01, load ~6): forward 10.6–11.1 / backward 20.0–20.7 ms here against libtorch's
// oneDNN convolution's 10.3–10.5 / 21.2–21.3 ms; the whole training step (`archc bench specs/convmixer.arch --batch 128
// --no-pytorch`, 2 threads, 6 steps, ARCHDSL_ONEDNN_LINEAR=1 against =0, two rounds each, load ~6): 978 / 977 ms against
// 1,080 / 1,026 ms. Its values were the same bits at 1 and 2 threads (PointwiseConvTests).
//
// Where oneDNN is not loaded (a PyTorch wheel's libtorch links it statically, with hidden symbols), under autocast
// (its casts are at::linear's), for other dtypes or devices, empty tensors, shapes at::linear would reject, or with
// ARCHDSL_ONEDNN_LINEAR=0, it is at::linear itself.
#include "shim.h"
#include "onednn.h"

#include <torch/csrc/autograd/custom_function.h>
#include <ATen/autocast_mode.h>

#include <dlfcn.h>

#include <cstdlib>

using namespace ats;

dnnl_sgemm_t ats::onednn_sgemm() {
  static const dnnl_sgemm_t found = []() -> dnnl_sgemm_t {
    for (const char* name : {"libdnnl.so.2", "libdnnl.so.3"})
      if (void* lib = dlopen(name, RTLD_LAZY | RTLD_NOLOAD))
        if (void* fn = dlsym(lib, "dnnl_sgemm")) return reinterpret_cast<dnnl_sgemm_t>(fn);
    return nullptr;
  }();
  return found;
}

namespace {

// 1 = use oneDNN where it is loaded, 0 = at::linear always; starts from ARCHDSL_ONEDNN_LINEAR (unset or not "0": 1).
std::atomic<int>& enabled() {
  static std::atomic<int> on{[] {
    const char* v = std::getenv("ARCHDSL_ONEDNN_LINEAR");
    return v && std::string(v) == "0" ? 0 : 1;
  }()};
  return on;
}

// Row-major C[M, N] = op(A)·op(B) + beta·C for contiguous float32 A, B, C; a stored A is [M, K] ('N') or [K, M] ('T').
void sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const at::Tensor& A, const at::Tensor& B, float beta,
           at::Tensor& C) {
  const int status = onednn_sgemm()(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, 1.0f, A.data_ptr<float>(), ta ? M : K,
                                B.data_ptr<float>(), tb ? K : N, beta, C.data_ptr<float>(), N);
  TORCH_CHECK(status == 0, "oneDNN sgemm failed with status ", status, " (", M, "x", K, " times ", K, "x", N, ")");
}

// out[M, N] = x2[M, K]·w[N, K]ᵀ (+ b[N] on every row).
at::Tensor forward_product(const at::Tensor& x2, const at::Tensor& w, const at::Tensor& b) {
  const int64_t M = x2.size(0), K = x2.size(1), N = w.size(0);
  // A new tensor, always: b.expand({1, N}).contiguous() would be b itself, and the product adds into it.
  auto out = at::empty({M, N}, x2.options());
  if (b.defined()) out.copy_(b.expand({M, N}));
  sgemm(false, true, M, N, K, x2, w, b.defined() ? 1.0f : 0.0f, out);
  return out;
}

struct OneDnnLinear : public torch::autograd::Function<OneDnnLinear> {
  // The bias goes in as an optional: an undefined tensor is no autograd input (as in depthwise.cpp).
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w,
                            const c10::optional<at::Tensor>& b) {
    const int64_t K = w.size(1), N = w.size(0);
    // x and w themselves are saved, not their contiguous copies: a double backward differentiates through them.
    ctx->save_for_backward({x, w});
    ctx->saved_data["bias"] = b.has_value();
    auto out = forward_product(x.contiguous().view({-1, K}), w.contiguous(), b.value_or(at::Tensor()));
    if (x.dim() == 2) return out;
    // No view of out: libtorch forbids in-place ops on a custom Function's view output (as at::matmul does).
    auto sizes = x.sizes().vec();
    sizes.back() = N;
    return at::_unsafe_view(out, sizes);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& w = saved[1];
    const int64_t K = w.size(1), N = w.size(0), M = x.numel() / K;
    // A double backward (create_graph) needs these products recorded: then they are ATen's, differentiable,
    // and the reshapes run here under grad mode, so d(dw)/dx and d(dx)/dw reach x and w.
    const bool graph = at::GradMode::is_enabled();
    auto g = graph ? grads[0].reshape({M, N}) : grads[0].contiguous().view({M, N});
    auto sizes = grads[0].sizes().vec();
    sizes.back() = K;
    at::Tensor gx, gw, gb;
    if (ctx->needs_input_grad(0)) {
      if (graph) gx = g.mm(w).reshape(sizes);
      else {
        auto wc = w.contiguous();
        gx = at::empty({M, K}, g.options());
        sgemm(false, false, M, K, N, g, wc, 0.0f, gx);
        gx = gx.view(sizes);
      }
    }
    if (ctx->needs_input_grad(1)) {
      if (graph) gw = g.t().mm(x.reshape({M, K}));
      else {
        auto x2 = x.contiguous().view({M, K});
        gw = at::empty({N, K}, g.options());
        sgemm(true, false, N, K, M, g, x2, 0.0f, gw);
      }
    }
    if (ctx->saved_data["bias"].toBool() && ctx->needs_input_grad(2)) gb = g.sum(0);
    return {gx, gw, gb};
  }
};

// Whether oneDNN takes this linear: it is loaded and switched on, autocast is off, and x [..., K], w [N, K] and b [N]
// (or none) are non-empty CPU float32 tensors of those shapes.
bool onednn_takes(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
  if (!enabled().load() || !onednn_sgemm() || at::autocast::is_cpu_enabled()) return false;
  if (x.dim() < 2 || w.dim() != 2 || !x.device().is_cpu() || !w.device().is_cpu()) return false;
  if (x.scalar_type() != at::kFloat || w.scalar_type() != at::kFloat || x.is_mkldnn() || w.is_mkldnn()) return false;
  if (x.layout() != at::kStrided || w.layout() != at::kStrided) return false;
  if (x.size(-1) != w.size(1) || x.numel() == 0 || w.numel() == 0) return false;
  if (b.defined() && (b.dim() != 1 || b.size(0) != w.size(0) || b.scalar_type() != at::kFloat || !b.device().is_cpu() ||
                      b.layout() != at::kStrided))
    return false;
  return true;
}

// Whether a stride-1, unpadded, one-group convolution of x [N, C, H, W] with w [O, C, 1, 1] (a pointwise one) is
// oneDNN's linear over x's pixels: x channels-last (its memory is then the rows [N·H·W, C]) and onednn_takes the rows.
bool pointwise_takes(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
  if (x.dim() != 4 || w.dim() != 4 || w.size(2) != 1 || w.size(3) != 1 || x.size(1) != w.size(1)) return false;
  if (x.layout() != at::kStrided || w.layout() != at::kStrided || !x.is_contiguous(at::MemoryFormat::ChannelsLast)) return false;
  return onednn_takes(x.permute({0, 2, 3, 1}), w.reshape({w.size(0), w.size(1)}), b);
}

}  // namespace

// F.linear(x, w, b): oneDNN's sgemm where onednn_takes() says so, recorded for autograd with its own backward;
// at::linear anywhere else.
ATS_TENSOR_FN(ats_linear, (T* x, T* w, T* b), [&] {
  if (!onednn_takes(*x, *w, b ? *b : at::Tensor())) return at::linear(*x, *w, opt(b));
  return OneDnnLinear::apply(*x, *w, opt(b));
}())

// mode 0 / 1 switches linear's oneDNN path off / on; any other mode only asks. Returns whether linear now runs on
// oneDNN (1: switched on and oneDNN loaded) or not (0).
ATS_API int ats_linear_onednn(int mode) {
  if (mode == 0 || mode == 1) enabled().store(mode);
  return enabled().load() && onednn_sgemm() ? 1 : 0;
}

// F.conv2d(x, w, b) with stride 1, padding 0, dilation 1 and one group. Where the weight is 1×1 and pointwise_takes the
// values, it is OneDnnLinear over the channels-last image's pixels, x.permute(0, 2, 3, 1) [N, H, W, C] (a view of its
// memory), permuted back to a channels-last [N, O, H, W]: its backward is linear's, so a double backward works as there.
// Anywhere else it is at::conv2d itself, which also reports bad shapes.
ATS_TENSOR_FN(ats_pointwise_conv2d, (T* x, T* w, T* b), [&] {
  if (!pointwise_takes(*x, *w, b ? *b : at::Tensor())) return at::conv2d(*x, *w, opt(b));
  return OneDnnLinear::apply(x->permute({0, 2, 3, 1}), w->reshape({w->size(0), w->size(1)}), opt(b)).permute({0, 3, 1, 2});
}())
