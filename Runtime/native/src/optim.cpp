// Optimizer updates, gradient clipping, CUDA memory statistics. The updates follow torch.optim's
// single-tensor implementations (PyTorch 1.13 torch/optim/adamw.py, sgd.py) operation for operation,
// so a step matches PyTorch to rounding.
#include "shim.h"

#if defined(ARCHDSL_WITH_CUDA) && __has_include(<c10/cuda/CUDACachingAllocator.h>)
#include <c10/cuda/CUDACachingAllocator.h>
#define ATS_CUDA_STATS 1
#endif

using namespace ats;

// One AdamW update of `param` (which must have a gradient). `step` is the step count after this
// update (1 on the first). exp_avg / exp_avg_sq are the state tensors, updated in place.
ATS_VOID_FN(ats_adamw_update,
            (T* param, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, int64_t step, double lr, double beta1, double beta2,
             double eps, double weight_decay, int maximize),
            {
              at::NoGradGuard guard;
              auto& p = *param;
              at::Tensor grad = p.grad();
              TORCH_CHECK(grad.defined(), "adamw: parameter has no gradient");
              if (maximize) grad = -grad;
              p.mul_(1 - lr * weight_decay);
              exp_avg->mul_(beta1).add_(grad, 1 - beta1);
              exp_avg_sq->mul_(beta2).addcmul_(grad, grad, 1 - beta2);
              double bias_correction1 = 1 - std::pow(beta1, (double)step);
              double bias_correction2 = 1 - std::pow(beta2, (double)step);
              double step_size = lr / bias_correction1;
              double bias_correction2_sqrt = std::sqrt(bias_correction2);
              at::Tensor denom;
              if (max_exp_avg_sq) {
                at::maximum_out(*max_exp_avg_sq, *max_exp_avg_sq, *exp_avg_sq);
                denom = (max_exp_avg_sq->sqrt() / bias_correction2_sqrt).add_(eps);
              } else {
                denom = (exp_avg_sq->sqrt() / bias_correction2_sqrt).add_(eps);
              }
              p.addcdiv_(*exp_avg, denom, -step_size);
            })

// One SGD update. `buf` is the momentum buffer or nullptr on the first step; when momentum != 0 and
// there is none yet, a new buffer is created and returned through *new_buf.
ATS_VOID_FN(ats_sgd_update,
            (T* param, T* buf, T** new_buf, double lr, double momentum, double dampening, double weight_decay, int nesterov,
             int maximize),
            {
              at::NoGradGuard guard;
              auto& p = *param;
              at::Tensor d_p = p.grad();
              TORCH_CHECK(d_p.defined(), "sgd: parameter has no gradient");
              if (new_buf) *new_buf = nullptr;
              if (maximize) d_p = -d_p;
              if (weight_decay != 0) d_p = d_p.add(p, weight_decay);
              if (momentum != 0) {
                at::Tensor b;
                if (!buf) {
                  b = d_p.clone().detach();
                  TORCH_CHECK(new_buf, "sgd: no slot for the new momentum buffer");
                  *new_buf = wrap(b);
                } else {
                  b = *buf;
                  b.mul_(momentum).add_(d_p, 1 - dampening);
                }
                if (nesterov)
                  d_p = d_p.add(b, momentum);
                else
                  d_p = b;
              }
              p.add_(d_p, -lr);
            })

// torch.nn.utils.clip_grad_norm_ (1.13): scales every gradient by min(1, max_norm / (total + 1e-6))
// and returns the total norm (before clipping). Parameters without a gradient are skipped.
ATS_API int ats_clip_grad_norm_(T* const* params, int n, double max_norm, double norm_type, double* total_out) {
  ATS_TRY
  at::NoGradGuard guard;
  std::vector<at::Tensor> grads;
  for (int i = 0; i < n; i++)
    if (params[i]->grad().defined()) grads.push_back(params[i]->grad().detach());
  if (grads.empty()) {
    *total_out = 0;
    return 0;
  }
  auto device = grads[0].device();
  at::Tensor total;
  if (std::isinf(norm_type)) {
    std::vector<at::Tensor> norms;
    for (auto& g : grads) norms.push_back(g.abs().max().to(device));
    total = norms.size() == 1 ? norms[0] : at::max(at::stack(norms));
  } else {
    std::vector<at::Tensor> norms;
    for (auto& g : grads) norms.push_back(at::norm(g, norm_type).to(device));
    total = at::norm(at::stack(norms), norm_type);
  }
  auto coef = at::clamp(max_norm / (total + 1e-6), c10::nullopt, at::Scalar(1.0));
  for (auto& g : grads) g.mul_(coef.to(g.device()));
  *total_out = total.item<double>();
  return 0;
  ATS_CATCH(-1)
}

// CUDA caching-allocator statistics for `device` (bytes): allocated now, peak allocated, reserved.
// Returns 1 when statistics were written, 0 when this build has no CUDA (or no such device).
ATS_API int ats_cuda_memory_stats(int device, int64_t* allocated, int64_t* peak, int64_t* reserved) {
  ATS_TRY
#ifdef ATS_CUDA_STATS
  if (!at::hasCUDA()) return 0;
  auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device);
  *allocated = stats.allocated_bytes[0].current;  // [0] is StatType::AGGREGATE
  *peak = stats.allocated_bytes[0].peak;
  *reserved = stats.reserved_bytes[0].current;
  return 1;
#else
  *allocated = *peak = *reserved = 0;
  return 0;
#endif
  ATS_CATCH(-1)
}
ATS_VOID_FN(ats_cuda_reset_peak_memory_stats, (int device), {
#ifdef ATS_CUDA_STATS
  if (at::hasCUDA()) c10::cuda::CUDACachingAllocator::resetPeakStats(device);
#endif
})
ATS_VOID_FN(ats_cuda_empty_cache, (), {
#ifdef ATS_CUDA_STATS
  if (at::hasCUDA()) c10::cuda::CUDACachingAllocator::emptyCache();
#endif
})
