// Whether this shim binds c10d (distributed.cpp) or only says why not (distributed_unbound.cpp), and against which
// c10d API. distributed.cpp holds two bindings of one C ABI:
//  - libtorch 1.x (Debian's 1.13, what CI builds and tests): ProcessGroupGloo/NCCL are c10d::ProcessGroups;
//  - libtorch 2.x (ARCHDSL_C10D_V2): written from pytorch/pytorch's headers, read at these commits (not compiled
//    here, as no libtorch 2.x is at hand; CMakeLists.txt test-compiles it first, see below):
//      ProcessGroup.hpp   0007e752d518 (Options constructor, ~2.2) and da4dfe40321f (no Options, setDefaultBackend, 2.6+)
//      Backend.hpp        65f4fa3c3f72    ProcessGroupGloo.hpp 8cf2fadea01d    ProcessGroupNCCL.hpp 4c2f28094701
//      reducer.hpp        63106356728a (1.13's arguments) and later reducer.cpp/.hpp (per_bucket_size_limits dropped,
//                         skip_all_reduce_unused_params, use_python_reducer, bucket_bytes_cap_list, batched_grad_copy)
//      TCPStore.hpp       2f7df31cbaea    Work.hpp b14b5433ebc3    Types.hpp 17f5abc6c0a5 (the collectives' options)
//    What differs from 1.x: Gloo and NCCL are c10d::Backends; a c10d::ProcessGroup wraps one per device type
//    (setBackend(CPU, GLOO) / setBackend(CUDA, NCCL)), built with ProcessGroup::Options (early 2.x) or without them
//    plus setDefaultBackend (later 2.x) — chosen at compile time by whether ProcessGroup::Options exists. The shim's
//    collectives call the backend directly (same signatures as 1.x's ProcessGroup); c10d::Reducer gets the wrapper,
//    and its constructor is picked among the argument lists above by std::is_constructible. TCPStore, Work and the
//    collective options keep the members distributed.cpp uses. Gloo is compiled only where gloo's headers are found
//    (ARCHDSL_WITH_GLOO), NCCL only where nccl.h and ProcessGroupNCCL.hpp are (ARCHDSL_WITH_NCCL).
// CMakeLists.txt, for a libtorch >= 2, test-compiles distributed.cpp with ARCHDSL_C10D_V2 (try_compile, the shim's
// include dirs and flags); only if that succeeds is the binding built (ARCHDSL_C10D_V2 defined). Else the shim builds
// unbound with ARCHDSL_C10D_V2_FAILED and the compiler's output in build/native/c10d-v2-try.log, named by the error.
// ARCHDSL_FORCE_NO_C10D (CMake option, OFF by default) builds the unbound side on libtorch 1.x too, and
// ARCHDSL_TRY_C10D_V2 (CMake option, OFF) tries the 2.x binding against a libtorch 1.x, where it cannot compile: both
// test the error paths where only 1.13 is installed.
#pragma once
#include <torch/version.h>

#if defined(ARCHDSL_FORCE_NO_C10D) || defined(ARCHDSL_C10D_V2_FAILED)
#define ARCHDSL_C10D 0
#elif defined(ARCHDSL_C10D_V2) || TORCH_VERSION_MAJOR < 2
#define ARCHDSL_C10D 1
#else
#define ARCHDSL_C10D 0
#endif
#ifndef ARCHDSL_C10D_V2
#define ARCHDSL_C10D_V2 0
#endif
