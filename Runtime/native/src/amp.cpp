// Mixed precision: libtorch's autocast state (thread-local, as torch.autocast sets it) and the gradient unscaling of
// a loss scaler (torch.cuda.amp.GradScaler's unscale_ step). The managed side (Runtime/Torch/Amp.cs) decides per op
// whether autocast is on; these entry points only switch it and do the numeric work.
#include "shim.h"

#include <ATen/autocast_mode.h>

namespace {
// 0 = CPU, 1 = CUDA: the two backends the runtime trains on.
bool is_cuda(int device) { return device == 1; }
}  // namespace

// Turns autocast on or off for `device` with `dtype` (a ScalarType code) as its low precision; returns the previous
// enabled state (0/1), or -1 on error. Each thread has its own state, as in PyTorch.
ATS_API int ats_autocast_set(int device, int enabled, int dtype) {
  ATS_TRY
  bool was;
  if (is_cuda(device)) {
    was = at::autocast::is_enabled();
    at::autocast::set_autocast_gpu_dtype(ats::dtype(dtype));
    at::autocast::set_enabled(enabled != 0);
  } else {
    was = at::autocast::is_cpu_enabled();
    at::autocast::set_autocast_cpu_dtype(ats::dtype(dtype));
    at::autocast::set_cpu_enabled(enabled != 0);
  }
  return was ? 1 : 0;
  ATS_CATCH(-1)
}

// Drops the casts of weights autocast cached during a forward (torch.autocast does this when its region ends).
ATS_VOID_FN(ats_autocast_clear_cache, (), at::autocast::clear_cache())

// Multiplies the gradient of every parameter (those without one are skipped) by inv_scale in place and says whether
// any held an inf or NaN (1), none did (0), or the call failed (-1). CUDA gradients go through ATen's fused kernel (as
// GradScaler.unscale_ does); others are checked one by one with isfinite().all() before scaling.
ATS_API int ats_amp_unscale_(T* const* params, int n, double inv_scale) {
  ATS_TRY
  at::NoGradGuard guard;
  std::vector<at::Tensor> grads;
  for (int i = 0; i < n; i++)
    if (params[i]->grad().defined()) grads.push_back(params[i]->grad());
  if (grads.empty()) return 0;
  if (grads[0].is_cuda()) {
    auto found = at::zeros({1}, grads[0].options().dtype(at::kFloat));
    auto inv = at::full({1}, inv_scale, grads[0].options().dtype(at::kFloat));
    at::_amp_foreach_non_finite_check_and_unscale_(grads, found, inv);
    return found.item<float>() != 0 ? 1 : 0;
  }
  bool found = false;
  for (auto& g : grads) {
    if (!found && !at::isfinite(g).all().item<bool>()) found = true;
    g.mul_(inv_scale);
  }
  return found ? 1 : 0;
  ATS_CATCH(-1)
}
