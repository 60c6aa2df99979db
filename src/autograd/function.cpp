#include "chainrule/autograd/function.h"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>
#include <mutex>

#include "chainrule/core/factories.h"

namespace cr::autograd {

tensor_list AutogradContext::get_saved_variables() const {
  if (node_ && static_cast<const FunctionNodeBase*>(node_)->released)
    throw_error(node_->name(), "saved tensors were freed after backward; pass retain_graph=true",
                node_->location());
  tensor_list out;
  if (saved_.empty()) return to_save_;  // not recorded: forward-only use
  for (const SavedTensor& s : saved_) out.push_back(s.unpack(*node_));
  return out;
}

void AutogradContext::seal(Node* node, const tensor_list& outputs) {
  node_ = node;
  auto same_view = [](const Tensor& a, const Tensor& b) {
    return a.defined() && b.defined() && a.storage().data() == b.storage().data() &&
           a.sizes() == b.sizes() && a.strides() == b.strides() && a.storage_offset() == b.storage_offset();
  };
  for (const Tensor& t : to_save_) {
    // An output saved for backward is kept without its grad_fn (no cycle).
    const Tensor* output = nullptr;
    for (const Tensor& o : outputs)
      if (same_view(t, o)) output = &o;
    saved_.emplace_back(output ? *output : t, output != nullptr);
  }
  to_save_.clear();
}

tensor_list FunctionNodeBase::materialize(GradList&& grads) const {
  tensor_list out;
  for (std::size_t i = 0; i < grads.size(); ++i)
    out.push_back(grads[i].defined() ? std::move(grads[i]) : zeros(output_shapes[i], output_dtypes[i]));
  return out;
}

void FunctionNodeBase::check_not_released() const {
  if (released)
    throw_error(name(), "trying to backward through the graph a second time; pass retain_graph=true",
                location());
}

namespace detail {

const char* function_name(const std::type_info& type) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<std::string>> names;
  std::lock_guard lock(mutex);
  int status = 0;
  char* demangled = abi::__cxa_demangle(type.name(), nullptr, nullptr, &status);
  std::string name = status == 0 && demangled ? demangled : type.name();
  std::free(demangled);
  auto& slot = names[name];
  if (!slot) slot = std::make_unique<std::string>(name + "Backward");
  return slot->c_str();
}

void attach_function_outputs(const std::shared_ptr<FunctionNodeBase>& node, tensor_list& outputs) {
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    // forward may return an input (or share its storage): give the output its
    // own handle so the input's history is not overwritten.
    Tensor own = outputs[i].detach();
    TensorImpl* impl = own.impl();
    impl->requires_grad = true;
    impl->grad_fn = node;
    impl->output_nr = static_cast<std::uint32_t>(i);
    outputs[i] = own;
  }
}

}  // namespace detail
}  // namespace cr::autograd
