#pragma once
// Stateless neural-network functions (cr::nn::functional, as torch::nn::functional).
// Modules in cr::nn are thin owners of parameters around these.

#include <optional>
#include <string>

#include "chainrule/core/tensor.h"

namespace cr::nn {

/// A pair of sizes (height, width); a single number means both.
struct Size2 {
  Size2(std::int64_t both) : h(both), w(both) {}  // NOLINT: implicit, as LibTorch's ExpandingArray
  Size2(std::int64_t height, std::int64_t width) : h(height), w(width) {}
  /// "(h, w)", for error messages and module descriptions.
  std::string str() const {
    std::string s = "(";  // appended piece by piece: GCC 12 misreads "(" + std::string (-Wrestrict)
    s += std::to_string(h);
    s += ", ";
    s += std::to_string(w);
    s += ')';
    return s;
  }
  std::int64_t h, w;
};

/// How a loss combines per-element losses.
enum class Reduction { None, Mean, Sum };
inline constexpr Reduction kNone = Reduction::None;
inline constexpr Reduction kMean = Reduction::Mean;
inline constexpr Reduction kSum = Reduction::Sum;

namespace functional {

/// input·weightᵀ + bias, with weight [out_features, in_features]; one GEMM.
Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias = {}, CR_LOC);

/// 2-D convolution over input [N, C_in, H, W] with weight [C_out, C_in/groups, kH, kW].
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias = {}, Size2 stride = 1,
              Size2 padding = 0, Size2 dilation = 1, std::int64_t groups = 1, CR_LOC);
/// Max over windows; stride defaults to the kernel size. Padding is -inf.
Tensor max_pool2d(const Tensor& input, Size2 kernel_size, std::optional<Size2> stride = std::nullopt,
                  Size2 padding = 0, Size2 dilation = 1, bool ceil_mode = false, CR_LOC);
/// Mean over windows; stride defaults to the kernel size.
Tensor avg_pool2d(const Tensor& input, Size2 kernel_size, std::optional<Size2> stride = std::nullopt,
                  Size2 padding = 0, bool ceil_mode = false, bool count_include_pad = true, CR_LOC);
/// Mean pooling to a fixed output size, as PyTorch computes its windows.
Tensor adaptive_avg_pool2d(const Tensor& input, Size2 output_size, CR_LOC);

/// Batch normalisation over dim 1 of [N, C] or [N, C, ...]. In training it
/// uses batch statistics and updates running_mean/running_var in place
/// (unbiased variance, PyTorch's momentum convention); otherwise it uses them.
/// weight, bias, running_mean and running_var may be undefined.
Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight = {}, const Tensor& bias = {}, bool training = false,
                  double momentum = 0.1, double eps = 1e-5, CR_LOC);
/// Normalises over the trailing dims given by normalized_shape.
Tensor layer_norm(const Tensor& input, const Shape& normalized_shape, const Tensor& weight = {},
                  const Tensor& bias = {}, double eps = 1e-5, CR_LOC);
/// Zeroes elements with probability p and scales the rest by 1/(1-p) when training.
Tensor dropout(const Tensor& input, double p = 0.5, bool training = true, CR_LOC);

/// Cross entropy of logits [N, C] (or [N, C, d...]) against int64 class indices
/// [N] (or [N, d...]). Fused and numerically stable: its backward is
/// softmax − one-hot in one kernel. Targets equal to ignore_index contribute nothing.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, Reduction reduction = kMean,
                     double label_smoothing = 0.0, std::int64_t ignore_index = -100, CR_LOC);
/// Negative log likelihood of log-probabilities [N, C] against int64 targets [N].
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction = kMean,
                std::int64_t ignore_index = -100, CR_LOC);
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = kMean, CR_LOC);
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = kMean, CR_LOC);
/// input holds probabilities in [0, 1]; log terms are clamped at -100 as in PyTorch.
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, Reduction reduction = kMean,
                            CR_LOC);
/// Stable form taking logits.
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target,
                                        Reduction reduction = kMean, CR_LOC);
Tensor softmax(const Tensor& input, std::int64_t dim, CR_LOC);
Tensor log_softmax(const Tensor& input, std::int64_t dim, CR_LOC);

}  // namespace functional
}  // namespace cr::nn
