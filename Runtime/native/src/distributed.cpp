// Distributed data parallelism: libtorch's own c10d engine, bound — TCPStore (rendezvous), ProcessGroupGloo (CPU),
// ProcessGroupNCCL (only where the libtorch has CUDA and the NCCL backend), the collectives training needs with
// timeouts, c10d::Reducer (PyTorch DDP's bucketed gradient all-reduce, launched from autograd hooks during backward)
// and a differentiable all-reduce (synchronised BatchNorm statistics). Runtime/Torch/Distributed.cs is the managed side.
// Two bindings of one C ABI (c10d_bound.h): libtorch 1.x's c10d (Debian's 1.13, tested here), and with
// ARCHDSL_C10D_V2 libtorch 2.x's (written from its headers, compiled only where CMake's test-compile of it passed);
// elsewhere distributed_unbound.cpp gives the same entry points, each failing with the reason.
#include "shim.h"
#include "c10d_bound.h"

#include <torch/csrc/autograd/custom_function.h>

namespace {
// Identity whose gradient is made contiguous in the input's memory format. libtorch 1.13's CPU GELU backward
// returns wrong values when its gradient's layout differs from its input's (a permuted-NHWC input, an NCHW gradient),
// which a composed batch norm's gradient (sums expanded back) can be; F.batch_norm's own kernel keeps the layout.
// Not c10d: compiled with every libtorch.
struct GradInInputLayout : public torch::autograd::Function<GradInInputLayout> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, at::Tensor x) {
    ctx->saved_data["format"] = static_cast<int64_t>(x.suggest_memory_format());
    return x.clone();
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    auto format = static_cast<at::MemoryFormat>(ctx->saved_data["format"].toInt());
    return {grads[0].contiguous(format)};
  }
};
}  // namespace

ATS_TENSOR_FN(ats_grad_in_input_layout, (T* x), GradInInputLayout::apply(*x))

#if ARCHDSL_C10D

// Debian's libtorch 1.13 is built with Gloo (libgloo0); its c10d headers guard the Gloo backend with this macro.
// Against 2.x, Gloo only where CMake found gloo's headers beside the libtorch's (ARCHDSL_WITH_GLOO).
#if !ARCHDSL_C10D_V2 || defined(ARCHDSL_WITH_GLOO)
#define ARCHDSL_GLOO 1
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#if ARCHDSL_C10D_V2
#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#endif
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/reducer.hpp>
// ARCHDSL_WITH_NCCL (with USE_C10D_NCCL): set by CMakeLists.txt for a CUDA libtorch whose NCCL headers it found.
#ifdef ARCHDSL_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <chrono>
#if ARCHDSL_C10D_V2
#include <type_traits>
#endif

using namespace ats;
using std::chrono::milliseconds;

namespace {

struct Store {
  c10::intrusive_ptr<c10d::TCPStore> store;
};
#if ARCHDSL_C10D_V2
// 2.x: the collectives go to the Backend itself (same signatures as 1.x's ProcessGroup); c10d::Reducer needs the
// c10d::ProcessGroup that wraps it.
using Comm = c10d::Backend;
#else
using Comm = c10d::ProcessGroup;
#endif
struct Group {
  c10::intrusive_ptr<Comm> pg;
#if ARCHDSL_C10D_V2
  c10::intrusive_ptr<c10d::ProcessGroup> wrapper;
#endif
};
struct Reducer {
  std::unique_ptr<c10d::Reducer> reducer;
  std::vector<std::vector<size_t>> buckets;
};

// Waits for a collective; a timeout or a failed peer (Gloo reports a closed connection) becomes the shim's error.
void finish(const c10::intrusive_ptr<c10d::Work>& work, int64_t timeout_ms) {
#if ARCHDSL_C10D_V2
  // 2.x's Work::wait returns false when the work was aborted (Work.hpp at b14b5433ebc3), e.g. by NCCL's watchdog.
  TORCH_CHECK(work->wait(timeout_ms > 0 ? milliseconds(timeout_ms) : milliseconds(0)),
              "a collective was aborted (a peer failed or the process group was shut down)");
#else
  work->wait(timeout_ms > 0 ? milliseconds(timeout_ms) : milliseconds(0));
#endif
}

// all_reduce(sum) whose gradient is all_reduce(sum) of the output's gradient: Σ_ranks x, differentiable.
struct AllReduceSum : public torch::autograd::Function<AllReduceSum> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, at::Tensor x, int64_t group, int64_t timeout_ms) {
    ctx->saved_data["group"] = group;
    ctx->saved_data["timeout"] = timeout_ms;
    auto* g = reinterpret_cast<Group*>(group);
    std::vector<at::Tensor> ts{x.clone()};
    finish(g->pg->allreduce(ts), timeout_ms);
    return ts[0];
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    auto* g = reinterpret_cast<Group*>(ctx->saved_data["group"].toInt());
    std::vector<at::Tensor> ts{grads[0].contiguous().clone()};
    finish(g->pg->allreduce(ts), ctx->saved_data["timeout"].toInt());
    return {ts[0], at::Tensor(), at::Tensor()};
  }
};

