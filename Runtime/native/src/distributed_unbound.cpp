// The distributed entry points of a shim built without the c10d binding (a libtorch 2.x whose 2.x binding did not
// compile, or ARCHDSL_FORCE_NO_C10D: c10d_bound.h says why): the same exported functions as distributed.cpp, each
// failing through the shim's error channel with the reason, so the managed side reports it instead of a missing
// symbol. Uses no c10d header.
#include "shim.h"
#include "c10d_bound.h"

#if !ARCHDSL_C10D

#include <cstdlib>

#ifndef ARCHDSL_C10D_V2_LOG  // set by c10d_v2.cmake with the log's path
#define ARCHDSL_C10D_V2_LOG "none: built without Runtime/native/CMakeLists.txt's test-compile"
#endif

namespace {
[[noreturn]] void unbound() {
#ifdef ARCHDSL_FORCE_NO_C10D
  TORCH_CHECK(false, "data-parallel training (c10d) is left out of this shim (a test build: ARCHDSL_FORCE_NO_C10D); this "
              "libtorch is ", TORCH_VERSION, ": run single-process, or build the native shim without that option");
#else
#ifdef ARCHDSL_TRY_C10D_V2
  constexpr const char* kForced = " (a test build: ARCHDSL_TRY_C10D_V2, the 2.x binding tried against libtorch 1.x)";
#else
  constexpr const char* kForced = "";
#endif
  // CMake's c10d_v2.cmake test-compiled distributed.cpp's libtorch 2.x binding against this libtorch, and it failed.
  TORCH_CHECK(false, "data-parallel training (c10d) is not bound: the shim's libtorch 2.x binding did not compile when the "
              "shim was built; this libtorch is ", TORCH_VERSION, " (the compiler's output: ", ARCHDSL_C10D_V2_LOG, "): run "
              "single-process, or fix the 2.x binding in Runtime/native/src/distributed.cpp (c10d_bound.h) and rebuild the "
              "shim", kForced);
#endif
}
}  // namespace

// Every call below fails with unbound()'s message: handles are never made, so the others are not reached in use.
#define ATS_UNBOUND(ret) \
  ATS_TRY unbound();     \
  ATS_CATCH(ret)

ATS_API int ats_distributed_check() { ATS_UNBOUND(-1) }

ATS_API void* ats_tcpstore_new(const char*, int, int, int, int64_t, int) { ATS_UNBOUND(nullptr) }
ATS_API void ats_tcpstore_free(void*) {}
ATS_API int ats_tcpstore_port(void*) { ATS_UNBOUND(-1) }
ATS_API int ats_store_set(void*, const char*, const uint8_t*, int64_t) { ATS_UNBOUND(-1) }
ATS_API int ats_store_get(void*, const char*, uint8_t**, int64_t*) { ATS_UNBOUND(-1) }
ATS_API void ats_store_buffer_free(uint8_t* p) { std::free(p); }
ATS_API int ats_store_add(void*, const char*, int64_t, int64_t*) { ATS_UNBOUND(-1) }
ATS_API int ats_store_wait(void*, const char*, int64_t) { ATS_UNBOUND(-1) }
ATS_API int ats_store_check(void*, const char*) { ATS_UNBOUND(-1) }

ATS_API void* ats_pg_gloo_new(void*, int, int, int64_t, const char*, const char*) { ATS_UNBOUND(nullptr) }
ATS_API int ats_pg_nccl_available() { return 0; }
ATS_API void* ats_pg_nccl_new(void*, int, int, int64_t) { ATS_UNBOUND(nullptr) }
ATS_API void ats_pg_free(void*) {}
ATS_API int ats_pg_rank(void*) { ATS_UNBOUND(-1) }
ATS_API int ats_pg_size(void*) { ATS_UNBOUND(-1) }
ATS_API int ats_pg_all_reduce(void*, T* const*, int, int, int64_t) { ATS_UNBOUND(-1) }
ATS_API int ats_pg_broadcast(void*, T* const*, int, int, int64_t) { ATS_UNBOUND(-1) }
ATS_API int ats_pg_all_gather(void*, T*, T* const*, int, int64_t) { ATS_UNBOUND(-1) }
ATS_API int ats_pg_barrier(void*, int64_t) { ATS_UNBOUND(-1) }
ATS_API T* ats_all_reduce_sum_autograd(void*, T*, int64_t) { ATS_UNBOUND(nullptr) }

ATS_API void* ats_reducer_new(void*, T* const*, int, int64_t, int64_t) { ATS_UNBOUND(nullptr) }
ATS_API void ats_reducer_free(void*) {}
ATS_API int ats_reducer_bucket_count(void*) { ATS_UNBOUND(-1) }
ATS_API int ats_reducer_bucket(void*, int, int64_t*, int) { ATS_UNBOUND(-1) }
ATS_API int ats_reducer_prepare_for_backward(void*, T* const*, int) { ATS_UNBOUND(-1) }

#endif  // !ARCHDSL_C10D
