// Batch augmentations done in place on the host, outside ATen's operators: they allocate nothing, so a
// data pipeline that runs them every batch does not grow the process's native heap (issue 11).
#include "shim.h"

#include <utility>

using namespace ats;

namespace {

// A 16-byte element (complex128), swapped as a whole.
struct Bytes16 {
  uint64_t lo, hi;
};

// Reverses dimension 3 of every sample i with mask[i] != 0 of the 4-D tensor at `data` (strides in
// elements). The loop order follows the memory: rows along W when W is the inner dimension (NCHW),
// whole pixels (all channels) when C is (channels-last).
template <typename E>
void flip_samples(E* data, at::IntArrayRef size, at::IntArrayRef stride, const uint8_t* mask) {
  const int64_t C = size[1], H = size[2], W = size[3];
  const int64_t sN = stride[0], sC = stride[1], sH = stride[2], sW = stride[3];
  at::parallel_for(0, size[0], 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) {
      if (!mask[i]) continue;
      E* sample = data + i * sN;
      if (sW <= sC) {
        for (int64_t c = 0; c < C; c++)
          for (int64_t h = 0; h < H; h++) {
            E* row = sample + c * sC + h * sH;
            for (int64_t a = 0, b = W - 1; a < b; a++, b--) std::swap(row[a * sW], row[b * sW]);
          }
      } else {
        for (int64_t h = 0; h < H; h++) {
          E* row = sample + h * sH;
          for (int64_t a = 0, b = W - 1; a < b; a++, b--)
            for (int64_t c = 0; c < C; c++) std::swap(row[a * sW + c * sC], row[b * sW + c * sC]);
        }
      }
    }
  });
}

}  // namespace

// In place, on a CPU tensor [N, C, H, W] of any dtype whose elements are dense and do not overlap (NCHW,
// channels-last, or another dimension order): the samples i with mask[i] != 0 (mask has N bytes) are flipped
// along W. Bit for bit what `x.copy_(at::where(mask.view({N, 1, 1, 1}), x.flip(3), x))` leaves in x, without
// its two full-size temporaries. Refused (an error, x untouched) for a tensor needing grad, off the CPU, or
// not dense (an expanded tensor's shared elements would flip more than once). Bumps x's version counter, as
// any in-place op does, so autograd refuses a graph that saved x before.
ATS_API int ats_flip_samples_(T* x, const uint8_t* mask, int64_t n) {
  ATS_TRY
  TORCH_CHECK(x->dim() == 4, "flip_samples_: expects [N, C, H, W], got ", x->sizes());
  TORCH_CHECK(x->size(0) == n, "flip_samples_: mask has ", n, " entries for ", x->size(0), " samples");
  TORCH_CHECK(x->device().is_cpu(), "flip_samples_: the tensor is on ", x->device(), ", not the CPU");
  TORCH_CHECK(!x->requires_grad(), "flip_samples_: the tensor requires grad");
  TORCH_CHECK(x->is_non_overlapping_and_dense(), "flip_samples_: the tensor's elements overlap or leave gaps (strides ",
              x->strides(), ")");
  if (x->numel() == 0) return 0;
  void* data = x->data_ptr();
  switch (x->element_size()) {
    case 1: flip_samples(static_cast<uint8_t*>(data), x->sizes(), x->strides(), mask); break;
    case 2: flip_samples(static_cast<uint16_t*>(data), x->sizes(), x->strides(), mask); break;
    case 4: flip_samples(static_cast<uint32_t*>(data), x->sizes(), x->strides(), mask); break;
    case 8: flip_samples(static_cast<uint64_t*>(data), x->sizes(), x->strides(), mask); break;
    case 16: flip_samples(static_cast<Bytes16*>(data), x->sizes(), x->strides(), mask); break;
    default: TORCH_CHECK(false, "flip_samples_: elements of ", x->element_size(), " bytes (", x->scalar_type(), ")");
  }
  if (!x->is_inference()) x->unsafeGetTensorImpl()->bump_version();
  return 0;
  ATS_CATCH(-1)
}
