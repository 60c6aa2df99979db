#include "chainrule/autograd/node.h"

#include <algorithm>
#include <atomic>
#include <limits>

#include "chainrule/autograd/grad_mode.h"
#include "chainrule/ops/elementwise.h"
#include "core/tensor_internal.h"

namespace cr::autograd {

namespace {
thread_local std::uint64_t next_sequence_nr = 0;
thread_local std::shared_ptr<const std::string> current_scope;
std::atomic<int> next_hook_handle{1};

const std::string& empty_string() {
  static const std::string empty;
  return empty;
}

// Nodes waiting to be destroyed by the outermost release_node on this thread.
struct ReleaseQueue {
  std::vector<std::shared_ptr<Node>> pending;
  bool draining = false;
};
thread_local ReleaseQueue release_queue;
}  // namespace

int new_hook_handle() { return next_hook_handle++; }

void release_node(std::shared_ptr<Node>&& node) {
  if (!node) return;
  if (node.use_count() > 1) {  // someone else keeps it alive: nothing recursive happens
    node.reset();
    return;
  }
  release_queue.pending.push_back(std::move(node));
  if (release_queue.draining) return;
  release_queue.draining = true;
  while (!release_queue.pending.empty()) {
    std::shared_ptr<Node> last = std::move(release_queue.pending.back());
    release_queue.pending.pop_back();
    last.reset();  // its destructor queues its own inputs instead of recursing
  }
  release_queue.draining = false;
}

Node::Node(const char* name, const SourceLocation& location, std::uint32_t num_outputs)
    : name_(name),
      location_(location),
      sequence_nr_(next_sequence_nr++),
      num_outputs_(num_outputs),
      scope_(current_scope) {}

Node::~Node() {
  for (Edge& edge : next_edges_) release_node(std::move(edge.fn));
}

const std::string& Node::scope() const { return scope_ ? *scope_ : empty_string(); }

void Node::add_input(const Tensor& input) {
  if (input.defined() && input.requires_grad()) {
    next_edges_.push_back(gradient_edge(input));
    input_shapes_.push_back(input.sizes());
  } else {
    next_edges_.emplace_back();
    input_shapes_.push_back(input.defined() ? input.sizes() : Shape{});
  }
}

GradList Node::run(GradList&& grad_outputs) {
  GradList grads = apply(std::move(grad_outputs));
  if (grads.size() != next_edges_.size())
    throw_error(name_,
                "backward returned " + std::to_string(grads.size()) + " gradients for " +
                    std::to_string(next_edges_.size()) + " inputs",
                location_);
  for (std::size_t i = 0; i < grads.size(); ++i) {
    if (!grads[i].defined()) continue;
    if (!next_edges_[i].valid()) {
      grads[i] = Tensor();
    } else if (grads[i].sizes() != input_shapes_[i]) {
      grads[i] = sum_to(grads[i], input_shapes_[i], location_);
    }
  }
  return grads;
}

void Node::apply_hooks(std::uint32_t output_nr, Tensor& grad) {
  for (OutputHook& h : hooks_) {
    if (h.output_nr != output_nr) continue;
    Tensor replaced = h.hook(grad);
    if (replaced.defined()) grad = std::move(replaced);
  }
}

int Node::add_hook(std::uint32_t output_nr, GradHook hook) {
  int handle = new_hook_handle();
  hooks_.push_back({output_nr, handle, std::move(hook)});
  return handle;
}

void Node::remove_hook(int handle) {
  std::erase_if(hooks_, [&](const OutputHook& h) { return h.handle == handle; });
}

AccumulateGrad::AccumulateGrad(std::shared_ptr<TensorImpl> leaf)
    : Node("AccumulateGrad", SourceLocation{}), leaf_(std::move(leaf)) {}

void AccumulateGrad::apply_hooks(std::uint32_t, Tensor& grad) {
  for (auto& [handle, hook] : leaf_->hooks) {
    Tensor replaced = hook(grad);
    if (replaced.defined()) grad = std::move(replaced);
  }
}

GradList AccumulateGrad::apply(GradList&& grads) {
  Tensor incoming = std::move(grads[0]);
  if (!incoming.defined()) return {};
  TensorImpl& leaf = *leaf_;
  if (is_grad_enabled()) {  // create_graph: the accumulated gradient stays differentiable
    leaf.grad = leaf.grad ? add(Tensor(leaf.grad), incoming).impl_ptr() : incoming.impl_ptr();
    return {};
  }
  if (!leaf.grad) {
    // Take the incoming buffer when nothing else can see it; copy it otherwise,
    // so later in-place accumulation never writes into someone else's tensor.
    // A view qualifies when its storage has no other owner (the gradient of a
    // transposed weight, transposed back: a view of a buffer nobody else holds).
    Tensor owned = detail::is_exclusive_buffer(incoming) ? incoming.detach() : incoming.detach().clone();
    owned.impl()->is_view = false;  // its storage is its own now
    leaf.grad = owned.impl_ptr();
  } else {
    Tensor(leaf.grad).add_(incoming);
  }
  return {};
}

Edge gradient_edge(const Tensor& t) {
  TensorImpl* impl = t.impl();
  if (impl->grad_fn) return {impl->grad_fn, impl->output_nr};
  if (!impl->requires_grad) return {};
  std::shared_ptr<Node> accumulator = impl->grad_accumulator.lock();
  if (!accumulator) {
    accumulator = std::make_shared<AccumulateGrad>(t.impl_ptr());
    impl->grad_accumulator = accumulator;
  }
  return {std::move(accumulator), 0};
}

ScopeGuard::ScopeGuard(const std::string& name) : previous_(current_scope) {
  if (previous_ && !previous_->empty())
    current_scope = std::make_shared<const std::string>(*previous_ + "." + name);
  else
    current_scope = std::make_shared<const std::string>(name);
}

ScopeGuard::~ScopeGuard() { current_scope = std::move(previous_); }

}  // namespace cr::autograd
