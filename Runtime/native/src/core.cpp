// Errors, handles, creation, host copies, queries, conversions, autograd, global settings.
#include "shim.h"

#include <torch/cuda.h>
#include <torch/csrc/autograd/function.h>

namespace ats {

static thread_local std::string last_error;
static thread_local bool has_error = false;
std::atomic<int64_t> live_tensors{0};

void clear_error() { has_error = false; }
void set_error(const char* message) {
  last_error = message ? message : "(no message)";
  has_error = true;
}
T* wrap(at::Tensor t) {
  if (!t.defined()) return nullptr;
  T* h = new at::Tensor(std::move(t));
  live_tensors.fetch_add(1, std::memory_order_relaxed);
  return h;
}

}  // namespace ats

using namespace ats;

// ---- errors, handles, library info ------------------------------------------------------------

ATS_API const char* ats_last_error() { return has_error ? last_error.c_str() : nullptr; }
ATS_API void ats_free(T* t) {
  if (!t) return;
  try {
    delete t;
  } catch (...) {
  }
  live_tensors.fetch_sub(1, std::memory_order_relaxed);
}
ATS_API int64_t ats_live_tensors() { return live_tensors.load(); }
ATS_API const char* ats_torch_version() { return TORCH_VERSION; }
// Raises a libtorch error on purpose: the managed tests use it to check the error path end to end.
ATS_VOID_FN(ats_test_throw, (const char* message), TORCH_CHECK(false, message))

// ---- creation ---------------------------------------------------------------------------------

ATS_API T* ats_from_buffer(const void* data, int64_t nbytes, int dtype_code, const int64_t* shape, int ndim,
                           const char* device, int requires_grad) {
  ATS_TRY
  auto t = at::empty(ints(shape, ndim), at::TensorOptions().dtype(dtype(dtype_code)));
  TORCH_CHECK((int64_t)t.nbytes() == nbytes, "from_buffer: buffer has ", nbytes, " bytes but shape ",
              t.sizes(), " of ", t.scalar_type(), " needs ", t.nbytes());
  if (nbytes > 0) std::memcpy(t.data_ptr(), data, (size_t)nbytes);
  c10::Device dev(std::string(device ? device : "cpu"));
  if (dev != t.device()) t = t.to(dev);
  if (requires_grad) t.set_requires_grad(true);
  return wrap(t);
  ATS_CATCH(nullptr)
}

#define ATS_FACTORY(name, fn)                                                                          \
  ATS_API T* name(const int64_t* shape, int ndim, int dtype_code, const char* device, int requires_grad) { \
    ATS_TRY auto t = fn(ints(shape, ndim), options(dtype_code, device));                               \
    if (requires_grad) t.set_requires_grad(true);                                                       \
    return wrap(t);                                                                                     \
    ATS_CATCH(nullptr)                                                                                  \
  }
ATS_FACTORY(ats_zeros, at::zeros)
ATS_FACTORY(ats_ones, at::ones)
ATS_FACTORY(ats_empty, at::empty)
ATS_FACTORY(ats_rand, at::rand)
ATS_FACTORY(ats_randn, at::randn)

ATS_TENSOR_FN(ats_full, (const int64_t* shape, int ndim, double value, int is_int, int dtype_code, const char* device),
              at::full(ints(shape, ndim), scalar(value, is_int), options(dtype_code, device)))
ATS_TENSOR_FN(ats_arange, (double start, double end, double step, int dtype_code, const char* device),
              at::arange(at::Scalar(start), at::Scalar(end), at::Scalar(step), options(dtype_code, device)))
ATS_TENSOR_FN(ats_randint, (int64_t low, int64_t high, const int64_t* shape, int ndim, int dtype_code, const char* device),
              at::randint(low, high, ints(shape, ndim), options(dtype_code, device)))
ATS_TENSOR_FN(ats_randperm, (int64_t n, int dtype_code, const char* device), at::randperm(n, options(dtype_code, device)))
ATS_TENSOR_FN(ats_scalar_tensor, (double value, int is_int, int dtype_code, const char* device),
              at::scalar_tensor(scalar(value, is_int), options(dtype_code, device)))
ATS_TENSOR_FN(ats_zeros_like, (T* t), at::zeros_like(*t))
ATS_TENSOR_FN(ats_ones_like, (T* t), at::ones_like(*t))
ATS_TENSOR_FN(ats_empty_like, (T* t), at::empty_like(*t))
ATS_TENSOR_FN(ats_rand_like, (T* t), at::rand_like(*t))
ATS_TENSOR_FN(ats_randn_like, (T* t), at::randn_like(*t))
ATS_TENSOR_FN(ats_full_like, (T* t, double value, int is_int), at::full_like(*t, scalar(value, is_int)))

