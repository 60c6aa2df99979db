#pragma once
// 2-D pooling kernels on contiguous [planes, H, W] memory (planes = N·C).
// Each plane is independent, so the work is split over planes.

#include <cstdint>
#include <vector>

namespace cr::cpu {

/// A max pooling window grid: output (oh, ow) looks at input rows
/// oh·stride_h − pad_h + i·dil_h for i < kh (and likewise for columns),
/// skipping those outside the input.
struct MaxPool2dShape {
  std::int64_t planes = 0, h = 0, w = 0, h_out = 0, w_out = 0;
  std::int64_t kh = 1, kw = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1;
};

/// Where a window's maximum came from: ih·w + iw within its plane (as PyTorch
/// stores it), or -1 for a window wholly in the padding. 32 bits, half the
/// memory traffic of int64: callers check that a plane fits.
using PoolIndex = std::int32_t;

/// y = the window maxima, indices = where each came from. A NaN in a window
/// wins, as in PyTorch.
template <class T>
void max_pool2d_forward(const MaxPool2dShape& s, const T* x, T* y, PoolIndex* indices);

/// grad_x = zeros, then grad_y scattered (added) to the positions in indices.
/// The window fields of s (kh, stride_h, ...) must be those of the forward
/// pass that produced indices, or left at their defaults; plain 2×2 windows
/// take a faster path that writes each input pixel once.
template <class T>
void max_pool2d_backward(const MaxPool2dShape& s, const T* grad_y, const PoolIndex* indices, T* grad_x);

/// The adjoint of max_pool2d_backward: grad_y[i] = grad_x at indices[i] (0
/// where the index is -1, a window with no input element).
template <class T>
void max_pool2d_gather(const MaxPool2dShape& s, const T* grad_x, const PoolIndex* indices, T* grad_y);

/// Averaging windows along one axis: output i averages input [begin[i], end[i])
/// and counts as `divisor[i]` elements (more than end − begin when padding counts).
struct PoolWindows {
  std::vector<std::int64_t> begin, end, divisor;
};

/// An averaging grid: rows and columns are independent, so a window is the
/// product of a row window and a column window.
struct AvgPool2dShape {
  std::int64_t planes = 0, h = 0, w = 0;
  PoolWindows rows, cols;
  std::int64_t h_out() const { return static_cast<std::int64_t>(rows.begin.size()); }
  std::int64_t w_out() const { return static_cast<std::int64_t>(cols.begin.size()); }
};

/// y[oh, ow] = Σ window / (rows.divisor[oh] · cols.divisor[ow]).
template <class T>
void avg_pool2d_forward(const AvgPool2dShape& s, const T* x, T* y);

/// The adjoint of avg_pool2d_forward: each grad_y spread evenly over its window.
template <class T>
void avg_pool2d_backward(const AvgPool2dShape& s, const T* grad_y, T* grad_x);

}  // namespace cr::cpu
