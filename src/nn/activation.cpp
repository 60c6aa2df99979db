#include "chainrule/nn/activation.h"

#include "chainrule/ops/elementwise.h"
#include "chainrule/ops/reduction.h"

namespace cr::nn {

Tensor ReLU::forward(const Tensor& input) { return relu(input, call_site()); }

Tensor LeakyReLU::forward(const Tensor& input) { return leaky_relu(input, negative_slope, call_site()); }
std::string LeakyReLU::extra_repr() const { return "negative_slope=" + repr::python_float(negative_slope); }

Tensor GELU::forward(const Tensor& input) { return gelu(input, call_site()); }

Tensor Sigmoid::forward(const Tensor& input) { return sigmoid(input, call_site()); }

Tensor Tanh::forward(const Tensor& input) { return tanh(input, call_site()); }

Tensor Softmax::forward(const Tensor& input) { return softmax(input, dim, call_site()); }
std::string Softmax::extra_repr() const { return "dim=" + std::to_string(dim); }

}  // namespace cr::nn