// ---- host copies and queries ------------------------------------------------------------------

ATS_API int ats_copy_to_host(T* t, void* dst, int64_t nbytes) {
  ATS_TRY
  auto c = t->detach().to(at::kCPU).contiguous();
  TORCH_CHECK((int64_t)c.nbytes() == nbytes, "copy_to_host: destination has ", nbytes, " bytes, tensor has ",
              c.nbytes());
  if (nbytes > 0) std::memcpy(dst, c.data_ptr(), (size_t)nbytes);
  return 0;
  ATS_CATCH(-1)
}
ATS_API int ats_dim(T* t) { return (int)t->dim(); }
ATS_API void ats_shape(T* t, int64_t* out) {
  for (int64_t i = 0; i < t->dim(); i++) out[i] = t->size(i);
}
ATS_API void ats_strides(T* t, int64_t* out) {
  for (int64_t i = 0; i < t->dim(); i++) out[i] = t->stride(i);
}
ATS_API int64_t ats_numel(T* t) { return t->numel(); }
ATS_API int ats_dtype(T* t) { return (int)t->scalar_type(); }
ATS_API int ats_element_size(int dtype_code) {
  ATS_TRY return (int)c10::elementSize(dtype(dtype_code));
  ATS_CATCH(-1)
}
ATS_API int ats_device_type(T* t) { return (int)t->device().type(); }
ATS_API int ats_device_index(T* t) { return (int)t->device().index(); }
ATS_API int ats_device_str(T* t, char* buf, int len) {
  ATS_TRY auto s = t->device().str();
  if ((int)s.size() + 1 > len) return (int)s.size() + 1;
  std::memcpy(buf, s.c_str(), s.size() + 1);
  return 0;
  ATS_CATCH(-1)
}
ATS_API int ats_requires_grad(T* t) { return t->requires_grad() ? 1 : 0; }
ATS_API int ats_is_leaf(T* t) { return t->is_leaf() ? 1 : 0; }
// The name of the autograd node that made `t` (PyTorch's t.grad_fn.name()), or null for a leaf or a tensor made
// outside autograd; valid until this thread's next call.
ATS_API const char* ats_grad_fn_name(T* t) {
  static thread_local std::string name;
  ATS_TRY
  if (!t->grad_fn()) return nullptr;
  name = t->grad_fn()->name();
  return name.c_str();
  ATS_CATCH(nullptr)
}
ATS_API int ats_is_contiguous(T* t) { return t->is_contiguous() ? 1 : 0; }
// memory_format codes are c10::MemoryFormat's: 0 contiguous, 1 preserve, 2 channels-last, 3 channels-last 3-D.
// -1 with the error set if libtorch rejects the query.
ATS_API int ats_is_contiguous_format(T* t, int memory_format) {
  ATS_TRY return t->is_contiguous(static_cast<at::MemoryFormat>(memory_format)) ? 1 : 0;
  ATS_CATCH(-1)
}
ATS_API int ats_item_double(T* t, double* out) {
  ATS_TRY *out = t->item<double>();
  return 0;
  ATS_CATCH(-1)
}
ATS_API int ats_item_long(T* t, int64_t* out) {
  ATS_TRY *out = t->item<int64_t>();
  return 0;
  ATS_CATCH(-1)
}

// ---- conversions ------------------------------------------------------------------------------

ATS_TENSOR_FN(ats_to_device, (T* t, const char* device, int non_blocking),
              t->to(c10::Device(std::string(device)), non_blocking != 0))
ATS_TENSOR_FN(ats_to_dtype, (T* t, int dtype_code), t->to(dtype(dtype_code)))
ATS_TENSOR_FN(ats_clone, (T* t), t->clone())
ATS_TENSOR_FN(ats_detach, (T* t), t->detach())
ATS_TENSOR_FN(ats_contiguous, (T* t), t->contiguous())
ATS_TENSOR_FN(ats_contiguous_format, (T* t, int memory_format), t->contiguous(static_cast<at::MemoryFormat>(memory_format)))
// tensor.to(memory_format=...): unlike contiguous(format), restrides a tensor whose layout is ambiguous (a size-1
// channel dim counts as both layouts), so what follows sees a channels-last operand.
ATS_TENSOR_FN(ats_to_memory_format, (T* t, int memory_format),
              t->to(t->options(), false, false, static_cast<at::MemoryFormat>(memory_format)))
