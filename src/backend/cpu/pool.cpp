#include "backend/cpu/pool.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "backend/cpu/loops.h"

namespace cr::cpu {

namespace {

// The kernel taps [first, last) of output position o that land inside [0, size).
struct Taps {
  std::int64_t first, last, start;  // start: input index of tap 0
};

std::vector<Taps> taps_along(std::int64_t out, std::int64_t size, std::int64_t k, std::int64_t stride,
                             std::int64_t pad, std::int64_t dil) {
  std::vector<Taps> taps(static_cast<std::size_t>(out));
  for (std::int64_t o = 0; o < out; ++o) {
    const std::int64_t start = o * stride - pad;
    std::int64_t first = 0, last = k;
    while (first < k && start + first * dil < 0) ++first;
    while (last > first && start + (last - 1) * dil >= size) --last;
    taps[static_cast<std::size_t>(o)] = {first, last, start};
  }
  return taps;
}

bool worth_threads(std::int64_t planes, std::int64_t work) { return planes > 1 && work > kParallelGrain; }

}  // namespace

// Max pooling of one plane. Which tap holds a window's maximum is as
// unpredictable as the data, so both passes per window are branch-free:
// first the max, then the first tap (row-major, as PyTorch picks) equal to
// it. KH, KW > 0 fix the kernel size at compile time for windows wholly
// inside the input (the common case), which unrolls the taps; other windows
// take the general loop.
template <class T, int KH, int KW>
void max_pool_plane(const MaxPool2dShape& s, const std::vector<Taps>& rows, const std::vector<Taps>& cols,
                    const T* image, T* out, PoolIndex* idx) {
  const std::int64_t w = s.w, w_out = s.w_out, h_out = s.h_out, dh = s.dil_h, dw = s.dil_w;
  for (std::int64_t oh = 0; oh < h_out; ++oh) {
    const Taps r = rows[static_cast<std::size_t>(oh)];
    for (std::int64_t ow = 0; ow < w_out; ++ow) {
      const Taps c = cols[static_cast<std::size_t>(ow)];
      T best = -std::numeric_limits<T>::infinity();
      std::int64_t where = -1;  // stays -1 only for a window wholly in the padding
      bool nan = false;
      if (KH > 0 && r.first == 0 && r.last == KH && c.first == 0 && c.last == KW) {
        const std::int64_t origin = r.start * w + c.start;
        T v[KH > 0 ? KH * KW : 1];
        for (int i = 0; i < KH; ++i)
          for (int j = 0; j < KW; ++j) v[i * KW + j] = image[origin + i * dh * w + j * dw];
        best = v[0];
        nan = v[0] != v[0];
        for (int t = 1; t < KH * KW; ++t) {
          best = v[t] > best ? v[t] : best;
          nan |= v[t] != v[t];
        }
        std::int64_t offset = 0;
        for (int t = KH * KW - 1; t >= 0; --t) {
          const std::int64_t at = (t / KW) * dh * w + (t % KW) * dw;
          offset -= (offset - at) * static_cast<std::int64_t>(v[t] == best);
        }
        where = origin + offset;
      } else {
        for (std::int64_t i = r.first; i < r.last; ++i) {
          const T* line = image + (r.start + i * dh) * w + c.start;
          for (std::int64_t j = c.first; j < c.last; ++j) {
            const T v = line[j * dw];
            best = v > best ? v : best;
            nan |= v != v;
          }
        }
        for (std::int64_t i = r.last - 1; i >= r.first; --i) {
          const std::int64_t row = (r.start + i * dh) * w + c.start;
          for (std::int64_t j = c.last - 1; j >= c.first; --j) {
            const std::int64_t at = row + j * dw;
            where -= (where - at) * static_cast<std::int64_t>(image[at] == best);
          }
        }
      }
      if (nan) {  // a NaN wins, as in PyTorch: the first one, found the slow way
        where = -1;
        for (std::int64_t i = r.first; i < r.last && where < 0; ++i)
          for (std::int64_t j = c.first; j < c.last; ++j) {
            const std::int64_t at = (r.start + i * dh) * w + c.start + j * dw;
            if (image[at] != image[at]) {
              best = image[at];
              where = at;
              break;
            }
          }
      }
      out[oh * w_out + ow] = best;
      idx[oh * w_out + ow] = static_cast<PoolIndex>(where);
    }
  }
}

namespace {

#if defined(__AVX512F__)
// GCC 12 flags the _mm512_undefined_* inside its own intrinsics (GCC bug 105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// Whether s is 2×2 windows at stride 2 with no padding or dilation, each
// wholly inside the input: the pooling of nearly every CNN.
bool is_plain_2x2(const MaxPool2dShape& s) {
  return s.kh == 2 && s.kw == 2 && s.stride_h == 2 && s.stride_w == 2 && s.pad_h == 0 && s.pad_w == 0 &&
         s.dil_h == 1 && s.dil_w == 1 && 2 * s.h_out <= s.h && 2 * s.w_out <= s.w;
}

// Plain 2×2 pooling of float planes, 16 windows at a time. Rows are short (7
// to 28 windows in a Fashion-MNIST CNN), so a compiler-vectorised loop spends
// its time in a scalar remainder whose data-dependent branches mispredict;
// masked loads and stores cover each row's tail without one. The general
// kernel, several times slower, handles everything else.

// Lanes [0, n) of 16.
__mmask16 first_lanes(std::int64_t n) {
  return static_cast<__mmask16>(n >= 16 ? 0xFFFF : n <= 0 ? 0 : (1u << n) - 1);
}

// The even and odd elements of 2n consecutive floats at p (n ≤ 16).
void load_pairs(const float* p, std::int64_t n, __m512& even, __m512& odd) {
  const __m512 lo = _mm512_maskz_loadu_ps(first_lanes(2 * n), p);
  const __m512 hi = _mm512_maskz_loadu_ps(first_lanes(2 * n - 16), p + 16);
  const __m512i even_at = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  even = _mm512_permutex2var_ps(lo, even_at, hi);
  odd = _mm512_permutex2var_ps(lo, _mm512_add_epi32(even_at, _mm512_set1_epi32(1)), hi);
}

// Interleaves even and odd into 2n consecutive floats at p.
void store_pairs(float* p, std::int64_t n, __m512 even, __m512 odd) {
  const __m512i lo_at = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i hi_at = _mm512_add_epi32(lo_at, _mm512_set1_epi32(8));
  _mm512_mask_storeu_ps(p, first_lanes(2 * n), _mm512_permutex2var_ps(even, lo_at, odd));
  _mm512_mask_storeu_ps(p + 16, first_lanes(2 * n - 16), _mm512_permutex2var_ps(even, hi_at, odd));
}

__mmask16 is_nan(__m512 v) { return _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q); }

// Of taps x (earlier in row-major order) and y: whether y wins. It does if
// larger, or a NaN against a number; on a tie the earlier one stays.
__mmask16 later_wins(__m512 x, __m512 y) {
  return _mm512_cmp_ps_mask(y, x, _CMP_GT_OQ) | (is_nan(y) & ~is_nan(x));
}

// The taps are a b / c d. Columns first: c against a and d against b (each
// keeps its upper tap on a tie); then the right column's winner against the
// left's. On a tie there (equal values or two NaNs) the earlier tap wins,
// which is the right one only for b against c: so the first NaN wins and the
// first of tied maxima keeps the gradient, as in the general kernel.
void max_pool_2x2_plane(const MaxPool2dShape& s, const float* image, float* out, PoolIndex* idx) {
  const std::int64_t w = s.w, w_out = s.w_out;
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (std::int64_t oh = 0; oh < s.h_out; ++oh) {
    const float* top = image + 2 * oh * w;
    for (std::int64_t ow = 0; ow < w_out; ow += 16) {
      const std::int64_t n = std::min<std::int64_t>(16, w_out - ow);
      __m512 a, b, c, d;
      load_pairs(top + 2 * ow, n, a, b);
      load_pairs(top + w + 2 * ow, n, c, d);
      const __mmask16 take_c = later_wins(a, c), take_d = later_wins(b, d);
      const __m512 left = _mm512_mask_blend_ps(take_c, a, c), right = _mm512_mask_blend_ps(take_d, b, d);
      const __mmask16 tie = _mm512_cmp_ps_mask(right, left, _CMP_EQ_OQ) | (is_nan(right) & is_nan(left));
      const __mmask16 take_right = later_wins(left, right) | (tie & take_c & ~take_d);
      const __mmask16 valid = first_lanes(n);
      _mm512_mask_storeu_ps(out + oh * w_out + ow, valid, _mm512_mask_blend_ps(take_right, left, right));
      // Offset of the winner from its window's top-left tap: 0, 1, w or w + 1.
      const __m512i row_step = _mm512_set1_epi32(static_cast<int>(w));
      const __m512i left_at = _mm512_maskz_mov_epi32(take_c, row_step);
      const __m512i right_at = _mm512_add_epi32(_mm512_maskz_mov_epi32(take_d, row_step), _mm512_set1_epi32(1));
      const __m512i at = _mm512_add_epi32(_mm512_mask_blend_epi32(take_right, left_at, right_at),
                                          _mm512_add_epi32(lane, lane));  // + 2·lane
      const __m512i origin = _mm512_set1_epi32(static_cast<int>(2 * oh * w + 2 * ow));
      _mm512_mask_storeu_epi32(idx + oh * w_out + ow, valid, _mm512_add_epi32(origin, at));
    }
  }
}

// The scatter for plain 2×2 windows: they do not overlap, so each input pixel
// is written once, with its window's gradient or zero, and grad_x needs no
// zero fill first.
void max_unpool_2x2_plane(const MaxPool2dShape& s, const float* g, const PoolIndex* idx, float* gx) {
  const std::int64_t w = s.w, w_out = s.w_out;
  const __m512i lane2 = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  for (std::int64_t oh = 0; oh < s.h_out; ++oh) {
    float* top = gx + 2 * oh * w;
    for (std::int64_t ow = 0; ow < w_out; ow += 16) {
      const std::int64_t n = std::min<std::int64_t>(16, w_out - ow);
      const __mmask16 valid = first_lanes(n);
      // Offsets from each window's top-left tap: 0, 1, w or w + 1.
      const __m512i origin = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(2 * oh * w + 2 * ow)), lane2);
      const __m512i at = _mm512_sub_epi32(_mm512_maskz_loadu_epi32(valid, idx + oh * w_out + ow), origin);
      const __m512 v = _mm512_maskz_loadu_ps(valid, g + oh * w_out + ow);
      auto lands = [&](std::int64_t offset) {
        return _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(at, _mm512_set1_epi32(static_cast<int>(offset))), v);
      };
      store_pairs(top + 2 * ow, n, lands(0), lands(1));
      store_pairs(top + w + 2 * ow, n, lands(w), lands(w + 1));
    }
    std::fill(top + 2 * w_out, top + w, 0.0f);  // columns past the last window
    std::fill(top + w + 2 * w_out, top + 2 * w, 0.0f);
  }
  std::fill(gx + 2 * s.h_out * w, gx + s.h * w, 0.0f);  // rows past the last window
}
#pragma GCC diagnostic pop
#endif

}  // namespace

