#include "backend/cpu/conv.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <type_traits>
#include <vector>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "backend/cpu/gemm.h"
#include "backend/cpu/loops.h"
#include "backend/cpu/onednn_conv.h"

namespace cr::cpu {

namespace {

// Multiply-adds below which a whole convolution runs on one thread: waking
// the pool costs more than it saves.
constexpr std::int64_t kParallelConvWork = 1 << 18;

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

// The output columns ow whose input column ow·stride + offset lies in [0, size).
struct ValidRange {
  std::int64_t begin, end;
};
ValidRange valid_outputs(std::int64_t offset, std::int64_t stride, std::int64_t size, std::int64_t out_size) {
  const std::int64_t begin = offset >= 0 ? 0 : ceil_div(-offset, stride);
  const std::int64_t end = size - offset > 0 ? ceil_div(size - offset, stride) : 0;
  const std::int64_t b = std::min(begin, out_size);
  return {b, std::clamp(end, b, out_size)};
}

std::int64_t col_rows(const Conv2dShape& s) { return s.c_in * s.kh * s.kw; }
std::int64_t out_plane(const Conv2dShape& s) { return s.h_out * s.w_out; }

// A 1×1 kernel with unit stride and no padding reads the image as it lies:
// its column matrix is the image itself.
bool is_pointwise(const Conv2dShape& s) {
  return s.kh == 1 && s.kw == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_h == 0 && s.pad_w == 0;
}

// Unfolds one image x[c_in, h, w] into col[c_in·kh·kw, h_out·w_out]: row
// (c, i, j) holds the input pixel each output position sees through kernel
// tap (i, j) of channel c, zero where that falls in the padding.
template <class T>
void im2col_generic(const Conv2dShape& s, const T* x, T* col) {
  const std::int64_t plane = out_plane(s);
  for (std::int64_t c = 0; c < s.c_in; ++c) {
    const T* image = x + c * s.h * s.w;
    for (std::int64_t i = 0; i < s.kh; ++i) {
      const std::int64_t row_offset = i * s.dil_h - s.pad_h;
      const ValidRange rows = valid_outputs(row_offset, s.stride_h, s.h, s.h_out);
      for (std::int64_t j = 0; j < s.kw; ++j) {
        T* out = col + ((c * s.kh + i) * s.kw + j) * plane;
        const std::int64_t col_offset = j * s.dil_w - s.pad_w;
        const ValidRange cols = valid_outputs(col_offset, s.stride_w, s.w, s.w_out);
        std::fill(out, out + rows.begin * s.w_out, T(0));
        for (std::int64_t oh = rows.begin; oh < rows.end; ++oh) {
          T* dst = out + oh * s.w_out;
          const T* src = image + (oh * s.stride_h + row_offset) * s.w + col_offset;
          std::fill(dst, dst + cols.begin, T(0));
          if (s.stride_w == 1) {
            std::memcpy(dst + cols.begin, src + cols.begin, sizeof(T) * (cols.end - cols.begin));
          } else {
            const std::int64_t sw = s.stride_w;
            for (std::int64_t ow = cols.begin; ow < cols.end; ++ow) dst[ow] = src[ow * sw];
          }
          std::fill(dst + cols.end, dst + s.w_out, T(0));
        }
        std::fill(out + rows.end * s.w_out, out + plane, T(0));
      }
    }
  }
}

// The adjoint of im2col: adds each entry of col into the input pixel it was
// read from. x must hold zeros (or a sum to add to).
template <class T>
void col2im_generic(const Conv2dShape& s, const T* col, T* x) {
  const std::int64_t plane = out_plane(s);
  for (std::int64_t c = 0; c < s.c_in; ++c) {
    T* image = x + c * s.h * s.w;
    for (std::int64_t i = 0; i < s.kh; ++i) {
      const std::int64_t row_offset = i * s.dil_h - s.pad_h;
      const ValidRange rows = valid_outputs(row_offset, s.stride_h, s.h, s.h_out);
      for (std::int64_t j = 0; j < s.kw; ++j) {
        const T* in = col + ((c * s.kh + i) * s.kw + j) * plane;
        const std::int64_t col_offset = j * s.dil_w - s.pad_w;
        const ValidRange cols = valid_outputs(col_offset, s.stride_w, s.w, s.w_out);
        for (std::int64_t oh = rows.begin; oh < rows.end; ++oh) {
          const T* src = in + oh * s.w_out;
          T* dst = image + (oh * s.stride_h + row_offset) * s.w + col_offset;
          const std::int64_t sw = s.stride_w;
          if (sw == 1) {
#pragma omp simd
            for (std::int64_t ow = cols.begin; ow < cols.end; ++ow) dst[ow] += src[ow];
          } else {
            for (std::int64_t ow = cols.begin; ow < cols.end; ++ow) dst[ow * sw] += src[ow];
          }
        }
      }
    }
  }
}

#if defined(__AVX512F__)
// GCC 12 flags the _mm512_undefined_* inside its own intrinsics (GCC bug 105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// im2col and col2im for float, 16 output columns at a time. The rows of a
// small image are short (7 to 28 columns here), so the generic loops pay a
// memcpy call, a vector remainder and two zero fills per row; one masked
// load or gather per 16 columns reads the valid pixels and zeros the padding
// in the same instruction. Masked-off lanes are never touched, so reading
// "before" a row at the left padding is safe.
//
// One kernel tap's row within an output row: lanes [0, w_out) of 16-lane
// chunks, of which those in `valid` read the input.
struct TapLanes {
  std::vector<__mmask16> valid, store;
  __m512i step;  // input offset of each lane: lane · stride_w
};

__mmask16 lanes_between(std::int64_t begin, std::int64_t end) {
  std::uint32_t m = 0;
  for (std::int64_t l = std::max<std::int64_t>(begin, 0); l < std::min<std::int64_t>(end, 16); ++l) m |= 1u << l;
  return static_cast<__mmask16>(m);
}

TapLanes tap_lanes(const Conv2dShape& s, const ValidRange& cols) {
  TapLanes t;
  for (std::int64_t k = 0; k < s.w_out; k += 16) {
    t.valid.push_back(lanes_between(cols.begin - k, cols.end - k));
    t.store.push_back(lanes_between(0, s.w_out - k));
  }
  t.step = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                              _mm512_set1_epi32(static_cast<int>(s.stride_w)));
  return t;
}

// Unit or larger strides along a row: a plain masked load, else a gather.
__m512 load_tap_row(const float* src, std::int64_t k, std::int64_t stride_w, __mmask16 valid, __m512i step) {
  if (stride_w == 1) return _mm512_maskz_loadu_ps(valid, src + k);
  return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), valid, step, src + k * stride_w, 4);
}