c10d::ReduceOp reduce_op(int op) {
  switch (op) {
    case 0: return c10d::ReduceOp::SUM;
    case 1: return c10d::ReduceOp::PRODUCT;
    case 2: return c10d::ReduceOp::MIN;
    case 3: return c10d::ReduceOp::MAX;
    default: TORCH_CHECK(false, "unknown reduce op ", op);
  }
}

#if ARCHDSL_C10D_V2
// ---- libtorch 2.x: the ProcessGroup wrapper and the Reducer's constructor, across 2.x's versions ----------------
// Templates (PG, R default to the c10d classes) so that only the branch matching this libtorch's headers is compiled.

template <class T, class = void>
struct HasOptions : std::false_type {};
template <class T>
struct HasOptions<T, std::void_t<typename T::Options>> : std::true_type {};

// A c10d::ProcessGroup holding `backend` for `device` as its default backend, as init_process_group builds it:
// early 2.x names the backend through ProcessGroup::Options (ProcessGroup.hpp at 0007e752d518), later 2.x has no
// Options and sets the default backend type (at da4dfe40321f).
template <class PG = c10d::ProcessGroup>
c10::intrusive_ptr<PG> wrap_backend(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size, const char* name,
                                    milliseconds timeout, c10::DeviceType device, typename PG::BackendType type,
                                    const c10::intrusive_ptr<c10d::Backend>& backend) {
  c10::intrusive_ptr<PG> pg;
  if constexpr (HasOptions<PG>::value) {
    pg = c10::make_intrusive<PG>(store, rank, size, c10::make_intrusive<typename PG::Options>(std::string(name), timeout));
  } else {
    pg = c10::make_intrusive<PG>(store, rank, size);
    pg->setDefaultBackend(type);
  }
  pg->setBackend(device, type, backend);
  return pg;
}

template <class T>
inline constexpr bool kNoMatch = false;

