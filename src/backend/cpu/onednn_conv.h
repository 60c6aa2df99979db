#pragma once
// float32 convolutions on oneDNN's JIT kernels. Each function returns false,
// having written nothing the caller relies on, where chainrule was built
// without oneDNN or oneDNN declines the geometry; the caller then runs its
// own im2col + GEMM kernels (backend/cpu/conv.cpp). Tensors are contiguous
// NCHW (weights OIHW) on both sides: the reorders into oneDNN's blocked
// layouts and back happen in here.

#include "backend/cpu/conv.h"

namespace cr::cpu {

/// Whether this build can send convolutions to oneDNN (CMake option CHAINRULE_ONEDNN).
bool onednn_convolution_built();

/// Turns the oneDNN path on or off for the whole process: on where built,
/// unless the environment sets CHAINRULE_ONEDNN_CONV=0. Tests use it to run
/// the im2col kernels on float32 too.
void set_onednn_convolution_enabled(bool enabled);
bool onednn_convolution_enabled();

/// y = conv(x, weight) + bias (bias may be null).
bool onednn_conv2d_forward(const Conv2dShape& s, const float* x, const float* weight, const float* bias, float* y);

/// grad_x = the adjoint of conv(·, weight) applied to grad_y (overwritten).
bool onednn_conv2d_backward_input(const Conv2dShape& s, const float* grad_y, const float* weight, float* grad_x);

/// grad_w = Σ over images of grad_y ⋆ x (overwritten).
bool onednn_conv2d_backward_weight(const Conv2dShape& s, const float* x, const float* grad_y, float* grad_w);

}  // namespace cr::cpu
