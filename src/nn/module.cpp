#include "chainrule/nn/module.h"

#include <cxxabi.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <typeinfo>
#include <unordered_set>

#include "chainrule/autograd/grad_mode.h"
#include "chainrule/autograd/node.h"
#include "core/tensor_internal.h"

namespace cr::nn {

namespace {

// The modules being called on this thread, outermost first: their names make
// the dotted path an error message shows, and the innermost call's location
// is where a layer's errors point.
struct CallFrame {
  const Module* module;
  SourceLocation loc;
};
thread_local std::vector<CallFrame> call_stack;

class CallFrameGuard {
 public:
  CallFrameGuard(const Module* module, const SourceLocation& loc) { call_stack.push_back({module, loc}); }
  ~CallFrameGuard() { call_stack.pop_back(); }
  CallFrameGuard(const CallFrameGuard&) = delete;
  CallFrameGuard& operator=(const CallFrameGuard&) = delete;
};

std::string join(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

// "cr::nn::Linear" -> "Linear"; "(anonymous namespace)::Net" -> "Net".
std::string class_name(const std::type_info& type) {
  int status = 0;
  char* demangled = abi::__cxa_demangle(type.name(), nullptr, nullptr, &status);
  std::string name = status == 0 && demangled ? demangled : type.name();
  std::free(demangled);
  if (auto angle = name.find('<'); angle != std::string::npos) name.resize(angle);
  if (auto colon = name.rfind("::"); colon != std::string::npos) name.erase(0, colon + 2);
  return name;
}

// Every line after the first moves right by two spaces (PyTorch's _addindent).
std::string add_indent(const std::string& text) {
  std::string out;
  for (char c : text) {
    out += c;
    if (c == '\n') out += "  ";
  }
  return out;
}

}  // namespace

Module::Module(std::string type_name) : type_name_(std::move(type_name)) {}

Tensor Module::forward(const Tensor&) {
  throw_error(type_name(), "has no forward(Tensor); override forward or call its children directly",
              call_site());
}

Tensor Module::operator()(const Tensor& input, SourceLocation loc) {
  CallFrameGuard frame(this, loc);
  // A module called on its own (the root) adds no scope: PyTorch's keys have no root prefix.
  if (name_.empty()) return forward(input);
  autograd::ScopeGuard scope(name_);
  return forward(input);
}

SourceLocation Module::call_site() {
  return call_stack.empty() ? SourceLocation::current() : call_stack.back().loc;
}

std::string Module::describe_call() const {
  std::string path;
  for (const CallFrame& frame : call_stack)
    if (!frame.module->name_.empty()) path = join(path, frame.module->name_);
  const bool called = !call_stack.empty() && call_stack.back().module == this;
  if (!called) path = name_;
  return path.empty() ? type_name() : type_name() + " '" + path + "'";
}

void Module::check_new_name(const std::string& name, const char* op, const SourceLocation& loc) const {
  if (name.empty()) throw_error(op, "name must not be empty", loc);
  if (name.find('.') != std::string::npos)
    throw_error(op, "name '" + name + "' must not contain '.' (dots join the names of nested modules)", loc);
  auto taken = [&](const auto& entries) {
    for (const auto& entry : entries)
      if (entry.first == name) return true;
    return false;
  };
  if (taken(parameters_) || taken(buffers_) || taken(children_))
    throw_error(op, type_name() + " already has a parameter, buffer or module named '" + name + "'", loc);
}

Tensor Module::register_parameter(std::string name, Tensor tensor, bool requires_grad, SourceLocation loc) {
  check_new_name(name, "register_parameter", loc);
  detail::check_defined(tensor, "register_parameter", loc);
  if (!tensor.is_leaf())
    throw_error("register_parameter",
                "'" + name + "' has autograd history; a parameter must be a leaf (pass tensor.detach())", loc);
  if (requires_grad && !is_floating(tensor.dtype()))
    throw_error("register_parameter",
                "'" + name + "' is " + detail::describe(tensor) + "; only float tensors can require grad", loc);
  tensor.requires_grad_(requires_grad, loc);
  parameters_.emplace_back(std::move(name), tensor);
  return tensor;
}

Tensor Module::register_buffer(std::string name, Tensor tensor, SourceLocation loc) {
  check_new_name(name, "register_buffer", loc);
  detail::check_defined(tensor, "register_buffer", loc);
  buffers_.emplace_back(std::move(name), tensor);
  return tensor;
}

void Module::add_child(std::string name, std::shared_ptr<Module> module, const SourceLocation& loc) {
  check_new_name(name, "register_module", loc);
  if (!module) throw_error("register_module", "module '" + name + "' is null", loc);
  if (module.get() == this) throw_error("register_module", "a module cannot be its own child", loc);
  module->name_ = name;
  children_.emplace_back(std::move(name), std::move(module));
}

template <class F>
void Module::walk_tensors(bool parameters, bool buffers, bool recurse, F&& visit) const {
  // Iterative pre-order walk: own tensors first, then each child's, as PyTorch.
  struct Item {
    const Module* module;
    std::string prefix;
  };
  std::vector<Item> stack{{this, ""}};
  while (!stack.empty()) {
    Item item = std::move(stack.back());
    stack.pop_back();
    if (parameters)
      for (const auto& [name, t] : item.module->parameters_) visit(join(item.prefix, name), t);
    if (buffers)
      for (const auto& [name, t] : item.module->buffers_) visit(join(item.prefix, name), t);
    if (!recurse) break;
    const auto& kids = item.module->children_;
    for (auto it = kids.rbegin(); it != kids.rend(); ++it)
      stack.push_back({it->second.get(), join(item.prefix, it->first)});
  }
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters(bool recurse) const {
  std::vector<std::pair<std::string, Tensor>> out;
  std::unordered_set<const TensorImpl*> seen;
  walk_tensors(true, false, recurse, [&](std::string name, const Tensor& t) {
    if (seen.insert(t.impl()).second) out.emplace_back(std::move(name), t);
  });
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters(recurse)) out.push_back(t);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers(bool recurse) const {
  std::vector<std::pair<std::string, Tensor>> out;
  std::unordered_set<const TensorImpl*> seen;
  walk_tensors(false, true, recurse, [&](std::string name, const Tensor& t) {
    if (seen.insert(t.impl()).second) out.emplace_back(std::move(name), t);
  });
  return out;
}

std::vector<Tensor> Module::buffers(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_buffers(recurse)) out.push_back(t);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::state_dict() const {
  std::vector<std::pair<std::string, Tensor>> out;
  walk_tensors(true, true, true, [&](std::string name, const Tensor& t) { out.emplace_back(std::move(name), t); });
  return out;
}

std::vector<std::shared_ptr<Module>> Module::children() const {
  std::vector<std::shared_ptr<Module>> out;
  for (const auto& [name, m] : children_) out.push_back(m);
  return out;
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_children() const {
  return children_;
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_modules(SourceLocation loc) {
  std::shared_ptr<Module> self = weak_from_this().lock();
  if (!self)
    throw_error("named_modules", type_name() + " is not owned by a std::shared_ptr; create it with std::make_shared",
                loc);
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> out;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> stack{{"", std::move(self)}};
  std::unordered_set<const Module*> seen;
  while (!stack.empty()) {
    auto [prefix, module] = std::move(stack.back());
    stack.pop_back();
    if (!seen.insert(module.get()).second) continue;
    const auto& kids = module->children_;
    for (auto it = kids.rbegin(); it != kids.rend(); ++it) stack.emplace_back(join(prefix, it->first), it->second);
    out.emplace_back(std::move(prefix), std::move(module));
  }
  return out;
}

std::vector<std::shared_ptr<Module>> Module::modules(SourceLocation loc) {
  std::vector<std::shared_ptr<Module>> out;
  for (auto& [name, m] : named_modules(loc)) out.push_back(std::move(m));
  return out;
}

void Module::apply(const std::function<void(Module&)>& fn) {
  for (auto& [name, child] : children_) child->apply(fn);
  fn(*this);
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::zero_grad(bool set_to_none) {
  NoGradGuard no_grad;
  for (Tensor& p : parameters()) {
    Tensor g = p.grad();
    if (!g.defined()) continue;
    if (set_to_none) p.set_grad(Tensor());
    else g.zero_();
  }
}

void Module::to(DType dtype) {
  NoGradGuard no_grad;
  walk_tensors(true, true, true, [&](const std::string&, const Tensor& t) {
    if (!is_floating(t.dtype()) || t.dtype() == dtype) return;
    Tensor handle = t;
    handle.set_data(t.detach().to(dtype));
  });
}

std::string Module::type_name() const { return type_name_.empty() ? class_name(typeid(*this)) : type_name_; }

std::string Module::to_string() const {
  std::vector<std::string> lines;
  const std::string extra = extra_repr();
  std::size_t extra_lines = 0;
  if (!extra.empty()) {
    std::istringstream in(extra);
    for (std::string line; std::getline(in, line);) lines.push_back(line), ++extra_lines;
  }
  for (const auto& [name, child] : children_) lines.push_back("(" + name + "): " + add_indent(child->to_string()));
  std::string out = type_name() + "(";
  if (extra_lines == 1 && children_.empty()) {
    out += lines.front();
  } else if (!lines.empty()) {
    for (const std::string& line : lines) out += "\n  " + line;
    out += "\n";
  }
  return out + ")";
}

std::ostream& operator<<(std::ostream& os, const Module& module) { return os << module.to_string(); }

namespace repr {

// Python's float repr: the shortest digits that round-trip, written fixed when
// the decimal exponent is in [-4, 16) and in scientific notation otherwise.
std::string python_float(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buf[64];
  const auto [end, error] = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
  (void)error;  // 64 chars always fit a double
  std::string sci(buf, end);  // "-1.2345e-05"
  const auto e = sci.find('e');
  const int exponent = std::stoi(sci.substr(e + 1));
  std::string mantissa = sci.substr(0, e);
  const bool negative = mantissa[0] == '-';
  if (negative) mantissa.erase(0, 1);
  std::string digits;
  for (char c : mantissa)
    if (c != '.') digits += c;
  std::string out = negative ? "-" : "";
  if (exponent < -4 || exponent >= 16) {
    out += digits[0];
    if (digits.size() > 1) out.append(".").append(digits, 1);
    out += exponent < 0 ? "e-" : "e+";
    if (std::abs(exponent) < 10) out += '0';
    out += std::to_string(std::abs(exponent));
  } else if (exponent < 0) {
    out.append("0.").append(static_cast<std::size_t>(-exponent - 1), '0').append(digits);
  } else {
    const auto int_len = static_cast<std::size_t>(exponent) + 1;
    if (digits.size() <= int_len) {
      out.append(digits).append(int_len - digits.size(), '0').append(".0");
    } else {
      out.append(digits, 0, int_len).append(".").append(digits, int_len);
    }
  }
  return out;
}

}  // namespace repr

}  // namespace cr::nn
