// The autograd side of Tensor: requires_grad, grad, detach, hooks, backward.

#include "chainrule/autograd/engine.h"
#include "chainrule/autograd/grad_mode.h"
#include "chainrule/autograd/node.h"
#include "chainrule/core/tensor.h"
#include "chainrule/ops/elementwise.h"
#include "core/tensor_internal.h"

namespace cr {

namespace autograd {
int new_hook_handle();
}

TensorImpl::~TensorImpl() {
  if (grad_fn) autograd::release_node(std::move(grad_fn));
}

Tensor& Tensor::requires_grad_(bool requires_grad, SourceLocation loc) {
  detail::check_defined(*this, "requires_grad_", loc);
  if (!is_leaf())
    throw_error("requires_grad_",
                "can only change requires_grad of a leaf tensor; this one was made by " +
                    std::string(grad_fn()->name()) + " (use detach() to get a leaf)",
                loc);
  if (requires_grad && !is_floating(dtype()))
    throw_error("requires_grad_", "only float tensors can require grad, got " + detail::describe(*this), loc);
  impl_->requires_grad = requires_grad;
  return *this;
}

Tensor Tensor::grad() const { return impl_->grad ? Tensor(impl_->grad) : Tensor(); }

void Tensor::set_grad(const Tensor& grad) { impl_->grad = grad.impl_ptr(); }

Tensor Tensor::detach() const {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = impl_->storage;
  impl->sizes = impl_->sizes;
  impl->strides = impl_->strides;
  impl->offset = impl_->offset;
  impl->dtype = impl_->dtype;
  impl->is_view = impl_->is_view;
  return Tensor(std::move(impl));
}

void Tensor::set_data(const Tensor& source, SourceLocation loc) {
  detail::check_defined(*this, "set_data", loc);
  detail::check_defined(source, "set_data", loc);
  if (requires_grad() && !is_floating(source.dtype()))
    throw_error("set_data", "a tensor that requires grad needs float data, got " + detail::describe(source), loc);
  TensorImpl* impl = impl_.get();
  const TensorImpl& src = *source.impl();
  impl->storage = src.storage;
  impl->sizes = src.sizes;
  impl->strides = src.strides;
  impl->offset = src.offset;
  impl->dtype = src.dtype;
  impl->is_view = src.is_view;
  impl->grad.reset();  // a gradient of the old data means nothing for the new
}

Tensor& Tensor::detach_() {
  impl_->grad_fn.reset();
  impl_->requires_grad = false;
  return *this;
}

void Tensor::retain_grad(SourceLocation loc) {
  detail::check_defined(*this, "retain_grad", loc);
  if (!requires_grad())
    throw_error("retain_grad", "called on a tensor that does not require grad", loc);
  if (is_leaf() || impl_->retains_grad) return;  // leaves keep their grad anyway
  impl_->retains_grad = true;
  std::weak_ptr<TensorImpl> weak = impl_;  // weak: the node must not keep its output alive
  grad_fn()->add_hook(output_nr(), [weak](const Tensor& g) {
    if (auto self = weak.lock()) {
      if (self->grad) self->grad = add(Tensor(self->grad), g).impl_ptr();
      else self->grad = (autograd::is_grad_enabled() ? g : g.detach().clone()).impl_ptr();
    }
    return Tensor();
  });
}

void Tensor::backward(const Tensor& gradient, bool retain_graph, bool create_graph,
                      SourceLocation loc) const {
  autograd::backward({*this}, {gradient}, retain_graph, create_graph, loc);
}

int Tensor::register_hook(GradHook hook, SourceLocation loc) {
  detail::check_defined(*this, "register_hook", loc);
  if (!requires_grad())
    throw_error("register_hook", "cannot register a hook on a tensor that does not require grad", loc);
  if (!is_leaf()) return grad_fn()->add_hook(output_nr(), std::move(hook));
  int handle = autograd::new_hook_handle();
  impl_->hooks.emplace_back(handle, std::move(hook));
  return handle;
}

void Tensor::remove_hook(int handle) {
  if (!is_leaf()) {
    grad_fn()->remove_hook(handle);
    return;
  }
  std::erase_if(impl_->hooks, [&](const auto& entry) { return entry.first == handle; });
}

}  // namespace cr