void im2col_vector(const Conv2dShape& s, const float* x, float* col) {
  const std::int64_t plane = out_plane(s);
  std::vector<TapLanes> lanes;  // per kernel column j
  for (std::int64_t j = 0; j < s.kw; ++j)
    lanes.push_back(tap_lanes(s, valid_outputs(j * s.dil_w - s.pad_w, s.stride_w, s.w, s.w_out)));
  float* out = col;  // row (c, i, j) of col, in that order
  for (std::int64_t c = 0; c < s.c_in; ++c) {
    const float* image = x + c * s.h * s.w;
    for (std::int64_t i = 0; i < s.kh; ++i) {
      const std::int64_t row_offset = i * s.dil_h - s.pad_h;
      const ValidRange rows = valid_outputs(row_offset, s.stride_h, s.h, s.h_out);
      for (std::int64_t j = 0; j < s.kw; ++j, out += plane) {
        const TapLanes& tap = lanes[static_cast<std::size_t>(j)];
        const std::int64_t col_offset = j * s.dil_w - s.pad_w;
        std::fill(out, out + rows.begin * s.w_out, 0.0f);
        for (std::int64_t oh = rows.begin; oh < rows.end; ++oh) {
          // The pixel that output column 0 would read, possibly in the left padding.
          const float* src = image + (oh * s.stride_h + row_offset) * s.w + col_offset;
          float* dst = out + oh * s.w_out;
          for (std::size_t chunk = 0; chunk < tap.valid.size(); ++chunk) {
            const std::int64_t k = static_cast<std::int64_t>(chunk) * 16;
            _mm512_mask_storeu_ps(dst + k, tap.store[chunk], load_tap_row(src, k, s.stride_w, tap.valid[chunk], tap.step));
          }
        }
        std::fill(out + rows.end * s.w_out, out + plane, 0.0f);
      }
    }
  }
}

