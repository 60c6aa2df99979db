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

/// The gradients of y = conv(x, weight) + bias that are asked for (non-null
/// outputs, overwritten): grad_x needs weight, grad_w needs x. grad_b comes
/// only with grad_w, summed while oneDNN reads grad_y for it; grad_y is
/// reordered once for both products.
bool onednn_conv2d_backward(const Conv2dShape& s, const float* x, const float* grad_y, const float* weight,
                            float* grad_x, float* grad_w, float* grad_b);

}  // namespace cr::cpu
