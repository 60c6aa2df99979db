#include "backend/cpu/pool.h"

#include <algorithm>
#include <cmath>
#include <limits>

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
                    const T* image, T* out, std::int64_t* idx) {
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
      idx[oh * w_out + ow] = where;
    }
  }
}

template <class T>
void max_pool2d_forward(const MaxPool2dShape& s, const T* x, T* y, std::int64_t* indices) {
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
void max_pool2d_backward(const MaxPool2dShape& s, const T* grad_y, const std::int64_t* indices, T* grad_x) {
  const std::int64_t in_plane = s.h * s.w, out_plane = s.h_out * s.w_out;
  parallel_for(s.planes, worth_threads(s.planes, s.planes * (in_plane + out_plane)), [&](std::int64_t p) {
    T* gx = grad_x + p * in_plane;
    const T* g = grad_y + p * out_plane;
    const std::int64_t* idx = indices + p * out_plane;
    std::fill(gx, gx + in_plane, T(0));
    for (std::int64_t i = 0; i < out_plane; ++i)
      if (idx[i] >= 0) gx[idx[i]] += g[i];
  });
}

template <class T>
void max_pool2d_gather(const MaxPool2dShape& s, const T* grad_x, const std::int64_t* indices, T* grad_y) {
  const std::int64_t in_plane = s.h * s.w, out_plane = s.h_out * s.w_out;
  parallel_for(s.planes, worth_threads(s.planes, s.planes * out_plane), [&](std::int64_t p) {
    const T* gx = grad_x + p * in_plane;
    T* g = grad_y + p * out_plane;
    const std::int64_t* idx = indices + p * out_plane;
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
  template void max_pool2d_forward<T>(const MaxPool2dShape&, const T*, T*, std::int64_t*);              \
  template void max_pool2d_backward<T>(const MaxPool2dShape&, const T*, const std::int64_t*, T*);       \
  template void max_pool2d_gather<T>(const MaxPool2dShape&, const T*, const std::int64_t*, T*);         \
  template void avg_pool2d_forward<T>(const AvgPool2dShape&, const T*, T*);                             \
  template void avg_pool2d_backward<T>(const AvgPool2dShape&, const T*, T*);
CR_INSTANTIATE(float)
CR_INSTANTIATE(double)
#undef CR_INSTANTIATE

}  // namespace cr::cpu