template <class T>
void max_pool2d_forward(const MaxPool2dShape& s, const T* x, T* y, PoolIndex* indices) {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float>)
    if (is_plain_2x2(s)) {
      const std::int64_t in_plane = s.h * s.w, out_plane = s.h_out * s.w_out;
      parallel_for(s.planes, worth_threads(s.planes, s.planes * out_plane * 4), [&](std::int64_t p) {
        max_pool_2x2_plane(s, x + p * in_plane, y + p * out_plane, indices + p * out_plane);
      });
      return;
    }
#endif
  const std::vector<Taps> rows = taps_along(s.h_out, s.h, s.kh, s.stride_h, s.pad_h, s.dil_h);
  const std::vector<Taps> cols = taps_along(s.w_out, s.w, s.kw, s.stride_w, s.pad_w, s.dil_w);
  const std::int64_t in_plane = s.h * s.w, out_plane = s.h_out * s.w_out;
  auto plane = &max_pool_plane<T, 0, 0>;
  if (s.kh == 2 && s.kw == 2) plane = &max_pool_plane<T, 2, 2>;
  else if (s.kh == 3 && s.kw == 3) plane = &max_pool_plane<T, 3, 3>;
  parallel_for(s.planes, worth_threads(s.planes, s.planes * out_plane * s.kh * s.kw), [&](std::int64_t p) {
    plane(s, rows, cols, x + p * in_plane, y + p * out_plane, indices + p * out_plane);
  });
}

