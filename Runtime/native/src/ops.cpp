// Tensor math, shape ops and the nn functional ops the IR catalogue needs (Compiler/Ir.cs). All go
// through ATen, so autograd records them.
#include "shim.h"

using namespace ats;

// ---- arithmetic -----------------------------------------------------------------------------------

ATS_TENSOR_FN(ats_add, (T* a, T* b, double alpha), at::add(*a, *b, alpha))
ATS_TENSOR_FN(ats_sub, (T* a, T* b, double alpha), at::sub(*a, *b, alpha))
ATS_TENSOR_FN(ats_mul, (T* a, T* b), at::mul(*a, *b))
ATS_TENSOR_FN(ats_div, (T* a, T* b), at::div(*a, *b))
ATS_TENSOR_FN(ats_pow, (T* a, T* b), at::pow(*a, *b))
ATS_TENSOR_FN(ats_remainder, (T* a, T* b), at::remainder(*a, *b))
ATS_TENSOR_FN(ats_maximum, (T* a, T* b), at::maximum(*a, *b))
ATS_TENSOR_FN(ats_minimum, (T* a, T* b), at::minimum(*a, *b))
ATS_TENSOR_FN(ats_matmul, (T* a, T* b), at::matmul(*a, *b))
ATS_TENSOR_FN(ats_bmm, (T* a, T* b), at::bmm(*a, *b))
ATS_TENSOR_FN(ats_add_scalar, (T* a, double v, int is_int), at::add(*a, scalar(v, is_int)))
ATS_TENSOR_FN(ats_sub_scalar, (T* a, double v, int is_int), at::sub(*a, scalar(v, is_int)))
ATS_TENSOR_FN(ats_rsub_scalar, (T* a, double v, int is_int), at::rsub(*a, scalar(v, is_int)))
ATS_TENSOR_FN(ats_mul_scalar, (T* a, double v, int is_int), at::mul(*a, scalar(v, is_int)))
ATS_TENSOR_FN(ats_div_scalar, (T* a, double v, int is_int), at::div(*a, scalar(v, is_int)))
ATS_TENSOR_FN(ats_rdiv_scalar, (T* a, double v, int is_int), at::mul(at::reciprocal(*a), scalar(v, is_int)))
ATS_TENSOR_FN(ats_pow_scalar, (T* a, double v, int is_int), at::pow(*a, scalar(v, is_int)))
ATS_TENSOR_FN(ats_remainder_scalar, (T* a, double v, int is_int), at::remainder(*a, scalar(v, is_int)))

// comparisons: op 0 eq, 1 ne, 2 lt, 3 le, 4 gt, 5 ge
static at::Tensor compare(const at::Tensor& a, const at::Tensor& b, int op) {
  switch (op) {
    case 0: return at::eq(a, b);
    case 1: return at::ne(a, b);
    case 2: return at::lt(a, b);
    case 3: return at::le(a, b);
    case 4: return at::gt(a, b);
    case 5: return at::ge(a, b);
  }
  TORCH_CHECK(false, "unknown comparison ", op);
}
static at::Tensor compare(const at::Tensor& a, const at::Scalar& b, int op) {
  switch (op) {
    case 0: return at::eq(a, b);
    case 1: return at::ne(a, b);
    case 2: return at::lt(a, b);
    case 3: return at::le(a, b);
    case 4: return at::gt(a, b);
    case 5: return at::ge(a, b);
  }
  TORCH_CHECK(false, "unknown comparison ", op);
}
ATS_TENSOR_FN(ats_compare, (T* a, T* b, int op), compare(*a, *b, op))
ATS_TENSOR_FN(ats_compare_scalar, (T* a, double v, int is_int, int op), compare(*a, scalar(v, is_int), op))
ATS_TENSOR_FN(ats_logical_and, (T* a, T* b), at::logical_and(*a, *b))
ATS_TENSOR_FN(ats_logical_or, (T* a, T* b), at::logical_or(*a, *b))
ATS_TENSOR_FN(ats_logical_not, (T* a), at::logical_not(*a))
ATS_TENSOR_FN(ats_where, (T* cond, T* a, T* b), at::where(*cond, *a, *b))
ATS_TENSOR_FN(ats_masked_fill, (T* t, T* mask, double v, int is_int), t->masked_fill(*mask, scalar(v, is_int)))
ATS_TENSOR_FN(ats_clamp, (T* t, double lo, int has_lo, double hi, int has_hi),
              at::clamp(*t, has_lo ? c10::optional<at::Scalar>(lo) : c10::nullopt,
                        has_hi ? c10::optional<at::Scalar>(hi) : c10::nullopt))
