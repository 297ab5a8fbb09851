// oneDNN's dnnl_sgemm, found at run time in the oneDNN libtorch itself loaded (Debian's libtorch links libdnnl.so.2);
// used by linear.cpp and attention.cpp. No oneDNN headers are installed, so the prototype is declared here.
#pragma once

#include <cstdint>

namespace ats {

// dnnl_sgemm as declared in oneDNN's include/oneapi/dnnl/dnnl.h (v2.x and v3.x alike): row-major
// C = alpha·op(A)·op(B) + beta·C, op = 'N' or 'T'; dnnl_dim_t is int64_t, dnnl_status_t an enum whose dnnl_success is 0.
using dnnl_sgemm_t = int (*)(char transa, char transb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                             int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// The dnnl_sgemm of a oneDNN already loaded (dlopen with RTLD_NOLOAD: none is loaded for the shim's sake), or null;
// looked up once. Defined in linear.cpp.
dnnl_sgemm_t onednn_sgemm();

}  // namespace ats
