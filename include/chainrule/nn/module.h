#pragma once
// cr::nn::Module: the base of every layer and model. It owns named
// parameters, buffers and child modules; names join with dots exactly as
// PyTorch's state_dict keys do ("features.0.weight", "bn1.running_mean").
//
// Modules live in std::shared_ptr (std::make_shared<cr::nn::Linear>(784, 10));
// there are no holder macros. Call a module with operator(), which is
// PyTorch's __call__: it runs forward() with the module's name pushed onto the
// autograd scope, so every graph node it records knows which layer made it
// ("features.0"). Inside your own forward, call children as (*fc1)(x):
// fc1->forward(x) computes the same values but records no scope.

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "chainrule/core/tensor.h"

namespace cr::nn {

class Module : public std::enable_shared_from_this<Module> {
 public:
  /// `type_name` is what printing shows ("Linear", "Sequential"); empty means
  /// the C++ class name of the most derived type, as PyTorch prints it.
  explicit Module(std::string type_name = "");
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  /// The computation. Modules with other signatures add their own forward.
  virtual Tensor forward(const Tensor& input);
  /// Calls forward with this module's name pushed onto the autograd scope, so
  /// every node it records knows which layer made it ("encoder.3"). `loc` is
  /// what the layer's own error messages point at.
  Tensor operator()(const Tensor& input, CR_LOC);

  /// Adds a parameter (a leaf that requires grad unless told otherwise) and
  /// returns it. Names are unique across parameters, buffers and children and
  /// contain no dots.
  Tensor register_parameter(std::string name, Tensor tensor, bool requires_grad = true, CR_LOC);
  /// Adds a buffer: state that is saved and moved with the module but not trained.
  Tensor register_buffer(std::string name, Tensor tensor, CR_LOC);
  /// Adds a child; its parameters appear under "name.".
  template <class M>
  std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> module, CR_LOC) {
    add_child(std::move(name), module, loc);
    return module;
  }

  /// Parameters in registration order, this module's first, then each child's.
  /// A tensor shared by two modules is listed once, under its first name.
  std::vector<Tensor> parameters(bool recurse = true) const;
  std::vector<std::pair<std::string, Tensor>> named_parameters(bool recurse = true) const;
  std::vector<Tensor> buffers(bool recurse = true) const;
  std::vector<std::pair<std::string, Tensor>> named_buffers(bool recurse = true) const;
  /// Every parameter and buffer under its PyTorch state_dict key, in PyTorch's
  /// order: each module's parameters, then its buffers, then its children's.
  std::vector<std::pair<std::string, Tensor>> state_dict() const;
  std::vector<std::shared_ptr<Module>> children() const;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const;
  /// This module and all below it, depth first, with dotted names ("" for this one).
  /// Needs this module to be owned by a std::shared_ptr.
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_modules(CR_LOC);
  std::vector<std::shared_ptr<Module>> modules(CR_LOC);
  /// Calls fn on every child module (depth first), then on this one, as PyTorch's apply.
  void apply(const std::function<void(Module&)>& fn);

  /// Sets training mode here and in every child (affects Dropout, BatchNorm).
  virtual void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  /// Clears every parameter's gradient (set_to_none) or zeroes it in place.
  void zero_grad(bool set_to_none = true);
  /// Converts every parameter and float buffer to `dtype`, keeping the same
  /// handles: tensors held by layers or optimizers see the new data.
  void to(DType dtype);

  /// The class name printing shows ("Linear").
  std::string type_name() const;
  /// The name this module was registered under in its parent ("0", "conv1"), or "".
  const std::string& name() const { return name_; }
  /// One line describing this module's configuration ("in_features=784, out_features=10").
  virtual std::string extra_repr() const { return ""; }
  /// The module tree, indented, as PyTorch prints it.
  std::string to_string() const;

 protected:
  void add_child(std::string name, std::shared_ptr<Module> module, const SourceLocation& loc);
  /// Inside forward: where the user called the module (the loc given to
  /// operator()), so a layer's errors point at user code, not at the library.
  static SourceLocation call_site();
  /// Inside forward: how errors name this layer, "Linear 'classifier.2'"
  /// (the dotted path of modules being called) or "Linear" at the top level.
  std::string describe_call() const;

 private:
  void check_new_name(const std::string& name, const char* op, const SourceLocation& loc) const;
  template <class F>
  void walk_tensors(bool parameters, bool buffers, bool recurse, F&& visit) const;

  std::string type_name_;
  std::string name_;  // the name this module was registered under in its parent
  bool training_ = true;
  std::vector<std::pair<std::string, Tensor>> parameters_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

std::ostream& operator<<(std::ostream& os, const Module& module);

namespace repr {
/// A double as Python's repr writes it ("0.1", "1e-05", "1.0"), for extra_repr.
std::string python_float(double value);
/// "True" / "False".
inline const char* python_bool(bool value) { return value ? "True" : "False"; }
}  // namespace repr

}  // namespace cr::nn
