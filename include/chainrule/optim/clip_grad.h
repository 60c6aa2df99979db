#pragma once
// Gradient clipping, as torch.nn.utils.clip_grad_norm_ / clip_grad_value_.
// Both change the parameters' .grad() in place (bumping their versions) and
// skip parameters without a gradient. Also reachable as cr::nn::utils::...,
// LibTorch's spelling.

#include <limits>
#include <vector>

#include "chainrule/core/tensor.h"

namespace cr::optim {

/// The norm of all gradients together, as if concatenated into one vector.
/// When it exceeds max_norm, every gradient is scaled by
/// max_norm / (total_norm + 1e-6). norm_type is p > 0 or infinity (the
/// largest magnitude). Returns the total norm before clipping; with
/// error_if_nonfinite, a NaN or infinite norm throws instead of being used.
double clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false, CR_LOC);
double clip_grad_norm_(const Tensor& parameter, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false, CR_LOC);

/// Clamps every gradient element to [-clip_value, clip_value].
void clip_grad_value_(const std::vector<Tensor>& parameters, double clip_value, CR_LOC);
void clip_grad_value_(const Tensor& parameter, double clip_value, CR_LOC);

}  // namespace cr::optim

namespace cr::nn::utils {
using cr::optim::clip_grad_norm_;
using cr::optim::clip_grad_value_;
}  // namespace cr::nn::utils
