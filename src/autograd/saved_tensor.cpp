#include "chainrule/autograd/saved_tensor.h"

#include "chainrule/autograd/node.h"

namespace cr::autograd {

SavedTensor::SavedTensor(const Tensor& tensor, bool is_output)
    : saved_version_(tensor.defined() ? tensor.version() : 0), is_output_(is_output) {
  if (!tensor.defined()) return;
  if (is_output) {
    data_ = tensor.detach();
    output_requires_grad_ = true;
    output_nr_ = tensor.output_nr();
  } else {
    data_ = tensor;
  }
}

Tensor SavedTensor::unpack(const Node& owner) const {
  if (!data_.defined()) return data_;
  if (data_.version() != saved_version_)
    throw_error(owner.name(),
                "a tensor saved for backward was modified by an in-place operation (version " +
                    std::to_string(saved_version_) + " when saved, now " +
                    std::to_string(data_.version()) +
                    "); the op that saved it was called here",
                owner.location());
  if (!is_output_) return data_;
  // Reconnect the output to the node that made it, so double backward can see it.
  auto impl = std::make_shared<TensorImpl>();
  const TensorImpl& src = *data_.impl();
  impl->storage = src.storage;
  impl->sizes = src.sizes;
  impl->strides = src.strides;
  impl->offset = src.offset;
  impl->dtype = src.dtype;
  impl->requires_grad = output_requires_grad_;
  impl->grad_fn = const_cast<Node&>(owner).shared_from_this();
  impl->output_nr = output_nr_;
  return Tensor(std::move(impl));
}

}  // namespace cr::autograd
