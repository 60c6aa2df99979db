#pragma once
// The three Fashion-MNIST models the command line trains. Parameter names
// follow PyTorch's (features.0.weight, ...), so checkpoints load in PyTorch.

#include <memory>
#include <string>
#include <vector>

#include "chainrule/nn.h"

namespace cr::tools {

/// Names accepted by --model.
const std::vector<std::string>& model_names();

/// A fresh, initialised model for 1×28×28 images and 10 classes.
/// Throws cr::Error for an unknown name.
std::shared_ptr<nn::Module> make_model(const std::string& name);

}  // namespace cr::tools
