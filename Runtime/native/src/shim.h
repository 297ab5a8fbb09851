// ArchDsl libtorch shim: shared declarations. This header is precompiled (CMake PCH); keep the heavy
// includes here and nowhere else.
#pragma once

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <ATen/Parallel.h>
#include <c10/util/Exception.h>
#include <torch/version.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#define ATS_API extern "C" __attribute__((visibility("default")))

using T = at::Tensor;

namespace ats {

void clear_error();
void set_error(const char* message);
// Every handle handed out goes through wrap(); ats_free deletes it. The live count is what the
// managed side's dispose-scope tests observe.
T* wrap(at::Tensor t);
extern std::atomic<int64_t> live_tensors;

inline c10::optional<at::Tensor> opt(const T* t) {
  return t ? c10::optional<at::Tensor>(*t) : c10::optional<at::Tensor>();
}
inline at::IntArrayRef ints(const int64_t* data, int n) { return at::IntArrayRef(data, (size_t)n); }
inline at::ScalarType dtype(int code) { return static_cast<at::ScalarType>(code); }
inline at::Scalar scalar(double value, int is_int) {
  return is_int ? at::Scalar(static_cast<int64_t>(value)) : at::Scalar(value);
}
inline at::TensorOptions options(int dtype_code, const char* device) {
  return at::TensorOptions().dtype(dtype(dtype_code)).device(c10::Device(std::string(device ? device : "cpu")));
}
// The vector code of the shim's own kernels compiled once per instruction set (depthwise.cpp, gelu_batchnorm.cpp,
// attention.cpp, bias_gelu.cpp): 2 AVX-512 (F, VL, BW, DQ), 1 AVX2 with FMA, 0 the baseline. The widest the processor
// runs, capped by ARCHDSL_CPU_CAPABILITY or ats_set_cpu_capability (core.cpp), never raised: read it on every call,
// never keep it in a static, as the cap may change between calls. Throws when ARCHDSL_CPU_CAPABILITY names no level.
int cpu_vector_level();
// Whether the own kernels may use AVX512_BF16's dot products (vdpbf16ps, attention.cpp): the processor has them and
// cpu_vector_level() is 2 (a cap below avx512 turns them off with the rest of AVX-512). Read on every call, as above.
bool cpu_bf16_dot();
// Σ over the rows of part [rows, cols] for each column, added in row order n = 0, 1, …, rows − 1 in double: the threads
// split the columns, never a column's rows, so the sums are the same bits on any number of threads. Where the own
// kernels' per-block or per-sample partial sums end (bias_gelu.cpp, gelu_batchnorm.cpp, depthwise.cpp).
template <typename S>
std::vector<double> ordered_column_sums(const S* part, int64_t rows, int64_t cols) {
  std::vector<double> total(static_cast<size_t>(cols), 0.0);
  const int64_t grain = std::max<int64_t>(1, at::internal::GRAIN_SIZE / std::max<int64_t>(1, rows));  // columns
  at::parallel_for(0, cols, grain, [&](int64_t j0, int64_t j1) {
    for (int64_t n = 0; n < rows; n++)
      for (int64_t j = j0; j < j1; j++) total[j] += part[n * cols + j];
  });
  return total;
}
inline std::vector<at::Tensor> list(T* const* ts, int n) {
  std::vector<at::Tensor> v;
  v.reserve(n);
  for (int i = 0; i < n; i++) v.push_back(*ts[i]);
  return v;
}

}  // namespace ats

// Every entry point runs its body inside ATS_TRY ... ATS_CATCH(value): any C++ exception becomes the
// thread's last error (read by ats_last_error) and the function returns `value`. Nothing throws across
// the C boundary and nothing aborts the process.
#define ATS_TRY \
  try {         \
    ats::clear_error();
#define ATS_CATCH(ret)                              \
  }                                                 \
  catch (const c10::Error& e) {                     \
    ats::set_error(e.what_without_backtrace());     \
    return ret;                                     \
  }                                                 \
  catch (const std::exception& e) {                 \
    ats::set_error(e.what());                       \
    return ret;                                     \
  }                                                 \
  catch (...) {                                     \
    ats::set_error("unknown C++ exception in libtorch shim"); \
    return ret;                                     \
  }

// A function returning a new tensor handle (nullptr on error).
#define ATS_TENSOR_FN(name, params, ...) \
  ATS_API T* name params {               \
    ATS_TRY return ats::wrap(__VA_ARGS__); \
    ATS_CATCH(nullptr)                   \
  }

// A function with no result: 0 on success, -1 on error.
#define ATS_VOID_FN(name, params, ...) \
  ATS_API int name params {            \
    ATS_TRY __VA_ARGS__; return 0;     \
    ATS_CATCH(-1)                      \
  }