// col2im at unit column stride, one image row at a time: each 16-pixel
// chunk of input row ih sums, in registers, the col rows of every tap (i, j)
// that read it, then is stored once. No read-modify-write of x (whose
// overlapping masked stores would stall on store forwarding) and no zero
// fill first.
void col2im_rows(const Conv2dShape& s, const float* col, float* x) {
  const std::int64_t plane = out_plane(s);
  // masks[j][chunk]: pixels of the chunk that tap column j reads from some output column.
  std::vector<std::vector<__mmask16>> masks(static_cast<std::size_t>(s.kw));
  for (std::int64_t j = 0; j < s.kw; ++j) {
    const std::int64_t col_offset = j * s.dil_w - s.pad_w;  // pixel iw = ow + col_offset
    for (std::int64_t k = 0; k < s.w; k += 16)
      masks[static_cast<std::size_t>(j)].push_back(
          lanes_between(std::max<std::int64_t>(col_offset, 0) - k, std::min(s.w, s.w_out + col_offset) - k));
  }
  for (std::int64_t c = 0; c < s.c_in; ++c) {
    const float* taps = col + c * s.kh * s.kw * plane;
    for (std::int64_t ih = 0; ih < s.h; ++ih) {
      float* dst = x + (c * s.h + ih) * s.w;
      for (std::int64_t k = 0, chunk = 0; k < s.w; k += 16, ++chunk) {
        __m512 acc = _mm512_setzero_ps();
        for (std::int64_t i = 0; i < s.kh; ++i) {
          const std::int64_t t = ih + s.pad_h - i * s.dil_h;  // = oh · stride_h
          if (t < 0 || t % s.stride_h != 0 || t / s.stride_h >= s.h_out) continue;
          const float* row = taps + i * s.kw * plane + (t / s.stride_h) * s.w_out;
          for (std::int64_t j = 0; j < s.kw; ++j) {
            const __mmask16 m = masks[static_cast<std::size_t>(j)][static_cast<std::size_t>(chunk)];
            // Pixel k + lane comes from output column k + lane − col_offset.
            acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(m, row + j * plane + k - (j * s.dil_w - s.pad_w)));
          }
        }
        _mm512_mask_storeu_ps(dst + k, lanes_between(0, s.w - k), acc);
      }
    }
  }
}

// col2im at other column strides: a gather-add-scatter per 16 output columns
// (one row's pixels are distinct, so the scatter has no conflicts). x must
// hold zeros.
void col2im_strided(const Conv2dShape& s, const float* col, float* x) {
  const std::int64_t plane = out_plane(s);
  for (std::int64_t j = 0; j < s.kw; ++j) {
    const std::int64_t col_offset = j * s.dil_w - s.pad_w;
    const TapLanes lanes = tap_lanes(s, valid_outputs(col_offset, s.stride_w, s.w, s.w_out));
    for (std::int64_t c = 0; c < s.c_in; ++c) {
      float* image = x + c * s.h * s.w;
      for (std::int64_t i = 0; i < s.kh; ++i) {
        const std::int64_t row_offset = i * s.dil_h - s.pad_h;
        const ValidRange rows = valid_outputs(row_offset, s.stride_h, s.h, s.h_out);
        const float* in = col + ((c * s.kh + i) * s.kw + j) * plane;
        for (std::int64_t oh = rows.begin; oh < rows.end; ++oh) {
          const float* src = in + oh * s.w_out;
          float* dst = image + (oh * s.stride_h + row_offset) * s.w + col_offset;
          for (std::size_t chunk = 0; chunk < lanes.valid.size(); ++chunk) {
            const std::int64_t k = static_cast<std::int64_t>(chunk) * 16;
            const __mmask16 valid = lanes.valid[chunk];
            float* at = dst + k * s.stride_w;
            const __m512 sum = _mm512_add_ps(_mm512_mask_i32gather_ps(_mm512_setzero_ps(), valid, lanes.step, at, 4),
                                             _mm512_maskz_loadu_ps(valid, src + k));
            _mm512_mask_i32scatter_ps(at, valid, lanes.step, sum, 4);
          }
        }
      }
    }
  }
}
#pragma GCC diagnostic pop
#endif