ATS_TENSOR_FN(ats_alias, (T* t), at::Tensor(*t))  // a second handle to the same tensor
ATS_VOID_FN(ats_requires_grad_, (T* t, int value), t->requires_grad_(value != 0))
// param.data = param.to(device, dtype): the handle (and its autograd identity) stays, the storage
// moves. What Module.to(device) does to parameters and buffers.
ATS_VOID_FN(ats_set_data_to, (T* t, const char* device, int dtype_code), {
  at::NoGradGuard guard;
  auto moved = t->detach().to(c10::Device(std::string(device)), dtype_code < 0 ? t->scalar_type() : dtype(dtype_code));
  t->set_data(moved);
  if (t->grad().defined()) t->mutable_grad() = t->grad().to(moved.device(), moved.scalar_type());
})
ATS_VOID_FN(ats_set_data, (T* t, T* src), t->set_data(*src))
// param.data = param.to(memory_format=...), and the same for its gradient: Module.to(memory_format).
ATS_VOID_FN(ats_set_data_memory_format, (T* t, int memory_format), {
  at::NoGradGuard guard;
  auto format = static_cast<at::MemoryFormat>(memory_format);
  auto d = t->detach();
  t->set_data(d.to(d.options(), false, false, format));
  if (t->grad().defined()) t->mutable_grad() = t->grad().to(t->grad().options(), false, false, format);
})

// ---- in-place -----------------------------------------------------------------------------------

ATS_VOID_FN(ats_copy_, (T* dst, T* src), dst->copy_(*src))
ATS_VOID_FN(ats_zero_, (T* t), t->zero_())
ATS_VOID_FN(ats_fill_, (T* t, double v, int is_int), t->fill_(scalar(v, is_int)))
ATS_VOID_FN(ats_uniform_, (T* t, double from, double to), t->uniform_(from, to))
ATS_VOID_FN(ats_normal_, (T* t, double mean, double std), t->normal_(mean, std))
ATS_VOID_FN(ats_bernoulli_, (T* t, double p), t->bernoulli_(p))
ATS_VOID_FN(ats_erfinv_, (T* t), t->erfinv_())
ATS_VOID_FN(ats_clamp_, (T* t, double lo, int has_lo, double hi, int has_hi),
            t->clamp_(has_lo ? c10::optional<at::Scalar>(lo) : c10::nullopt,
                      has_hi ? c10::optional<at::Scalar>(hi) : c10::nullopt))
ATS_VOID_FN(ats_add_, (T* a, T* b, double alpha), a->add_(*b, alpha))
ATS_VOID_FN(ats_sub_, (T* a, T* b, double alpha), a->sub_(*b, alpha))
ATS_VOID_FN(ats_mul_, (T* a, T* b), a->mul_(*b))
ATS_VOID_FN(ats_div_, (T* a, T* b), a->div_(*b))
ATS_VOID_FN(ats_add_scalar_, (T* a, double v, int is_int), a->add_(scalar(v, is_int)))
ATS_VOID_FN(ats_mul_scalar_, (T* a, double v, int is_int), a->mul_(scalar(v, is_int)))
ATS_VOID_FN(ats_div_scalar_, (T* a, double v, int is_int), a->div_(scalar(v, is_int)))

// ---- autograd -----------------------------------------------------------------------------------

ATS_VOID_FN(ats_backward, (T* t, T* grad, int retain_graph, int create_graph),
            t->backward(grad ? *grad : at::Tensor(), c10::optional<bool>(retain_graph != 0), create_graph != 0))
// The gradient, or nullptr (with no error set) when there is none.
ATS_TENSOR_FN(ats_grad, (T* t), t->grad())
ATS_VOID_FN(ats_set_grad, (T* t, T* g), {
  if (g)
    t->mutable_grad() = *g;
  else
    t->mutable_grad().reset();
})
// zero_grad(set_to_none = true), PyTorch 2's default: drops the gradients.
ATS_VOID_FN(ats_clear_grads, (T* const* ts, int n), {
  for (int i = 0; i < n; i++) ts[i]->mutable_grad().reset();
})
// zero_grad(set_to_none = false): zeroes gradients in place.
ATS_VOID_FN(ats_zero_grads, (T* const* ts, int n), {
  at::NoGradGuard guard;
  for (int i = 0; i < n; i++) {
    auto& g = ts[i]->mutable_grad();
    if (g.defined()) {
      if (g.grad_fn()) g = g.detach();
      else g.requires_grad_(false);
      g.zero_();
    }
  }
})
ATS_API int ats_is_grad_enabled() { return at::GradMode::is_enabled() ? 1 : 0; }
// Returns the previous mode, so the managed guard can restore it.
ATS_API int ats_set_grad_enabled(int enabled) {
  int prev = at::GradMode::is_enabled() ? 1 : 0;
  at::GradMode::set_enabled(enabled != 0);
  return prev;
}

