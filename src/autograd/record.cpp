#include "chainrule/autograd/record.h"

namespace cr::autograd {

namespace {
// Set by the engine while a backward rule runs, so that nodes recorded by it
// (create_graph) point at the user's forward call rather than library code.
thread_local const SourceLocation* location_override = nullptr;
}  // namespace

bool needs_grad(std::span<const Tensor> inputs) {
  if (!is_grad_enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

const SourceLocation& recording_location(const SourceLocation& loc) {
  return location_override ? *location_override : loc;
}

namespace detail {

void set_location_override(const SourceLocation* loc) { location_override = loc; }
const SourceLocation* location_override_now() { return location_override; }

void throw_released(const Node& node) {
  throw_error(node.name(),
              "trying to backward through the graph a second time (its saved tensors were "
              "freed); pass retain_graph=true to the first backward. The op was called here",
              node.location());
}

void attach_output(const std::shared_ptr<Node>& node, Tensor& output) {
  TensorImpl* impl = output.impl();
  impl->requires_grad = true;
  impl->grad_fn = node;
  impl->output_nr = 0;
}

}  // namespace detail
}  // namespace cr::autograd
