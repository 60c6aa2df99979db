#pragma once
// A Node is one recorded op in the autograd graph: its backward rule, the
// edges to the nodes of its inputs, its name and where the user called it.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chainrule/core/small_vector.h"
#include "chainrule/core/tensor.h"

namespace cr::autograd {

class Node;

/// An input of a node: the node that produced it and which of its outputs it was.
struct Edge {
  std::shared_ptr<Node> fn;
  std::uint32_t input_nr = 0;
  bool valid() const { return fn != nullptr; }
};

using GradList = SmallVector<Tensor, 2>;

class Node : public std::enable_shared_from_this<Node> {
 public:
  Node(const char* name, const SourceLocation& location, std::uint32_t num_outputs = 1);
  virtual ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  /// Op name with a Backward suffix, as PyTorch prints it ("MulBackward").
  const char* name() const { return name_; }
  /// Where the user called the op that created this node.
  const SourceLocation& location() const { return location_; }
  /// The module scope active when the node was recorded ("encoder.3"), or "".
  const std::string& scope() const;
  /// Creation order; the engine runs later nodes first.
  std::uint64_t sequence_nr() const { return sequence_nr_; }
  std::uint32_t num_outputs() const { return num_outputs_; }

  const SmallVector<Edge, 2>& next_edges() const { return next_edges_; }
  std::size_t num_inputs() const { return next_edges_.size(); }
  /// True when input i leads to something that wants a gradient.
  bool needs_input_grad(std::size_t i) const { return i < next_edges_.size() && next_edges_[i].valid(); }
  /// Shape of input i when the op ran; gradients are summed back to it.
  const Shape& input_shape(std::size_t i) const { return input_shapes_[i]; }

  /// Adds an input edge; `input` may be a tensor that needs no gradient.
  void add_input(const Tensor& input);

  /// Computes gradients for the inputs from the gradients of the outputs,
  /// then undoes broadcasting so each has its input's shape.
  GradList run(GradList&& grad_outputs);
  /// Frees what the backward rule saved (called after backward unless retain_graph).
  virtual void release_saved() {}

  /// Runs the tensor hooks registered on output `output_nr`; each may replace `grad`.
  virtual void apply_hooks(std::uint32_t output_nr, Tensor& grad);
  bool has_hooks() const { return !hooks_.empty(); }
  int add_hook(std::uint32_t output_nr, GradHook hook);
  void remove_hook(int handle);

  /// Engine scratch space: valid only during one backward run.
  struct RunState {
    std::uint64_t run_id = 0;
    std::int64_t dependencies = 0;
    bool needed = true;
    GradList input_buffer;
  };
  RunState& run_state() { return run_state_; }

 protected:
  virtual GradList apply(GradList&& grad_outputs) = 0;
  void set_num_outputs(std::uint32_t n) { num_outputs_ = n; }

 private:
  const char* name_;
  SourceLocation location_;
  std::uint64_t sequence_nr_;
  std::uint32_t num_outputs_;
  std::shared_ptr<const std::string> scope_;
  SmallVector<Edge, 2> next_edges_;
  SmallVector<Shape, 2> input_shapes_;
  struct OutputHook {
    std::uint32_t output_nr;
    int handle;
    GradHook hook;
  };
  std::vector<OutputHook> hooks_;
  RunState run_state_;
};

/// The sink of a leaf tensor's gradient: adds what arrives into leaf.grad().
class AccumulateGrad final : public Node {
 public:
  explicit AccumulateGrad(std::shared_ptr<TensorImpl> leaf);
  const std::shared_ptr<TensorImpl>& leaf() const { return leaf_; }
  void apply_hooks(std::uint32_t output_nr, Tensor& grad) override;

 protected:
  GradList apply(GradList&& grad_outputs) override;

 private:
  std::shared_ptr<TensorImpl> leaf_;
};

/// The edge a gradient for `t` flows into: its grad_fn, or its leaf accumulator.
Edge gradient_edge(const Tensor& t);

/// Drops a reference to a node without recursing through the graph behind it:
/// a chain of a million nodes is freed in a loop, not a million nested destructors.
void release_node(std::shared_ptr<Node>&& node);

/// RAII: names the module scope recorded into nodes created on this thread.
class ScopeGuard {
 public:
  explicit ScopeGuard(const std::string& name);
  ~ScopeGuard();
  ScopeGuard(const ScopeGuard&) = delete;
  ScopeGuard& operator=(const ScopeGuard&) = delete;

 private:
  std::shared_ptr<const std::string> previous_;
};

}  // namespace cr::autograd
