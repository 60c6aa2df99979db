#pragma once
// Backpropagation: walks the graph from the outputs back to the inputs.

#include <optional>
#include <vector>

#include "chainrule/core/tensor.h"

namespace cr::autograd {

/// Accumulates d(sum of outputs·grad_outputs)/d(leaf) into every leaf's grad().
/// Tensor::backward calls this with one output.
void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs = {},
              bool retain_graph = false, bool create_graph = false, CR_LOC);

/// Returns d(sum of outputs·grad_outputs)/d(input) for each input, without
/// touching any grad(). With create_graph the results are themselves
/// differentiable. An input the outputs do not depend on is an error unless
/// allow_unused, when its gradient is an undefined Tensor.
/// retain_graph defaults to create_graph, as in PyTorch.
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {},
                         std::optional<bool> retain_graph = std::nullopt,
                         bool create_graph = false, bool allow_unused = false, CR_LOC);

}  // namespace cr::autograd
