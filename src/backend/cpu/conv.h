#pragma once
// 2-D convolution kernels on contiguous NCHW memory. All three products of a
// convolution (forward, gradient of the input, gradient of the weight) are
// written here; the ops layer only checks shapes, makes inputs contiguous and
// records autograd nodes. float32 goes to oneDNN's convolutions where built
// (backend/cpu/onednn_conv.h); float64, and whatever oneDNN declines, runs
// im2col + GEMM.

#include <cstdint>

namespace cr::cpu {

/// Every size of one convolution. The weight is [c_out, c_in / groups, kh, kw].
struct Conv2dShape {
  std::int64_t n = 0, c_in = 0, h = 0, w = 0;
  std::int64_t c_out = 0, kh = 0, kw = 0;
  std::int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1;
  std::int64_t groups = 1;
  std::int64_t h_out = 0, w_out = 0;
};

/// y[n, c_out, h_out, w_out] = conv(x, weight) + bias. `bias` may be null.
template <class T>
void conv2d_forward(const Conv2dShape& s, const T* x, const T* weight, const T* bias, T* y);

/// grad_x[n, c_in, h, w] = the adjoint of conv(·, weight) applied to grad_y.
template <class T>
void conv2d_backward_input(const Conv2dShape& s, const T* grad_y, const T* weight, T* grad_x);

/// grad_w[c_out, c_in / groups, kh, kw] = Σ over images of grad_y ⋆ x.
template <class T>
void conv2d_backward_weight(const Conv2dShape& s, const T* x, const T* grad_y, T* grad_w);

/// grad_b[c_out] = Σ over images and output positions of grad_y.
template <class T>
void conv2d_backward_bias(const Conv2dShape& s, const T* grad_y, T* grad_b);

/// The gradients of y = conv(x, weight) + bias asked for by non-null outputs,
/// in one pass where the kernels share work (oneDNN reads grad_y once for
/// the input's and the weight's, and sums the bias's on the way). x may be
/// null without grad_w, weight without grad_x.
template <class T>
void conv2d_backward(const Conv2dShape& s, const T* x, const T* grad_y, const T* weight, T* grad_x, T* grad_w,
                     T* grad_b);

}  // namespace cr::cpu