// c10d::Reducer with DDP's defaults (no unused parameters, no bucket views, no names), whichever argument list this
// libtorch's reducer.hpp has: 1.13's to ~2.6's (with per_bucket_size_limits), then without per_bucket_size_limits and
// with skip_all_reduce_unused_params and use_python_reducer, then with bucket_bytes_cap_list (and batched_grad_copy,
// defaulted). bucket_bytes_cap_list is only read when buckets are rebuilt, which this shim never asks for.
template <class R = c10d::Reducer>
std::unique_ptr<R> make_reducer(std::vector<at::Tensor> ps, std::vector<std::vector<size_t>> buckets,
                                std::vector<size_t> per_bucket, c10::intrusive_ptr<c10d::ProcessGroup> pg,
                                int64_t bucket_cap, int64_t first_cap) {
  using Names = std::unordered_map<size_t, std::string>;
  using PGPtr = c10::intrusive_ptr<c10d::ProcessGroup>;
  using Ts = std::vector<at::Tensor>;
  using Bs = std::vector<std::vector<size_t>>;
  using Sparse = std::vector<bool>;
  Sparse sparse(ps.size(), false);
  if constexpr (std::is_constructible_v<R, Ts, Bs, std::vector<size_t>, PGPtr, Sparse, int64_t, bool, bool, Names, int64_t>) {
    return std::make_unique<R>(std::move(ps), std::move(buckets), per_bucket, std::move(pg), std::move(sparse), bucket_cap,
                               false, false, Names{}, first_cap);
  } else if constexpr (std::is_constructible_v<R, Ts, Bs, PGPtr, Sparse, int64_t, bool, bool, Names, int64_t, bool, bool>) {
    return std::make_unique<R>(std::move(ps), std::move(buckets), std::move(pg), std::move(sparse), bucket_cap, false, false,
                               Names{}, first_cap, /*skip_all_reduce_unused_params=*/false, /*use_python_reducer=*/false);
  } else if constexpr (std::is_constructible_v<R, Ts, Bs, PGPtr, Sparse, int64_t, bool, bool, Names, int64_t, bool, bool,
                                               std::vector<int64_t>>) {
    return std::make_unique<R>(std::move(ps), std::move(buckets), std::move(pg), std::move(sparse), bucket_cap, false, false,
                               Names{}, first_cap, false, false, std::vector<int64_t>{});
  } else if constexpr (std::is_constructible_v<R, Ts, Bs, PGPtr, Sparse, int64_t, bool, bool, Names, int64_t>) {
    return std::make_unique<R>(std::move(ps), std::move(buckets), std::move(pg), std::move(sparse), bucket_cap, false, false,
                               Names{}, first_cap);
  } else {
    static_assert(kNoMatch<R>, "c10d::Reducer: none of the constructors this shim knows (distributed.cpp, make_reducer)");
  }
}
#endif  // ARCHDSL_C10D_V2

}  // namespace

// Succeeds: this shim binds c10d (distributed_unbound.cpp's fails, saying why).
ATS_VOID_FN(ats_distributed_check, (), (void)0)

// ---- TCPStore ---------------------------------------------------------------------------------

// The rendezvous store: the master (is_master) listens on host:port (port 0: any free port), the others connect,
// retrying until timeout_ms. wait_workers: the master waits until world_size clients have connected.
ATS_API void* ats_tcpstore_new(const char* host, int port, int world_size, int is_master, int64_t timeout_ms, int wait_workers) {
  ATS_TRY
  c10d::TCPStoreOptions o;
  o.port = (std::uint16_t)port;
  o.isServer = is_master != 0;
  if (world_size > 0) o.numWorkers = (size_t)world_size;
  o.waitWorkers = wait_workers != 0;
  o.timeout = milliseconds(timeout_ms);
  auto s = c10::make_intrusive<c10d::TCPStore>(std::string(host), o);
  return new Store{s};
  ATS_CATCH(nullptr)
}
ATS_API void ats_tcpstore_free(void* s) {
  try { delete static_cast<Store*>(s); } catch (...) {}
}
ATS_API int ats_tcpstore_port(void* s) { return static_cast<Store*>(s)->store->getPort(); }
ATS_VOID_FN(ats_store_set, (void* s, const char* key, const uint8_t* data, int64_t n),
            static_cast<Store*>(s)->store->set(key, std::vector<uint8_t>(data, data + n)))
// Blocks until the key exists (the store's timeout); *out is malloc'ed, freed with ats_store_buffer_free.
ATS_VOID_FN(ats_store_get, (void* s, const char* key, uint8_t** out, int64_t* n), {
  auto v = static_cast<Store*>(s)->store->get(key);
  *n = (int64_t)v.size();
  *out = static_cast<uint8_t*>(std::malloc(v.size() ? v.size() : 1));
  if (!v.empty()) std::memcpy(*out, v.data(), v.size());
})
ATS_API void ats_store_buffer_free(uint8_t* p) { std::free(p); }
ATS_VOID_FN(ats_store_add, (void* s, const char* key, int64_t delta, int64_t* result),
            *result = static_cast<Store*>(s)->store->add(key, delta))
ATS_VOID_FN(ats_store_wait, (void* s, const char* key, int64_t timeout_ms),
            static_cast<Store*>(s)->store->wait({std::string(key)}, milliseconds(timeout_ms)))