template <class T>
void im2col(const Conv2dShape& s, const T* x, T* col) {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float>) return im2col_vector(s, x, col);
#endif
  im2col_generic(s, x, col);
}

// x[c_in, h, w] = the adjoint of im2col applied to col (x is overwritten).
template <class T>
void col2im(const Conv2dShape& s, const T* col, T* x) {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float>) {
    if (s.stride_w == 1) return col2im_rows(s, col, x);
    std::fill(x, x + s.c_in * s.h * s.w, 0.0f);
    return col2im_strided(s, col, x);
  }
#endif
  std::fill(x, x + s.c_in * s.h * s.w, T(0));
  col2im_generic(s, col, x);
}

// C (rows×cols, contiguous) = alpha·op(A)·op(B) + beta·C, A and B row-major
// with the given row strides, optionally read transposed.
template <class T>
void matmul(std::int64_t m, std::int64_t n, std::int64_t k, const T* a, std::int64_t lda, bool trans_a,
            const T* b, std::int64_t ldb, bool trans_b, T* c, T beta) {
  StridedMatrices<T> ma{a, m, k, trans_a ? 1 : lda, trans_a ? lda : 1, {}};
  StridedMatrices<T> mb{b, k, n, trans_b ? 1 : ldb, trans_b ? ldb : 1, {}};
  gemm(Shape{}, ma, mb, c, T(1), beta);
}

// Runs body(begin, end) over image ranges: one range per OpenMP thread when
// `parallel`, else all images at once on this thread (where OpenBLAS may use
// its own threads for the products).
template <class Body>
void for_image_ranges(std::int64_t n, bool parallel, Body&& body) {
  const std::int64_t threads = parallel ? std::min<std::int64_t>(n, omp_get_max_threads()) : 1;
  if (threads <= 1) {
    body(std::int64_t{0}, n, std::int64_t{0});
    return;
  }
  parallel_for(threads, true, [&](std::int64_t t) { body(n * t / threads, n * (t + 1) / threads, t); });
}

bool worth_threads(const Conv2dShape& s) {
  return s.n > 1 && s.n * s.c_out * out_plane(s) * (col_rows(s) / s.groups) >= kParallelConvWork &&
         omp_get_max_threads() > 1;
}

template <class T>
std::unique_ptr<T[]> scratch(std::int64_t count) {
  return std::unique_ptr<T[]>(new T[static_cast<std::size_t>(count)]);  // uninitialised on purpose
}

// The column matrix of one image: unfolded into col, or, for a pointwise
// kernel (col null), the image itself.
template <class T>
const T* columns(const Conv2dShape& s, const T* image, T* col) {
  if (!col) return image;
  im2col(s, image, col);
  return col;
}

// The sum of one output plane of grad_y: the bias gradient's per-image part.
// One function for both callers, so they round alike.
template <class T>
T plane_sum(const T* g, std::int64_t plane) {
  T part = 0;
#pragma omp simd reduction(+ : part)
  for (std::int64_t i = 0; i < plane; ++i) part += g[i];
  return part;
}

// grad_b[c] = Σ over images, in order, of plane_sums[n, c]: a long sum,
// accumulated in double as cr::sum does.
template <class T>
void sum_plane_sums(const Conv2dShape& s, const T* plane_sums, T* grad_b) {
  for (std::int64_t c = 0; c < s.c_out; ++c) {
    double total = 0;
    for (std::int64_t n = 0; n < s.n; ++n) total += plane_sums[n * s.c_out + c];
    grad_b[c] = static_cast<T>(total);
  }
}

