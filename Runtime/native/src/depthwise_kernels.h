// Depthwise-convolution kernels over one sample's channels-last plane, ISA-neutral source: depthwise.cpp includes
// this file once per instruction set (inside a `#pragma GCC target` region and its own namespace) and picks one at run
// time. No ATen here, so nothing from ATen's headers is compiled for an instruction set the machine may lack.
//
// Layouts: an image plane is [H][W][C] (one sample of a channels-last batch); taps are [K][K][C] (the weight
// [C, 1, K, K] transposed so that channels are innermost). Stride 1, dilation 1, `pad` zeros on every side.
// Channels go in blocks of one 64-byte vector (GCC's vector extension: a zmm register under AVX-512, split into
// halves or quarters under narrower targets), each block's sums held in registers.

template <typename S>
struct Vec {
  typedef S type __attribute__((vector_size(64)));
  typedef S unaligned __attribute__((vector_size(64), aligned(sizeof(S))));
  static constexpr int64_t lanes = 64 / sizeof(S);
  static type load(const S* p) { return *reinterpret_cast<const unaligned*>(p); }
  static void store(S* p, type v) { *reinterpret_cast<unaligned*>(p) = v; }
  static type splat(S s) { return type{} + s; }
};

constexpr int64_t KMAX = 16;  // the register-blocked kernels take kernel sizes up to this

// out[ho][wo][c] = bias[c] + Σ_{kh,kw} x[ho+kh-pad][wo+kw-pad][c] · taps[kh][kw][c] (zero outside x), for output rows
// [h0, h1). Ho = Hi + 2·pad − K + 1 and likewise Wo. KT is K when known at compile time, else 0 (read from Kr).
template <typename S, int KT>
static void conv_rows_k(const S* __restrict x, const S* __restrict taps, const S* __restrict bias, S* __restrict out,
                        int64_t Hi, int64_t Wi, int64_t Wo, int64_t C, int64_t Kr, int64_t pad, int64_t h0, int64_t h1) {
  using V = Vec<S>;
  using v = typename V::type;
  constexpr int64_t L = V::lanes;
  const int64_t K = KT ? KT : Kr;
  for (int64_t ho = h0; ho < h1; ho++) {
    const int64_t kh0 = std::max<int64_t>(0, pad - ho), kh1 = std::min<int64_t>(K, Hi + pad - ho);
    S* orow = out + ho * Wo * C;
    int64_t c0 = 0;
    for (; c0 + L <= C; c0 += L) {
      const v b0 = bias ? V::load(bias + c0) : v{};
      // Pixels [lo, hi) have every tap inside the row; four of them at a time share each tap's load.
      const int64_t lo = std::min<int64_t>(pad, Wo), hi = std::max<int64_t>(lo, std::min<int64_t>(Wo, Wi + pad - K + 1));
      int64_t wo = lo;
      for (; wo + 4 <= hi; wo += 4) {
        v a0 = b0, a1 = b0, a2 = b0, a3 = b0;
        for (int64_t kh = kh0; kh < kh1; kh++) {
          const S* xr = x + ((ho + kh - pad) * Wi + (wo - pad)) * C + c0;
          const S* tr = taps + kh * K * C + c0;
#pragma GCC unroll 16
          for (int64_t kw = 0; kw < K; kw++) {
            const v t = V::load(tr + kw * C);
            a0 += V::load(xr + kw * C) * t;
            a1 += V::load(xr + (kw + 1) * C) * t;
            a2 += V::load(xr + (kw + 2) * C) * t;
            a3 += V::load(xr + (kw + 3) * C) * t;
          }
        }
        V::store(orow + wo * C + c0, a0);
        V::store(orow + (wo + 1) * C + c0, a1);
        V::store(orow + (wo + 2) * C + c0, a2);
        V::store(orow + (wo + 3) * C + c0, a3);
      }
      // The rest one pixel at a time, skipping the taps outside the row.
      auto one = [&](int64_t w) {
        const int64_t kw0 = std::max<int64_t>(0, pad - w), kw1 = std::min<int64_t>(K, Wi + pad - w);
        v a = b0;
        for (int64_t kh = kh0; kh < kh1; kh++) {
          const S* xr = x + ((ho + kh - pad) * Wi + (w - pad)) * C + c0;
          const S* tr = taps + kh * K * C + c0;
          for (int64_t kw = kw0; kw < kw1; kw++) a += V::load(xr + kw * C) * V::load(tr + kw * C);
        }
        V::store(orow + w * C + c0, a);
      };
      for (int64_t w = 0; w < lo; w++) one(w);
      for (int64_t w = wo; w < Wo; w++) one(w);
    }
    for (; c0 < C; c0++)  // channels past the last full vector, one at a time
      for (int64_t wo = 0; wo < Wo; wo++) {
        const int64_t kw0 = std::max<int64_t>(0, pad - wo), kw1 = std::min<int64_t>(K, Wi + pad - wo);
        S acc = bias ? bias[c0] : S(0);
        for (int64_t kh = kh0; kh < kh1; kh++)
          for (int64_t kw = kw0; kw < kw1; kw++)
            acc += x[((ho + kh - pad) * Wi + (wo + kw - pad)) * C + c0] * taps[(kh * K + kw) * C + c0];
        orow[wo * C + c0] = acc;
      }
  }
}

