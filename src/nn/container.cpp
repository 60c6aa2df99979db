#include "chainrule/nn/container.h"

#include <string>

namespace cr::nn {

namespace {

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
  for (const auto& module : modules_) x = (*module)(x, loc);
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
