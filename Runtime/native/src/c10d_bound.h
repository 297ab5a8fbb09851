// Whether this shim binds c10d (distributed.cpp) or only says why not (distributed_unbound.cpp): the binding is
// written against libtorch 1.x's c10d (Debian's 1.13) and is compiled only there.
//
// What a port to libtorch 2.x needs (read in pytorch/pytorch's torch/csrc/distributed/c10d/, ProcessGroup.hpp at
// 0007e752d518 and reducer.hpp at 63106356728a; not compiled here, as no libtorch 2.x is at hand):
//  - ProcessGroupGloo and ProcessGroupNCCL derive from c10d::Backend (Backend.hpp), no longer from c10d::ProcessGroup.
//    c10d::ProcessGroup is a wrapper built as ProcessGroup(store, rank, size, c10::make_intrusive<
//    ProcessGroup::Options>("gloo" or "nccl", timeout)) that holds one backend per device type:
//    pg->setBackend(c10::DeviceType::CPU, ProcessGroup::BackendType::GLOO, gloo) (CUDA / BackendType::NCCL for NCCL).
//    Its collectives (allreduce, broadcast, allgather, barrier) go through the dispatcher's c10d:: ops to that backend.
//    Group (distributed.cpp) would hold that wrapper; the Gloo/NCCL constructors and Options keep their shape.
//  - c10d::Reducer's constructor there takes the same arguments as 1.13's (params, bucket_indices,
//    per_bucket_size_limits, process_group, expect_sparse_gradients, bucket_bytes_cap, find_unused_parameters,
//    gradient_as_bucket_view, param_names, first_bucket_bytes_cap), but its process_group must be that wrapper, not a
//    backend; later 2.x headers may add parameters after first_bucket_bytes_cap, to be checked against the target's.
//  - Work, TCPStore(Options) and compute_bucket_assignment_by_size keep the signatures distributed.cpp uses.
// ARCHDSL_FORCE_NO_C10D (CMake option of the same name, OFF by default) builds the unbound side on libtorch 1.x too,
// so that its error path can be tested where only 1.13 is installed.
#pragma once
#include <torch/version.h>

#if TORCH_VERSION_MAJOR < 2 && !defined(ARCHDSL_FORCE_NO_C10D)
#define ARCHDSL_C10D 1
#else
#define ARCHDSL_C10D 0
#endif