// One sample's share of the weight and bias gradients, written (not accumulated):
// gw[kh][kw][c] = Σ_{ho,wo} gy[ho][wo][c] · x[ho+kh-pad][wo+kw-pad][c] and gb[c] = Σ_{ho,wo} gy[ho][wo][c]; gy is [Ho][Wo][C].
template <typename S, int KT>
static void wgrad_plane_k(const S* __restrict x, const S* __restrict gy, S* __restrict gw, S* __restrict gb,
                          int64_t Hi, int64_t Wi, int64_t Ho, int64_t Wo, int64_t C, int64_t Kr, int64_t pad) {
  using V = Vec<S>;
  using v = typename V::type;
  constexpr int64_t L = V::lanes;
  const int64_t K = KT ? KT : Kr;
  int64_t c0 = 0;
  for (; c0 + L <= C && K <= KMAX; c0 += L) {
    for (int64_t kh = 0; kh < K; kh++) {
      v acc[KT ? KT : KMAX];  // one row of taps' sums (registers when KT is known)
#pragma GCC unroll 16
      for (int64_t kw = 0; kw < K; kw++) acc[kw] = v{};
      const int64_t ho0 = std::max<int64_t>(0, pad - kh), ho1 = std::min<int64_t>(Ho, Hi + pad - kh);
      const int64_t lo = std::min<int64_t>(pad, Wo), hi = std::max<int64_t>(lo, std::min<int64_t>(Wo, Wi + pad - K + 1));
      for (int64_t ho = ho0; ho < ho1; ho++) {
        const S* g = gy + ho * Wo * C + c0;
        const S* xr = x + ((ho + kh - pad) * Wi - pad) * C + c0;  // xr + (wo + kw) * C is x[ho+kh-pad][wo+kw-pad]
        for (int64_t wo = lo; wo < hi; wo++) {
          const v gv = V::load(g + wo * C);
#pragma GCC unroll 16
          for (int64_t kw = 0; kw < K; kw++) acc[kw] += gv * V::load(xr + (wo + kw) * C);
        }
        auto edge = [&](int64_t wo) {
          const v gv = V::load(g + wo * C);
          const int64_t kw0 = std::max<int64_t>(0, pad - wo), kw1 = std::min<int64_t>(K, Wi + pad - wo);
#pragma GCC unroll 16
          for (int64_t kw = 0; kw < K; kw++)
            if (kw >= kw0 && kw < kw1) acc[kw] += gv * V::load(xr + (wo + kw) * C);
        };
        for (int64_t wo = 0; wo < lo; wo++) edge(wo);
        for (int64_t wo = hi; wo < Wo; wo++) edge(wo);
      }
#pragma GCC unroll 16
      for (int64_t kw = 0; kw < K; kw++) V::store(gw + (kh * K + kw) * C + c0, acc[kw]);
    }
    v sum{};
    for (int64_t i = 0; i < Ho * Wo; i++) sum += V::load(gy + i * C + c0);
    V::store(gb + c0, sum);
  }
  for (; c0 < C; c0++) {  // channels past the last full vector (or every channel of a kernel over KMAX), one at a time
    for (int64_t kh = 0; kh < K; kh++)
      for (int64_t kw = 0; kw < K; kw++) {
        S acc = 0;
        for (int64_t ho = std::max<int64_t>(0, pad - kh); ho < std::min<int64_t>(Ho, Hi + pad - kh); ho++)
          for (int64_t wo = std::max<int64_t>(0, pad - kw); wo < std::min<int64_t>(Wo, Wi + pad - kw); wo++)
            acc += gy[(ho * Wo + wo) * C + c0] * x[((ho + kh - pad) * Wi + (wo + kw - pad)) * C + c0];
        gw[(kh * K + kw) * C + c0] = acc;
      }
    S acc = 0;
    for (int64_t i = 0; i < Ho * Wo; i++) acc += gy[i * C + c0];
    gb[c0] = acc;
  }
}

// The kernels with the kernel size as a constant for the common odd sizes (the tap loops unroll and the sums stay in
// registers), else with it read at run time.
template <typename S>
static void conv_rows(const S* x, const S* taps, const S* bias, S* out, int64_t Hi, int64_t Wi, int64_t Wo, int64_t C, int64_t K,
                      int64_t pad, int64_t h0, int64_t h1) {
  switch (K) {
    case 3: return conv_rows_k<S, 3>(x, taps, bias, out, Hi, Wi, Wo, C, K, pad, h0, h1);
    case 5: return conv_rows_k<S, 5>(x, taps, bias, out, Hi, Wi, Wo, C, K, pad, h0, h1);
    case 7: return conv_rows_k<S, 7>(x, taps, bias, out, Hi, Wi, Wo, C, K, pad, h0, h1);
    case 9: return conv_rows_k<S, 9>(x, taps, bias, out, Hi, Wi, Wo, C, K, pad, h0, h1);
    default: return conv_rows_k<S, 0>(x, taps, bias, out, Hi, Wi, Wo, C, K, pad, h0, h1);
  }
}
template <typename S>
static void wgrad_plane(const S* x, const S* gy, S* gw, S* gb, int64_t Hi, int64_t Wi, int64_t Ho, int64_t Wo, int64_t C, int64_t K, int64_t pad) {
  switch (K) {
    case 3: return wgrad_plane_k<S, 3>(x, gy, gw, gb, Hi, Wi, Ho, Wo, C, K, pad);
    case 5: return wgrad_plane_k<S, 5>(x, gy, gw, gb, Hi, Wi, Ho, Wo, C, K, pad);
    case 7: return wgrad_plane_k<S, 7>(x, gy, gw, gb, Hi, Wi, Ho, Wo, C, K, pad);
    case 9: return wgrad_plane_k<S, 9>(x, gy, gw, gb, Hi, Wi, Ho, Wo, C, K, pad);
    default: return wgrad_plane_k<S, 0>(x, gy, gw, gb, Hi, Wi, Ho, Wo, C, K, pad);
  }
}
