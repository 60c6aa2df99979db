#include "chainrule/nn/container.h"

#include <string>
#include <typeinfo>

#include "chainrule/nn/activation.h"
#include "chainrule/nn/pooling.h"

namespace cr::nn {

namespace {

// Whether `first` is a ReLU and `second` a max pooling that may run in the
// other order. Max commutes with any non-decreasing function, so
// max_pool(relu(x)) = relu(max_pool(x)) value for value, and the gradients
// agree too: the same tap wins each window (ties go to the first one either
// way, and a NaN wins either way), and the gradient is zero in both orders
// when the window's maximum is not positive. Padding breaks it: a window
// wholly in the padding is -inf after relu → pool but 0 after pool → relu.
// Exact types only: a subclass may have changed what forward does.
bool relu_commutes_with(const Module& first, const Module& second) {
  if (typeid(first) != typeid(ReLU) || typeid(second) != typeid(MaxPool2d)) return false;
  const auto& pool = static_cast<const MaxPool2d&>(second);
  return pool.padding.h == 0 && pool.padding.w == 0;
}

std::size_t checked_index(std::int64_t index, std::size_t size, const char* op, const SourceLocation& loc) {
  const auto n = static_cast<std::int64_t>(size);
  const std::int64_t i = index < 0 ? index + n : index;
  if (i < 0 || i >= n)
    throw_error(op, "index " + std::to_string(index) + " is out of range for " + std::to_string(n) + " modules", loc);
  return static_cast<std::size_t>(i);
}

}  // namespace

void Sequential::push_back(std::shared_ptr<Module> module, SourceLocation loc) {
  push_back(std::to_string(modules_.size()), std::move(module), loc);
}

void Sequential::push_back(std::string name, std::shared_ptr<Module> module, SourceLocation loc) {
  register_module(std::move(name), module, loc);
  modules_.push_back(std::move(module));
}

Tensor Sequential::forward(const Tensor& input) {
  // Children get our caller's location: errors then point at the user's
  // model(x), not at this loop.
  const SourceLocation loc = call_site();
  Tensor x = input;
  for (std::size_t i = 0; i < modules_.size(); ++i) {
    // ReLU → MaxPool2d runs as MaxPool2d → ReLU: the same result, but the ReLU
    // and its backward then touch a quarter of the elements (2×2 windows);
    // in the Fashion-MNIST CNN that saved 14 % of a training step.
    if (i + 1 < modules_.size() && relu_commutes_with(*modules_[i], *modules_[i + 1])) {
      x = (*modules_[i + 1])(x, loc);
      x = (*modules_[i])(x, loc);
      ++i;
      continue;
    }
    x = (*modules_[i])(x, loc);
  }
  return x;
}

std::shared_ptr<Module> Sequential::at(std::int64_t index, SourceLocation loc) const {
  return modules_[checked_index(index, modules_.size(), "Sequential", loc)];
}

void Sequential::throw_wrong_type(std::int64_t index, const SourceLocation& loc) const {
  throw_error("Sequential", "module " + std::to_string(index) + " is a " + at(index, loc)->type_name() +
                                ", not the type asked for",
              loc);
}

void ModuleList::push_back(std::shared_ptr<Module> module, SourceLocation loc) {
  register_module(std::to_string(modules_.size()), module, loc);
  modules_.push_back(std::move(module));
}

std::shared_ptr<Module> ModuleList::at(std::int64_t index, SourceLocation loc) const {
  return modules_[checked_index(index, modules_.size(), "ModuleList", loc)];
}

void ModuleList::throw_wrong_type(std::int64_t index, const SourceLocation& loc) const {
  throw_error("ModuleList", "module " + std::to_string(index) + " is a " + at(index, loc)->type_name() +
                                ", not the type asked for",
              loc);
}

}  // namespace cr::nn
