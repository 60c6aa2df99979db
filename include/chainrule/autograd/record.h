#pragma once
// How an op records itself in the graph. An op computes its result, then, if
// any input requires grad, calls record() with a backward lambda:
//
//   Tensor y = ...forward kernel...;
//   if (autograd::needs_grad(x))
//     autograd::record("ExpBackward", loc, {&x}, y,
//         [r = autograd::SavedTensor(y, true)](Node& self, const Tensor& g) {
//           return GradList{g * r.unpack(self)};
//         });
//
// The lambda is written in public differentiable ops, so with create_graph the
// gradient itself is recorded and can be differentiated again.

#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>

#include "chainrule/autograd/grad_mode.h"
#include "chainrule/autograd/node.h"
#include "chainrule/autograd/saved_tensor.h"

namespace cr::autograd {

/// True when grad mode is on and any of `inputs` requires grad.
inline bool needs_grad(const Tensor& a) { return a.requires_grad() && is_grad_enabled(); }
inline bool needs_grad(const Tensor& a, const Tensor& b) {
  return (a.requires_grad() || b.requires_grad()) && is_grad_enabled();
}
bool needs_grad(std::span<const Tensor> inputs);

/// Where nodes recorded now claim to come from: the forward op's location while
/// the engine runs its backward rule, else `loc`.
const SourceLocation& recording_location(const SourceLocation& loc);

namespace detail {
template <class F>
class LambdaNode final : public Node {
 public:
  LambdaNode(const char* name, const SourceLocation& loc, F&& backward)
      : Node(name, loc), backward_(std::move(backward)) {}

  void release_saved() override {
    // A rule that captured nothing can run again; one that saved tensors cannot.
    if constexpr (!std::is_empty_v<F>) backward_.reset();
  }

 protected:
  GradList apply(GradList&& grads) override;

 private:
  std::optional<F> backward_;
};

[[noreturn]] void throw_released(const Node& node);
void attach_output(const std::shared_ptr<Node>& node, Tensor& output);

template <class F>
GradList LambdaNode<F>::apply(GradList&& grads) {
  if (!backward_) throw_released(*this);
  return (*backward_)(*this, grads[0]);
}
}  // namespace detail

/// Records a single-output op. `backward(Node& self, const Tensor& grad)` returns
/// one gradient per input (undefined where none is needed or it is zero).
template <class F>
void record(const char* name, const SourceLocation& loc, std::initializer_list<const Tensor*> inputs,
            Tensor& output, F&& backward) {
  auto node = std::make_shared<detail::LambdaNode<std::decay_t<F>>>(
      name, recording_location(loc), std::forward<F>(backward));
  for (const Tensor* input : inputs) node->add_input(*input);
  detail::attach_output(node, output);
}

/// As above, for ops with a variable number of inputs (cat, stack).
template <class F>
void record(const char* name, const SourceLocation& loc, std::span<const Tensor> inputs,
            Tensor& output, F&& backward) {
  auto node = std::make_shared<detail::LambdaNode<std::decay_t<F>>>(
      name, recording_location(loc), std::forward<F>(backward));
  for (const Tensor& input : inputs) node->add_input(input);
  detail::attach_output(node, output);
}

}  // namespace cr::autograd