ATS_API int ats_store_check(void* s, const char* key) {
  ATS_TRY return static_cast<Store*>(s)->store->check({std::string(key)}) ? 1 : 0;
  ATS_CATCH(-1)
}

// ---- process groups ---------------------------------------------------------------------------

// Gloo over TCP. Its device: the interface `iface` (GLOO_SOCKET_IFNAME's meaning) when given, else the address
// `hostname` resolves to when given, else the machine's hostname (Gloo's default). timeout_ms bounds every collective.
ATS_API void* ats_pg_gloo_new(void* store, int rank, int size, int64_t timeout_ms, const char* iface, const char* hostname) {
  ATS_TRY
#ifndef ARCHDSL_GLOO
  TORCH_CHECK(false, "this shim was built without c10d's Gloo backend (gloo's headers were not beside libtorch ", TORCH_VERSION,
              "'s); use NCCL (--device cuda)");
  return nullptr;
#else
  auto o = c10d::ProcessGroupGloo::Options::create(milliseconds(timeout_ms));
  if (iface && *iface) o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(iface));
  else if (hostname && *hostname) o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(hostname));
  else o->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  c10::intrusive_ptr<c10d::Store> st = static_cast<Store*>(store)->store;
#if ARCHDSL_C10D_V2
  c10::intrusive_ptr<c10d::Backend> gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(st, rank, size, o);
  return new Group{gloo, wrap_backend(st, rank, size, "gloo", milliseconds(timeout_ms), c10::DeviceType::CPU,
                                      c10d::ProcessGroup::BackendType::GLOO, gloo)};
#else
  return new Group{c10::make_intrusive<c10d::ProcessGroupGloo>(st, rank, size, o)};
#endif
#endif  // ARCHDSL_GLOO
  ATS_CATCH(nullptr)
}
ATS_API int ats_pg_nccl_available() {
#ifdef ARCHDSL_WITH_NCCL
  return 1;
#else
  return 0;
#endif
}
// NCCL, one GPU per process (the current CUDA device). Only in a shim built against a CUDA libtorch with NCCL.
ATS_API void* ats_pg_nccl_new(void* store, int rank, int size, int64_t timeout_ms) {
  ATS_TRY
#ifdef ARCHDSL_WITH_NCCL
  auto o = c10d::ProcessGroupNCCL::Options::create();
  o->timeout = milliseconds(timeout_ms);
  c10::intrusive_ptr<c10d::Store> st = static_cast<Store*>(store)->store;
#if ARCHDSL_C10D_V2
  c10::intrusive_ptr<c10d::Backend> nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(st, rank, size, o);
  return new Group{nccl, wrap_backend(st, rank, size, "nccl", milliseconds(timeout_ms), c10::DeviceType::CUDA,
                                      c10d::ProcessGroup::BackendType::NCCL, nccl)};
#else
  return new Group{c10::make_intrusive<c10d::ProcessGroupNCCL>(st, rank, size, o)};
#endif
#else
  TORCH_CHECK(false, "this libtorch has no NCCL backend (a CPU build); use backend gloo");
  return nullptr;
#endif
  ATS_CATCH(nullptr)
}
ATS_API void ats_pg_free(void* g) {
  try { delete static_cast<Group*>(g); } catch (...) {}
}
ATS_API int ats_pg_rank(void* g) { return static_cast<Group*>(g)->pg->getRank(); }
ATS_API int ats_pg_size(void* g) { return static_cast<Group*>(g)->pg->getSize(); }