template <class T>
void max_pool2d_backward(const MaxPool2dShape& s, const T* grad_y, const PoolIndex* indices, T* grad_x) {
  const std::int64_t in_plane = s.h * s.w, out_plane = s.h_out * s.w_out;
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float>)
    if (is_plain_2x2(s)) {
      parallel_for(s.planes, worth_threads(s.planes, s.planes * in_plane), [&](std::int64_t p) {
        max_unpool_2x2_plane(s, grad_y + p * out_plane, indices + p * out_plane, grad_x + p * in_plane);
      });
      return;
    }
#endif
  parallel_for(s.planes, worth_threads(s.planes, s.planes * (in_plane + out_plane)), [&](std::int64_t p) {
    T* gx = grad_x + p * in_plane;
    const T* g = grad_y + p * out_plane;
    const PoolIndex* idx = indices + p * out_plane;
    std::fill(gx, gx + in_plane, T(0));
    for (std::int64_t i = 0; i < out_plane; ++i)
      if (idx[i] >= 0) gx[idx[i]] += g[i];
  });
}

template <class T>
void max_pool2d_gather(const MaxPool2dShape& s, const T* grad_x, const PoolIndex* indices, T* grad_y) {
  const std::int64_t in_plane = s.h * s.w, out_plane = s.h_out * s.w_out;
  parallel_for(s.planes, worth_threads(s.planes, s.planes * out_plane), [&](std::int64_t p) {
    const T* gx = grad_x + p * in_plane;
    T* g = grad_y + p * out_plane;
    const PoolIndex* idx = indices + p * out_plane;
    for (std::int64_t i = 0; i < out_plane; ++i) g[i] = idx[i] >= 0 ? gx[idx[i]] : T(0);
  });
}