// grad_w (and grad_b when not null) of an im2col convolution. The bias
// gradient is summed per image right after that image's product, while its
// grad_y planes are still in cache: one pass over grad_y instead of two.
template <class T>
void backward_weight_and_bias(const Conv2dShape& s, const T* x, const T* grad_y, T* grad_w, T* grad_b) {
  const std::int64_t plane = out_plane(s), rows = col_rows(s);
  const std::int64_t k_group = rows / s.groups, c_out_group = s.c_out / s.groups;
  const std::int64_t image = s.c_in * s.h * s.w;
  const std::int64_t weight_size = s.c_out * k_group;
  const bool pointwise = is_pointwise(s);
  const bool parallel = worth_threads(s);
  const std::int64_t threads = parallel ? std::min<std::int64_t>(s.n, omp_get_max_threads()) : 1;
  // Thread 0 sums into grad_w; each other thread into its own partial sum.
  std::unique_ptr<T[]> partials = threads > 1 ? scratch<T>((threads - 1) * weight_size) : nullptr;
  std::unique_ptr<T[]> plane_sums = grad_b ? scratch<T>(s.n * s.c_out) : nullptr;
  std::fill(grad_w, grad_w + weight_size, T(0));
  if (threads > 1) std::fill(partials.get(), partials.get() + (threads - 1) * weight_size, T(0));
  for_image_ranges(s.n, parallel, [&](std::int64_t begin, std::int64_t end, std::int64_t t) {
    T* acc = t == 0 ? grad_w : partials.get() + (t - 1) * weight_size;
    std::unique_ptr<T[]> col = pointwise ? nullptr : scratch<T>(rows * plane);
    for (std::int64_t n = begin; n < end; ++n) {
      const T* cols = columns(s, x + n * image, col.get());
      const T* g = grad_y + n * s.c_out * plane;
      for (std::int64_t grp = 0; grp < s.groups; ++grp)
        matmul<T>(c_out_group, k_group, plane, g + grp * c_out_group * plane, plane, false,
                  cols + grp * k_group * plane, plane, true, acc + grp * c_out_group * k_group, T(1));
      if (grad_b)
        for (std::int64_t c = 0; c < s.c_out; ++c) plane_sums[n * s.c_out + c] = plane_sum(g + c * plane, plane);
    }
  });
  for (std::int64_t t = 1; t < threads; ++t) {
    const T* p = partials.get() + (t - 1) * weight_size;
#pragma omp simd
    for (std::int64_t i = 0; i < weight_size; ++i) grad_w[i] += p[i];
  }
  if (grad_b) sum_plane_sums(s, plane_sums.get(), grad_b);
}

}  // namespace

template <class T>
void conv2d_forward(const Conv2dShape& s, const T* x, const T* weight, const T* bias, T* y) {
  if constexpr (std::is_same_v<T, float>)
    if (onednn_conv2d_forward(s, x, weight, bias, y)) return;
  const std::int64_t plane = out_plane(s), rows = col_rows(s);
  const std::int64_t k_group = rows / s.groups, c_out_group = s.c_out / s.groups;
  const std::int64_t image = s.c_in * s.h * s.w;
  const bool pointwise = is_pointwise(s);
  for_image_ranges(s.n, worth_threads(s), [&](std::int64_t begin, std::int64_t end, std::int64_t) {
    std::unique_ptr<T[]> col = pointwise ? nullptr : scratch<T>(rows * plane);
    for (std::int64_t n = begin; n < end; ++n) {
      const T* cols = columns(s, x + n * image, col.get());
      T* out = y + n * s.c_out * plane;
      for (std::int64_t g = 0; g < s.groups; ++g)
        matmul<T>(c_out_group, plane, k_group, weight + g * c_out_group * k_group, k_group, false,
                  cols + g * k_group * plane, plane, false, out + g * c_out_group * plane, T(0));
      if (bias)
        for (std::int64_t c = 0; c < s.c_out; ++c) {
          T* row = out + c * plane;
          const T b = bias[c];
#pragma omp simd
          for (std::int64_t i = 0; i < plane; ++i) row[i] += b;
        }
    }
  });
}