ATS_TENSOR_FN(ats_lerp, (T* a, T* b, double w), at::lerp(*a, *b, w))

// ---- elementwise unary --------------------------------------------------------------------------

#define ATS_UNARY(name, fn) ATS_TENSOR_FN(ats_##name, (T* a), fn(*a))
ATS_UNARY(neg, at::neg)
ATS_UNARY(abs, at::abs)
ATS_UNARY(exp, at::exp)
ATS_UNARY(log, at::log)
ATS_UNARY(sqrt, at::sqrt)
ATS_UNARY(rsqrt, at::rsqrt)
ATS_UNARY(square, at::square)
ATS_UNARY(reciprocal, at::reciprocal)
ATS_UNARY(sin, at::sin)
ATS_UNARY(cos, at::cos)
ATS_UNARY(erf, at::erf)
ATS_UNARY(sign, at::sign)
ATS_UNARY(floor, at::floor)
ATS_UNARY(ceil, at::ceil)
ATS_UNARY(round, at::round)
ATS_UNARY(tanh, at::tanh)
ATS_UNARY(sigmoid, at::sigmoid)
ATS_UNARY(relu, at::relu)
ATS_UNARY(silu, at::silu)
ATS_UNARY(real, at::real)
ATS_UNARY(imag, at::imag)
ATS_UNARY(isnan, at::isnan)
ATS_UNARY(isfinite, at::isfinite)
ATS_TENSOR_FN(ats_gelu, (T* a, const char* approximate), at::gelu(*a, approximate ? approximate : "none"))
ATS_TENSOR_FN(ats_leaky_relu, (T* a, double slope), at::leaky_relu(*a, slope))

// ---- reductions -----------------------------------------------------------------------------------

ATS_TENSOR_FN(ats_sum_all, (T* a), at::sum(*a))
ATS_TENSOR_FN(ats_sum, (T* a, const int64_t* dims, int n, int keepdim), at::sum(*a, ints(dims, n), keepdim != 0))
ATS_TENSOR_FN(ats_mean_all, (T* a), at::mean(*a))
ATS_TENSOR_FN(ats_mean, (T* a, const int64_t* dims, int n, int keepdim), at::mean(*a, ints(dims, n), keepdim != 0))
ATS_TENSOR_FN(ats_var, (T* a, const int64_t* dims, int n, int unbiased, int keepdim),
              at::var(*a, ints(dims, n), unbiased != 0, keepdim != 0))
ATS_TENSOR_FN(ats_std, (T* a, const int64_t* dims, int n, int unbiased, int keepdim),
              at::std(*a, ints(dims, n), unbiased != 0, keepdim != 0))