ATS_VOID_FN(ats_pg_all_reduce, (void* g, T* const* ts, int n, int op, int64_t timeout_ms), {
  auto v = list(ts, n);
  c10d::AllreduceOptions o;
  o.reduceOp = reduce_op(op);
  finish(static_cast<Group*>(g)->pg->allreduce(v, o), timeout_ms);
})
ATS_VOID_FN(ats_pg_broadcast, (void* g, T* const* ts, int n, int root, int64_t timeout_ms), {
  auto v = list(ts, n);
  c10d::BroadcastOptions o;
  o.rootRank = root;
  // Gloo broadcasts one tensor per call (a list would mean one per device); one call each, all waited together.
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  for (auto& t : v) {
    std::vector<at::Tensor> one{t};
    works.push_back(static_cast<Group*>(g)->pg->broadcast(one, o));
  }
  for (auto& w : works) finish(w, timeout_ms);
})
// outputs[i] receives rank i's `input` (all the same shape).
ATS_VOID_FN(ats_pg_all_gather, (void* g, T* input, T* const* outputs, int n, int64_t timeout_ms), {
  std::vector<std::vector<at::Tensor>> out{list(outputs, n)};
  std::vector<at::Tensor> in{*input};
  finish(static_cast<Group*>(g)->pg->allgather(out, in), timeout_ms);
})
ATS_VOID_FN(ats_pg_barrier, (void* g, int64_t timeout_ms), {
  c10d::BarrierOptions o;
  if (timeout_ms > 0) o.timeout = milliseconds(timeout_ms);
  finish(static_cast<Group*>(g)->pg->barrier(o), timeout_ms);
})
// Σ over ranks of x, with the gradient Σ over ranks of the output's gradient (synchronised BatchNorm statistics).
ATS_TENSOR_FN(ats_all_reduce_sum_autograd, (void* g, T* x, int64_t timeout_ms),
              AllReduceSum::apply(*x, reinterpret_cast<int64_t>(g), timeout_ms))

// ---- c10d::Reducer: PyTorch DDP's gradient buckets ----------------------------------------------

// Buckets the parameters as DistributedDataParallel does (compute_bucket_assignment_by_size with a first bucket of
// first_cap bytes and bucket_cap bytes after it, the list reversed so the last-registered parameters, whose gradients
// backward produces first, are reduced first) and registers the Reducer's autograd hooks on their grad accumulators.
ATS_API void* ats_reducer_new(void* g, T* const* params, int n, int64_t bucket_cap, int64_t first_cap) {
  ATS_TRY
  auto ps = list(params, n);
  std::vector<size_t> limits{(size_t)first_cap, (size_t)bucket_cap};
  auto [buckets, per_bucket] = c10d::compute_bucket_assignment_by_size(ps, limits, std::vector<bool>(n, false));
  std::reverse(buckets.begin(), buckets.end());
  std::reverse(per_bucket.begin(), per_bucket.end());
#if ARCHDSL_C10D_V2
  auto r = make_reducer(ps, buckets, per_bucket, static_cast<Group*>(g)->wrapper, bucket_cap, first_cap);
#else
  auto r = std::make_unique<c10d::Reducer>(ps, buckets, per_bucket, static_cast<Group*>(g)->pg, std::vector<bool>(n, false),
                                           bucket_cap, /*find_unused_parameters=*/false, /*gradient_as_bucket_view=*/false,
                                           std::unordered_map<size_t, std::string>{}, first_cap);
#endif
  return new Reducer{std::move(r), buckets};
  ATS_CATCH(nullptr)
}
ATS_API void ats_reducer_free(void* r) {
  try { delete static_cast<Reducer*>(r); } catch (...) {}
}
ATS_API int ats_reducer_bucket_count(void* r) { return (int)static_cast<Reducer*>(r)->buckets.size(); }
// The parameter indices of bucket b (reduction order); returns how many, writing at most cap.
ATS_API int ats_reducer_bucket(void* r, int b, int64_t* out, int cap) {
  auto& v = static_cast<Reducer*>(r)->buckets.at((size_t)b);
  for (size_t i = 0; i < v.size() && (int)i < cap; i++) out[i] = (int64_t)v[i];
  return (int)v.size();
}
// Arms the hooks for the next backward of `outputs` (DDP's forward does this): each bucket is all-reduced (averaged)
// as soon as its gradients are ready, and backward returns once every bucket's result is in the parameters' .grad.
ATS_VOID_FN(ats_reducer_prepare_for_backward, (void* r, T* const* outputs, int n), {
  auto* red = static_cast<Reducer*>(r)->reducer.get();
  red->prepare_for_forward();
  red->prepare_for_backward(list(outputs, n));
})

#endif  // ARCHDSL_C10D