template <class T>
void conv2d_backward_input(const Conv2dShape& s, const T* grad_y, const T* weight, T* grad_x) {
  if constexpr (std::is_same_v<T, float>)
    if (onednn_conv2d_backward(s, nullptr, grad_y, weight, grad_x, nullptr, nullptr)) return;
  const std::int64_t plane = out_plane(s), rows = col_rows(s);
  const std::int64_t k_group = rows / s.groups, c_out_group = s.c_out / s.groups;
  const std::int64_t image = s.c_in * s.h * s.w;
  const bool pointwise = is_pointwise(s);
  for_image_ranges(s.n, worth_threads(s), [&](std::int64_t begin, std::int64_t end, std::int64_t) {
    std::unique_ptr<T[]> col = pointwise ? nullptr : scratch<T>(rows * plane);
    for (std::int64_t n = begin; n < end; ++n) {
      // A pointwise kernel's columns are the image, so the product lands there directly.
      T* cols = pointwise ? grad_x + n * image : col.get();
      const T* g = grad_y + n * s.c_out * plane;
      for (std::int64_t grp = 0; grp < s.groups; ++grp)
        matmul<T>(k_group, plane, c_out_group, weight + grp * c_out_group * k_group, k_group, true,
                  g + grp * c_out_group * plane, plane, false, cols + grp * k_group * plane, T(0));
      if (!pointwise) col2im(s, cols, grad_x + n * image);
    }
  });
}

template <class T>
void conv2d_backward_weight(const Conv2dShape& s, const T* x, const T* grad_y, T* grad_w) {
  if constexpr (std::is_same_v<T, float>)
    if (onednn_conv2d_backward(s, x, grad_y, nullptr, nullptr, grad_w, nullptr)) return;
  backward_weight_and_bias<T>(s, x, grad_y, grad_w, nullptr);
}

template <class T>
void conv2d_backward_bias(const Conv2dShape& s, const T* grad_y, T* grad_b) {
  const std::int64_t plane = out_plane(s);
  parallel_for(s.c_out, s.n * s.c_out * plane > 4 * kParallelGrain, [&](std::int64_t c) {
    double total = 0;  // a long sum: accumulate in double, as cr::sum does
    for (std::int64_t n = 0; n < s.n; ++n) total += plane_sum(grad_y + (n * s.c_out + c) * plane, plane);
    grad_b[c] = static_cast<T>(total);
  });
}

template <class T>
void conv2d_backward(const Conv2dShape& s, const T* x, const T* grad_y, const T* weight, T* grad_x, T* grad_w,
                     T* grad_b) {
  if constexpr (std::is_same_v<T, float>) {
    // oneDNN sums the bias gradient only alongside the weight's.
    if (onednn_conv2d_backward(s, x, grad_y, weight, grad_x, grad_w, grad_w ? grad_b : nullptr)) {
      if (grad_b && !grad_w) conv2d_backward_bias(s, grad_y, grad_b);
      return;
    }
  }
  if (grad_x) conv2d_backward_input(s, grad_y, weight, grad_x);
  if (grad_w) backward_weight_and_bias(s, x, grad_y, grad_w, grad_b);
  else if (grad_b) conv2d_backward_bias(s, grad_y, grad_b);
}

#define CR_INSTANTIATE(T)                                                                        \
  template void conv2d_forward<T>(const Conv2dShape&, const T*, const T*, const T*, T*);         \
  template void conv2d_backward_input<T>(const Conv2dShape&, const T*, const T*, T*);            \
  template void conv2d_backward_weight<T>(const Conv2dShape&, const T*, const T*, T*);          \
  template void conv2d_backward_bias<T>(const Conv2dShape&, const T*, T*);                      \
  template void conv2d_backward<T>(const Conv2dShape&, const T*, const T*, const T*, T*, T*, T*);
CR_INSTANTIATE(float)
CR_INSTANTIATE(double)
#undef CR_INSTANTIATE

}  // namespace cr::cpu
