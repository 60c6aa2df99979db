#pragma once
// Custom differentiable ops written by the user, as LibTorch's
// torch::autograd::Function:
//
//   struct Square : cr::autograd::Function<Square> {
//     static cr::Tensor forward(cr::autograd::AutogradContext* ctx, const cr::Tensor& x) {
//       ctx->save_for_backward({x});
//       return x * x;
//     }
//     static cr::autograd::tensor_list backward(cr::autograd::AutogradContext* ctx,
//                                               cr::autograd::tensor_list grads) {
//       return {grads[0] * 2.0 * ctx->get_saved_variables()[0]};
//     }
//   };
//   cr::Tensor y = Square::apply(x);
//
// forward runs without recording; backward gets one gradient per output
// (zeros where an output got none) and returns one per Tensor argument of
// forward, in order (an undefined Tensor where there is none).

#include <any>
#include <typeinfo>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include "chainrule/autograd/grad_mode.h"
#include "chainrule/autograd/node.h"
#include "chainrule/autograd/saved_tensor.h"

namespace cr::autograd {

using tensor_list = std::vector<Tensor>;

class AutogradContext {
 public:
  /// Tensors backward needs; checked for in-place changes when read back.
  void save_for_backward(const tensor_list& tensors) { to_save_ = tensors; }
  tensor_list get_saved_variables() const;
  /// True when the i-th Tensor argument of forward needs a gradient.
  bool needs_input_grad(std::size_t i) const { return node_ && node_->needs_input_grad(i); }
  /// Anything else backward needs (sizes, flags), by name.
  std::map<std::string, std::any> saved_data;

 private:
  template <class T>
  friend struct Function;
  friend class FunctionNodeBase;
  void seal(Node* node, const tensor_list& outputs);
  void release() { saved_.clear(); }

  Node* node_ = nullptr;
  tensor_list to_save_;
  std::vector<SavedTensor> saved_;
};

/// The graph node of a custom Function; holds the context.
class FunctionNodeBase : public Node {
 public:
  FunctionNodeBase(const char* name, const SourceLocation& loc, std::uint32_t num_outputs)
      : Node(name, loc, num_outputs) {}
  using Node::set_num_outputs;
  AutogradContext ctx;
  std::vector<Shape> output_shapes;
  std::vector<DType> output_dtypes;
  bool released = false;
  void release_saved() override {
    ctx.release();
    released = true;
  }

 protected:
  // Fills in zeros for outputs that got no gradient.
  tensor_list materialize(GradList&& grads) const;
  void check_not_released() const;
};

namespace detail {
/// "MyOpBackward" for a Function type MyOp (demangled, interned).
const char* function_name(const std::type_info& type);
void attach_function_outputs(const std::shared_ptr<FunctionNodeBase>& node, tensor_list& outputs);
}

template <class T>
struct Function {
  /// Runs forward and, if any Tensor argument requires grad, records a node.
  template <class... Args>
  static auto apply(Args&&... args) {
    return apply_at(SourceLocation::current(), std::forward<Args>(args)...);
  }

  /// As apply, recording `loc` as the node's location (pass
  /// SourceLocation::current() from the call site for the blame tooling).
  template <class... Args>
  static auto apply_at(const SourceLocation& loc, Args&&... args) {
    auto node = std::make_shared<FunctionNode>(loc);
    node->ctx.node_ = node.get();
    auto forward_result = [&] {
      NoGradGuard no_grad;
      return T::forward(&node->ctx, std::forward<Args>(args)...);
    }();
    tensor_list inputs;
    (collect(inputs, args), ...);
    tensor_list outputs;
    if constexpr (std::is_same_v<decltype(forward_result), Tensor>) outputs.push_back(forward_result);
    else outputs = forward_result;

    bool record = false;
    if (is_grad_enabled())
      for (const Tensor& t : inputs) record = record || (t.defined() && t.requires_grad());
    if (record) {
      for (const Tensor& t : inputs) node->add_input(t);
      node->set_num_outputs(static_cast<std::uint32_t>(outputs.size()));
      node->set_outputs(outputs);
      detail::attach_function_outputs(node, outputs);
      node->ctx.seal(node.get(), outputs);
    }
    if constexpr (std::is_same_v<decltype(forward_result), Tensor>) return outputs[0];
    else return outputs;
  }

 private:
  class FunctionNode final : public FunctionNodeBase {
   public:
    explicit FunctionNode(const SourceLocation& loc)
        : FunctionNodeBase(detail::function_name(typeid(T)), loc, 1) {}
    void set_outputs(const tensor_list& outputs) {
      for (const Tensor& o : outputs) {
        output_shapes.push_back(o.sizes());
        output_dtypes.push_back(o.dtype());
      }
    }

   protected:
    GradList apply(GradList&& grads) override {
      check_not_released();
      tensor_list result = T::backward(&ctx, materialize(std::move(grads)));
      GradList out;
      for (Tensor& g : result) out.push_back(std::move(g));
      return out;
    }
  };

  template <class A>
  static void collect(tensor_list& inputs, const A& arg) {
    if constexpr (std::is_same_v<std::decay_t<A>, Tensor>) inputs.push_back(arg);
  }
};

}  // namespace cr::autograd