ATS_TENSOR_FN(ats_max_all, (T* a), at::max(*a))
ATS_TENSOR_FN(ats_min_all, (T* a), at::min(*a))
ATS_API int ats_max_dim(T* a, int64_t dim, int keepdim, T** values, T** indices) {
  ATS_TRY auto r = at::max(*a, dim, keepdim != 0);
  *values = wrap(std::get<0>(r));
  *indices = wrap(std::get<1>(r));
  return 0;
  ATS_CATCH(-1)
}
ATS_API int ats_min_dim(T* a, int64_t dim, int keepdim, T** values, T** indices) {
  ATS_TRY auto r = at::min(*a, dim, keepdim != 0);
  *values = wrap(std::get<0>(r));
  *indices = wrap(std::get<1>(r));
  return 0;
  ATS_CATCH(-1)
}
ATS_API int ats_topk(T* a, int64_t k, int64_t dim, int largest, int sorted, T** values, T** indices) {
  ATS_TRY auto r = at::topk(*a, k, dim, largest != 0, sorted != 0);
  *values = wrap(std::get<0>(r));
  *indices = wrap(std::get<1>(r));
  return 0;
  ATS_CATCH(-1)
}
ATS_TENSOR_FN(ats_argmax, (T* a, int64_t dim, int has_dim, int keepdim),
              at::argmax(*a, has_dim ? c10::optional<int64_t>(dim) : c10::nullopt, keepdim != 0))
ATS_TENSOR_FN(ats_argmin, (T* a, int64_t dim, int has_dim, int keepdim),
              at::argmin(*a, has_dim ? c10::optional<int64_t>(dim) : c10::nullopt, keepdim != 0))
ATS_TENSOR_FN(ats_norm, (T* a, double p), at::norm(*a, at::Scalar(p)))
ATS_TENSOR_FN(ats_logsumexp, (T* a, const int64_t* dims, int n, int keepdim), at::logsumexp(*a, ints(dims, n), keepdim != 0))
ATS_TENSOR_FN(ats_cumsum, (T* a, int64_t dim), at::cumsum(*a, dim))
ATS_TENSOR_FN(ats_softmax, (T* a, int64_t dim), at::softmax(*a, dim))
ATS_TENSOR_FN(ats_log_softmax, (T* a, int64_t dim), at::log_softmax(*a, dim))
ATS_API int ats_allclose(T* a, T* b, double rtol, double atol) {
  ATS_TRY return at::allclose(*a, *b, rtol, atol) ? 1 : 0;
  ATS_CATCH(-1)
}

// ---- shape and indexing ---------------------------------------------------------------------------

ATS_TENSOR_FN(ats_reshape, (T* a, const int64_t* shape, int n), a->reshape(ints(shape, n)))
ATS_TENSOR_FN(ats_view, (T* a, const int64_t* shape, int n), a->view(ints(shape, n)))
ATS_TENSOR_FN(ats_flatten, (T* a, int64_t start, int64_t end), a->flatten(start, end))
ATS_TENSOR_FN(ats_transpose, (T* a, int64_t d0, int64_t d1), a->transpose(d0, d1))
ATS_TENSOR_FN(ats_permute, (T* a, const int64_t* dims, int n), a->permute(ints(dims, n)))
ATS_TENSOR_FN(ats_expand, (T* a, const int64_t* shape, int n), a->expand(ints(shape, n)))
ATS_TENSOR_FN(ats_repeat, (T* a, const int64_t* reps, int n), a->repeat(ints(reps, n)))
ATS_TENSOR_FN(ats_unsqueeze, (T* a, int64_t dim), a->unsqueeze(dim))
ATS_TENSOR_FN(ats_squeeze, (T* a), a->squeeze())
ATS_TENSOR_FN(ats_squeeze_dim, (T* a, int64_t dim), a->squeeze(dim))
ATS_TENSOR_FN(ats_slice, (T* a, int64_t dim, int64_t start, int64_t end, int64_t step), a->slice(dim, start, end, step))
ATS_TENSOR_FN(ats_narrow, (T* a, int64_t dim, int64_t start, int64_t length), a->narrow(dim, start, length))
ATS_TENSOR_FN(ats_select, (T* a, int64_t dim, int64_t index), a->select(dim, index))
ATS_TENSOR_FN(ats_index_select, (T* a, int64_t dim, T* index), a->index_select(dim, *index))
ATS_TENSOR_FN(ats_gather, (T* a, int64_t dim, T* index), a->gather(dim, *index))
ATS_TENSOR_FN(ats_masked_select, (T* a, T* mask), a->masked_select(*mask))
ATS_TENSOR_FN(ats_cat, (T* const* ts, int n, int64_t dim), at::cat(list(ts, n), dim))
ATS_TENSOR_FN(ats_stack, (T* const* ts, int n, int64_t dim), at::stack(list(ts, n), dim))
ATS_API int ats_chunk(T* a, int64_t chunks, int64_t dim, T** out, int capacity) {
  ATS_TRY auto parts = a->chunk(chunks, dim);
  TORCH_CHECK((int)parts.size() <= capacity, "chunk: ", parts.size(), " parts but room for ", capacity);
  for (size_t i = 0; i < parts.size(); i++) out[i] = wrap(parts[i]);
  return (int)parts.size();
  ATS_CATCH(-1)
}
ATS_TENSOR_FN(ats_flip, (T* a, const int64_t* dims, int n), a->flip(ints(dims, n)))
ATS_TENSOR_FN(ats_roll, (T* a, const int64_t* shifts, int ns, const int64_t* dims, int nd),
              at::roll(*a, ints(shifts, ns), ints(dims, nd)))
