#pragma once
// cr::nn::init: in-place initialisers for parameters, as torch::nn::init.
// Each runs under NoGradGuard (so it may write into a parameter that requires
// grad), draws from cr's global generator (cr::manual_seed makes it
// reproducible) and returns the tensor it filled.

#include <cstdint>
#include <utility>

#include "chainrule/core/tensor.h"

namespace cr::nn::init {

/// Which fan kaiming_* preserves: fan_in keeps forward activations' variance,
/// fan_out keeps backward gradients' variance.
enum class FanMode { FanIn, FanOut };
inline constexpr FanMode kFanIn = FanMode::FanIn;
inline constexpr FanMode kFanOut = FanMode::FanOut;

/// The nonlinearity a layer feeds, for calculate_gain.
enum class Nonlinearity { Linear, Conv1d, Conv2d, Conv3d, Sigmoid, Tanh, ReLU, LeakyReLU, SELU };
inline constexpr Nonlinearity kLinear = Nonlinearity::Linear;
inline constexpr Nonlinearity kConv1d = Nonlinearity::Conv1d;
inline constexpr Nonlinearity kConv2d = Nonlinearity::Conv2d;
inline constexpr Nonlinearity kConv3d = Nonlinearity::Conv3d;
inline constexpr Nonlinearity kSigmoid = Nonlinearity::Sigmoid;
inline constexpr Nonlinearity kTanh = Nonlinearity::Tanh;
inline constexpr Nonlinearity kReLU = Nonlinearity::ReLU;
inline constexpr Nonlinearity kLeakyReLU = Nonlinearity::LeakyReLU;
inline constexpr Nonlinearity kSELU = Nonlinearity::SELU;

/// The recommended gain for `nonlinearity` (PyTorch's table: ReLU √2, Tanh 5/3,
/// LeakyReLU √(2/(1+slope²)) with `param` the slope, default 0.01; SELU 3/4).
double calculate_gain(Nonlinearity nonlinearity, double param = 0.01);

/// (fan_in, fan_out) of a weight of at least 2 dims, as PyTorch's
/// _calculate_fan_in_and_fan_out: dim 1 × receptive field and dim 0 × receptive field.
std::pair<std::int64_t, std::int64_t> calculate_fan_in_and_fan_out(const Tensor& tensor, CR_LOC);

/// Uniform on [low, high).
Tensor uniform_(Tensor tensor, double low = 0.0, double high = 1.0, CR_LOC);
Tensor normal_(Tensor tensor, double mean = 0.0, double std = 1.0, CR_LOC);
Tensor constant_(Tensor tensor, double value, CR_LOC);
Tensor zeros_(Tensor tensor, CR_LOC);
Tensor ones_(Tensor tensor, CR_LOC);
/// Glorot: U(−a, a) with a = gain·√(6/(fan_in+fan_out)).
Tensor xavier_uniform_(Tensor tensor, double gain = 1.0, CR_LOC);
/// Glorot: N(0, std²) with std = gain·√(2/(fan_in+fan_out)).
Tensor xavier_normal_(Tensor tensor, double gain = 1.0, CR_LOC);
/// He: U(−b, b) with b = gain·√(3/fan), gain = calculate_gain(nonlinearity, a).
Tensor kaiming_uniform_(Tensor tensor, double a = 0.0, FanMode mode = kFanIn,
                        Nonlinearity nonlinearity = kLeakyReLU, CR_LOC);
/// He: N(0, std²) with std = gain/√fan.
Tensor kaiming_normal_(Tensor tensor, double a = 0.0, FanMode mode = kFanIn,
                       Nonlinearity nonlinearity = kLeakyReLU, CR_LOC);

}  // namespace cr::nn::init
