#pragma once
// Containers: Sequential runs its children in order; ModuleList only holds them.

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "chainrule/nn/module.h"

namespace cr::nn {

/// Runs its children in order, each on the previous one's output. Children are
/// named "0", "1", ... as in PyTorch, unless pushed with a name.
///
/// One reordering, exact to the bit in values and gradients: a ReLU followed by
/// an unpadded MaxPool2d runs as the pooling then the ReLU, which then works on
/// the pooled (smaller) tensor. The ReLU module so sees the pooled tensor.
class Sequential : public Module {
 public:
  Sequential() : Module("Sequential") {}
  /// std::make_shared<Sequential>(std::make_shared<Linear>(2, 8), std::make_shared<ReLU>())
  template <class... M>
  explicit Sequential(std::shared_ptr<M>... modules) : Module("Sequential") {
    (push_back(std::move(modules)), ...);
  }

  /// Appends `module` under the next index as its name.
  void push_back(std::shared_ptr<Module> module, CR_LOC);
  /// Appends `module` under `name` (PyTorch's Sequential(OrderedDict(...))).
  void push_back(std::string name, std::shared_ptr<Module> module, CR_LOC);

  Tensor forward(const Tensor& input) override;

  std::size_t size() const { return modules_.size(); }
  bool empty() const { return modules_.empty(); }
  /// The i-th child; negative i counts from the end. Throws when out of range.
  std::shared_ptr<Module> operator[](std::int64_t index) const { return at(index); }
  std::shared_ptr<Module> at(std::int64_t index, CR_LOC) const;
  /// The i-th child as an M; throws when it is another type.
  template <class M>
  std::shared_ptr<M> at(std::int64_t index, CR_LOC) const {
    auto typed = std::dynamic_pointer_cast<M>(at(index, loc));
    if (!typed) throw_wrong_type(index, loc);
    return typed;
  }
  auto begin() const { return modules_.begin(); }
  auto end() const { return modules_.end(); }

 private:
  [[noreturn]] void throw_wrong_type(std::int64_t index, const SourceLocation& loc) const;
  std::vector<std::shared_ptr<Module>> modules_;
};

/// Holds modules under "0", "1", ... so their parameters are registered; it has
/// no forward of its own (the owner decides how to call them).
class ModuleList : public Module {
 public:
  ModuleList() : Module("ModuleList") {}
  template <class... M>
  explicit ModuleList(std::shared_ptr<M>... modules) : Module("ModuleList") {
    (push_back(std::move(modules)), ...);
  }

  void push_back(std::shared_ptr<Module> module, CR_LOC);
  std::size_t size() const { return modules_.size(); }
  bool empty() const { return modules_.empty(); }
  std::shared_ptr<Module> operator[](std::int64_t index) const { return at(index); }
  std::shared_ptr<Module> at(std::int64_t index, CR_LOC) const;
  template <class M>
  std::shared_ptr<M> at(std::int64_t index, CR_LOC) const {
    auto typed = std::dynamic_pointer_cast<M>(at(index, loc));
    if (!typed) throw_wrong_type(index, loc);
    return typed;
  }
  auto begin() const { return modules_.begin(); }
  auto end() const { return modules_.end(); }

 private:
  [[noreturn]] void throw_wrong_type(std::int64_t index, const SourceLocation& loc) const;
  std::vector<std::shared_ptr<Module>> modules_;
};

}  // namespace cr::nn