// mode: "constant", "reflect", "replicate", "circular"
ATS_TENSOR_FN(ats_pad, (T* a, const int64_t* pad, int n, const char* mode, double value),
              at::pad(*a, ints(pad, n), mode ? mode : "constant",
                      std::string(mode ? mode : "constant") == "constant" ? c10::optional<double>(value) : c10::nullopt))
ATS_TENSOR_FN(ats_tril, (T* a, int64_t diagonal), at::tril(*a, diagonal))
ATS_TENSOR_FN(ats_triu, (T* a, int64_t diagonal), at::triu(*a, diagonal))
ATS_TENSOR_FN(ats_one_hot, (T* a, int64_t classes), at::one_hot(*a, classes))

// ---- nn functional --------------------------------------------------------------------------------

ATS_TENSOR_FN(ats_conv2d, (T* x, T* w, T* b, const int64_t* stride, const int64_t* padding, const int64_t* dilation, int64_t groups),
              at::conv2d(*x, *w, opt(b), ints(stride, 2), ints(padding, 2), ints(dilation, 2), groups))
// padding "same" or "valid"
// The padding mode goes in as a std::string, which converts to what either libtorch takes there: 1.13 a
// c10::string_view, later versions (ATen moved to the standard type) a std::string_view.
ATS_TENSOR_FN(ats_conv2d_padmode, (T* x, T* w, T* b, const int64_t* stride, const char* padding, const int64_t* dilation, int64_t groups),
              at::conv2d(*x, *w, opt(b), ints(stride, 2), std::string(padding), ints(dilation, 2), groups))
// Training mode updates running_mean/var in place with `momentum` (PyTorch's convention: new =
// (1 - momentum) * old + momentum * batch stat, the variance unbiased). num_batches_tracked is the
// caller's (the module's) to count.
ATS_TENSOR_FN(ats_batch_norm, (T* x, T* w, T* b, T* rm, T* rv, int training, double momentum, double eps),
              at::batch_norm(*x, opt(w), opt(b), opt(rm), opt(rv), training != 0, momentum, eps, true))
ATS_TENSOR_FN(ats_layer_norm, (T* x, const int64_t* shape, int n, T* w, T* b, double eps),
              at::layer_norm(*x, ints(shape, n), opt(w), opt(b), eps, true))
ATS_TENSOR_FN(ats_group_norm, (T* x, int64_t groups, T* w, T* b, double eps), at::group_norm(*x, groups, opt(w), opt(b), eps, true))
ATS_TENSOR_FN(ats_dropout, (T* x, double p, int train), at::dropout(*x, p, train != 0))
ATS_TENSOR_FN(ats_avg_pool2d, (T* x, const int64_t* kernel, const int64_t* stride, const int64_t* padding, int ceil_mode, int count_include_pad),
              at::avg_pool2d(*x, ints(kernel, 2), ints(stride, 2), ints(padding, 2), ceil_mode != 0, count_include_pad != 0))