template <class T>
void avg_pool2d_forward(const AvgPool2dShape& s, const T* x, T* y) {
  const std::int64_t h_out = s.h_out(), w_out = s.w_out();
  const std::int64_t in_plane = s.h * s.w, out_plane = h_out * w_out;
  parallel_for(s.planes, worth_threads(s.planes, s.planes * std::max(in_plane, out_plane)), [&](std::int64_t p) {
    const T* image = x + p * in_plane;
    T* out = y + p * out_plane;
    for (std::int64_t oh = 0; oh < h_out; ++oh) {
      const auto r = static_cast<std::size_t>(oh);
      for (std::int64_t ow = 0; ow < w_out; ++ow) {
        const auto c = static_cast<std::size_t>(ow);
        T total = 0;
        for (std::int64_t ih = s.rows.begin[r]; ih < s.rows.end[r]; ++ih) {
          const T* line = image + ih * s.w;
          for (std::int64_t iw = s.cols.begin[c]; iw < s.cols.end[c]; ++iw) total += line[iw];
        }
        out[oh * w_out + ow] = total / static_cast<T>(s.rows.divisor[r] * s.cols.divisor[c]);
      }
    }
  });
}

template <class T>
void avg_pool2d_backward(const AvgPool2dShape& s, const T* grad_y, T* grad_x) {
  const std::int64_t h_out = s.h_out(), w_out = s.w_out();
  const std::int64_t in_plane = s.h * s.w, out_plane = h_out * w_out;
  parallel_for(s.planes, worth_threads(s.planes, s.planes * std::max(in_plane, out_plane)), [&](std::int64_t p) {
    T* gx = grad_x + p * in_plane;
    const T* g = grad_y + p * out_plane;
    std::fill(gx, gx + in_plane, T(0));
    for (std::int64_t oh = 0; oh < h_out; ++oh) {
      const auto r = static_cast<std::size_t>(oh);
      for (std::int64_t ow = 0; ow < w_out; ++ow) {
        const auto c = static_cast<std::size_t>(ow);
        const T share = g[oh * w_out + ow] / static_cast<T>(s.rows.divisor[r] * s.cols.divisor[c]);
        for (std::int64_t ih = s.rows.begin[r]; ih < s.rows.end[r]; ++ih) {
          T* line = gx + ih * s.w;
          for (std::int64_t iw = s.cols.begin[c]; iw < s.cols.end[c]; ++iw) line[iw] += share;
        }
      }
    }
  });
}

#define CR_INSTANTIATE(T)                                                                               \
  template void max_pool2d_forward<T>(const MaxPool2dShape&, const T*, T*, PoolIndex*);                 \
  template void max_pool2d_backward<T>(const MaxPool2dShape&, const T*, const PoolIndex*, T*);          \
  template void max_pool2d_gather<T>(const MaxPool2dShape&, const T*, const PoolIndex*, T*);            \
  template void avg_pool2d_forward<T>(const AvgPool2dShape&, const T*, T*);                             \
  template void avg_pool2d_backward<T>(const AvgPool2dShape&, const T*, T*);
CR_INSTANTIATE(float)
CR_INSTANTIATE(double)
#undef CR_INSTANTIATE

}  // namespace cr::cpu
