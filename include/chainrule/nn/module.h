#pragma once
// cr::nn::Module: the base of every layer and model. It owns named
// parameters, buffers and child modules; names join with dots exactly as
// PyTorch's state_dict keys do ("features.0.weight", "bn1.running_mean").

#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "chainrule/core/tensor.h"

namespace cr::nn {

class Module : public std::enable_shared_from_this<Module> {
 public:
  /// `type_name` is what printing shows ("Linear", "Sequential").
  explicit Module(std::string type_name = "Module");
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  /// The computation. Modules with other signatures add their own forward.
  virtual Tensor forward(const Tensor& input);
  /// Calls forward with this module's name pushed onto the autograd scope, so
  /// every node it records knows which layer made it ("encoder.3").
  Tensor operator()(const Tensor& input);

  /// Adds a parameter (a leaf that requires grad unless told otherwise) and returns it.
  Tensor& register_parameter(std::string name, Tensor tensor, bool requires_grad = true);
  /// Adds a buffer: state that is saved and moved with the module but not trained.
  Tensor& register_buffer(std::string name, Tensor tensor);
  /// Adds a child; its parameters appear under "name.".
  template <class M>
  std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> module) {
    add_child(std::move(name), module);
    return module;
  }

  std::vector<Tensor> parameters(bool recurse = true) const;
  std::vector<std::pair<std::string, Tensor>> named_parameters(bool recurse = true) const;
  std::vector<Tensor> buffers(bool recurse = true) const;
  std::vector<std::pair<std::string, Tensor>> named_buffers(bool recurse = true) const;
  std::vector<std::shared_ptr<Module>> children() const;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const;
  /// This module and all below it, depth first, with dotted names ("" for this one).
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_modules();

  /// Sets training mode here and in every child (affects Dropout, BatchNorm).
  virtual void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  /// Clears every parameter's gradient (set_to_none) or zeroes it in place.
  void zero_grad(bool set_to_none = true);
  /// Converts every parameter and float buffer to `dtype`, keeping the same handles.
  void to(DType dtype);

  const std::string& type_name() const { return type_name_; }
  /// One line describing this module's configuration ("in_features=784, out_features=10").
  virtual std::string extra_repr() const { return ""; }
  /// The module tree, indented, as PyTorch prints it.
  std::string to_string() const;

 protected:
  void add_child(std::string name, std::shared_ptr<Module> module);

 private:
  void print(std::ostream& os, int indent) const;

  std::string type_name_;
  std::string scope_name_;  // the name this module was registered under in its parent
  bool training_ = true;
  std::vector<std::pair<std::string, Tensor>> parameters_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

std::ostream& operator<<(std::ostream& os, const Module& module);

}  // namespace cr::nn