ATS_TENSOR_FN(ats_max_pool2d, (T* x, const int64_t* kernel, const int64_t* stride, const int64_t* padding, int ceil_mode),
              at::max_pool2d(*x, ints(kernel, 2), ints(stride, 2), ints(padding, 2), at::IntArrayRef({1, 1}), ceil_mode != 0))
ATS_TENSOR_FN(ats_adaptive_avg_pool2d, (T* x, const int64_t* size), at::adaptive_avg_pool2d(*x, ints(size, 2)))
ATS_TENSOR_FN(ats_upsample_bilinear2d, (T* x, const int64_t* size, int align_corners),
              at::upsample_bilinear2d(*x, ints(size, 2), align_corners != 0, c10::nullopt, c10::nullopt))
ATS_TENSOR_FN(ats_affine_grid, (T* theta, const int64_t* size, int n, int align_corners),
              at::affine_grid_generator(*theta, ints(size, n), align_corners != 0))
// mode 0 bilinear, 1 nearest; padding 0 zeros, 1 border, 2 reflection
ATS_TENSOR_FN(ats_grid_sample, (T* x, T* grid, int mode, int padding, int align_corners),
              at::grid_sampler(*x, *grid, mode, padding, align_corners != 0))

// Scaled dot-product attention over [..., L, E] query and [..., S, E] key/value. libtorch 2.x has a
// public fused op; 1.13 only a private one whose signature changed, so there the math is spelled
// out (the same as PyTorch's reference math path).
static at::Tensor sdpa(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const c10::optional<at::Tensor>& mask,
                       double dropout_p, bool causal) {
#if TORCH_VERSION_MAJOR >= 2
  return at::scaled_dot_product_attention(q, k, v, mask, dropout_p, causal);
#else
  auto scale = 1.0 / std::sqrt((double)q.size(-1));
  auto scores = at::matmul(q, k.transpose(-2, -1)) * scale;
  if (causal) {
    auto L = q.size(-2), S = k.size(-2);
    auto keep = at::ones({L, S}, q.options().dtype(at::kBool)).tril();
    scores = scores.masked_fill(keep.logical_not(), -std::numeric_limits<double>::infinity());
  }
  if (mask.has_value()) {
    if (mask->scalar_type() == at::kBool)
      scores = scores.masked_fill(mask->logical_not(), -std::numeric_limits<double>::infinity());
    else
      scores = scores + *mask;
  }
  auto attn = at::softmax(scores, -1);
  if (dropout_p > 0) attn = at::dropout(attn, dropout_p, true);
  return at::matmul(attn, v);
#endif
}
ATS_TENSOR_FN(ats_scaled_dot_product_attention, (T* q, T* k, T* v, T* mask, double dropout_p, int causal),
              sdpa(*q, *k, *v, opt(mask), dropout_p, causal != 0))

ATS_TENSOR_FN(ats_fft_fft2, (T* x, const int64_t* dims, int n), at::fft_fft2(*x, c10::nullopt, ints(dims, n)))
ATS_TENSOR_FN(ats_fft_fftn, (T* x, const int64_t* dims, int n), at::fft_fftn(*x, c10::nullopt, ints(dims, n)))
ATS_TENSOR_FN(ats_fft_fft, (T* x, int64_t dim), at::fft_fft(*x, c10::nullopt, dim))

// reduction: 0 none, 1 mean, 2 sum. target: class indices (long) or class probabilities (float).
ATS_TENSOR_FN(ats_cross_entropy, (T* x, T* target, T* weight, int reduction, int64_t ignore_index, double label_smoothing),
              at::cross_entropy_loss(*x, *target, opt(weight), reduction, ignore_index, label_smoothing))
ATS_TENSOR_FN(ats_nll_loss, (T* x, T* target, T* weight, int reduction, int64_t ignore_index),
              at::nll_loss(*x, *target, opt(weight), reduction, ignore_index))
ATS_TENSOR_FN(ats_mse_loss, (T* x, T* target, int reduction), at::mse_loss(*x, *target, reduction))