// ---- global settings ----------------------------------------------------------------------------

ATS_VOID_FN(ats_manual_seed, (uint64_t seed), at::manual_seed(seed))
ATS_VOID_FN(ats_set_num_threads, (int n), at::set_num_threads(n))
ATS_API int ats_get_num_threads() { return at::get_num_threads(); }
// The number of threads at::parallel_for spreads n items (grain 1) over when the shim calls it, as its own kernels do:
// the intra-op thread count (at most n) where the shim is compiled for libtorch's parallel backend (CMakeLists.txt:
// -fopenmp), 1 where the header template falls back to running the range on the calling thread; -1 on error.
ATS_API int ats_parallel_for_threads(int64_t n) {
  ATS_TRY
  std::atomic<uint64_t> seen{0};
  at::parallel_for(0, n, 1, [&](int64_t, int64_t) { seen |= uint64_t(1) << (at::get_thread_num() % 64); });
  return __builtin_popcountll(seen.load());
  ATS_CATCH(-1)
}
ATS_VOID_FN(ats_set_num_interop_threads, (int n), at::set_num_interop_threads(n))
ATS_API int ats_get_num_interop_threads() { return at::get_num_interop_threads(); }
ATS_API int ats_cuda_is_available() {
  try {
    return at::hasCUDA() ? 1 : 0;
  } catch (...) {
    return 0;
  }
}
ATS_API int ats_cuda_device_count() {
  try {
    return (int)torch::cuda::device_count();  // the C++ frontend's, stable from libtorch 1.13 to 2.x
  } catch (...) {
    return 0;
  }
}

// ---- the own kernels' instruction set (shim.h's cpu_vector_level) ------------------------------------------------
// Named as ATen's ATEN_CPU_CAPABILITY names its levels; the index is the level.
namespace {

constexpr const char* kCapabilities[] = {"default", "avx2", "avx512"};
constexpr const char* kCapabilityVariable = "ARCHDSL_CPU_CAPABILITY";

int processor_level() {
  static const int level = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                                   __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq")
                               ? 2
                               : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 1 : 0;
  return level;
}
// The level `name` names, or -1.
int capability_level(const std::string& name) {
  for (int i = 0; i < 3; i++)
    if (name == kCapabilities[i]) return i;
  return -1;
}
// ARCHDSL_CPU_CAPABILITY, read once: its value and level (2, no cap, when unset or empty; -1 when it names none).
struct Variable {
  std::string value;
  int level;
};
const Variable& variable() {
  static const Variable v = [] {
    const char* value = std::getenv(kCapabilityVariable);
    const std::string s = value ? value : "";
    return Variable{s, s.empty() ? 2 : capability_level(s)};
  }();
  return v;
}
std::atomic<int> set_cap{-1};  // ats_set_cpu_capability's cap for the process; -1: none, the variable's applies

}  // namespace

int ats::cpu_vector_level() {
  int cap = set_cap.load(std::memory_order_relaxed);
  if (cap < 0) {
    cap = variable().level;
    TORCH_CHECK(cap >= 0, kCapabilityVariable, "=", variable().value,
                " names no instruction set: expected avx512, avx2 or default (or unset: the processor's widest)");
  }
  return std::min(cap, processor_level());
}

bool ats::cpu_bf16_dot() {
  static const bool processor = __builtin_cpu_supports("avx512bf16");
  return processor && cpu_vector_level() == 2;
}

// The level the own kernels use now (processor 0) or the widest the processor runs (processor 1): 2 avx512, 1 avx2,
// 0 default; -1 with the error when ARCHDSL_CPU_CAPABILITY names no level.
ATS_API int ats_cpu_capability(int processor) {
  ATS_TRY return processor ? processor_level() : cpu_vector_level();
  ATS_CATCH(-1)
}
// Caps the own kernels' level for the whole process at `name` (avx512, avx2 or default; never above the processor's
// widest), or with null lifts the cap (ARCHDSL_CPU_CAPABILITY's applies again). Returns the level now in effect, or -1
// with the error for another name.
ATS_API int ats_set_cpu_capability(const char* name) {
  ATS_TRY
  const int level = name ? capability_level(name) : -1;
  TORCH_CHECK(!name || level >= 0, "cpu capability '", name, "' is none of avx512, avx2, default");
  set_cap.store(level, std::memory_order_relaxed);
  return cpu_vector_level();
  ATS_CATCH(-1)
}
// The name of a level (0 default, 1 avx2, 2 avx512), or null.
ATS_API const char* ats_cpu_capability_name(int level) { return level >= 0 && level < 3 ? kCapabilities[level] : nullptr; }
