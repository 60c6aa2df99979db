// The backward engine: an iterative walk over the graph that counts each
// node's dependencies, then runs nodes from a ready queue (latest created
// first), summing gradients that fan in. Never recursive, so a graph of a
// million ops backpropagates on a normal stack.

#include "chainrule/autograd/engine.h"

#include <algorithm>
#include <limits>
#include <queue>

#include "chainrule/autograd/grad_mode.h"
#include "chainrule/autograd/node.h"
#include "chainrule/core/factories.h"
#include "chainrule/ops/elementwise.h"
#include "core/tensor_internal.h"

namespace cr::autograd {

namespace detail {
void set_location_override(const SourceLocation* loc);
const SourceLocation* location_override_now();
}  // namespace detail

namespace {

thread_local std::uint64_t next_run_id = 1;

// A gradient the caller of grad() wants back: what arrives for `edge`.
struct Capture {
  Edge edge;
  Tensor grad;
};

struct ReadyOrder {
  bool operator()(const Node* a, const Node* b) const {
    // Leaf accumulators first: they free their gradient soonest.
    const bool a_acc = a->num_inputs() == 0, b_acc = b->num_inputs() == 0;
    if (a_acc != b_acc) return b_acc;
    return a->sequence_nr() < b->sequence_nr();
  }
};

class RestoreState {
 public:
  RestoreState() : grad_mode_(is_grad_enabled()), location_(detail::location_override_now()) {}
  ~RestoreState() {
    set_grad_enabled(grad_mode_);
    detail::set_location_override(location_);
  }

 private:
  bool grad_mode_;
  const SourceLocation* location_;
};

void accumulate(Tensor& slot, Tensor&& grad) {
  if (!grad.defined()) return;
  if (!slot.defined()) slot = std::move(grad);
  else slot = add(slot, grad);  // out of place: the slot's tensor may be shared
}

// Marks every node reachable from the roots with this run's id and counts,
// for each node, how many edges lead into it. Returns the nodes found.
std::vector<Node*> discover(const std::vector<Edge>& roots, std::uint64_t run_id) {
  std::vector<Node*> found;
  std::vector<Node*> stack;
  auto visit = [&](Node* node) {
    Node::RunState& state = node->run_state();
    if (state.run_id == run_id) return;
    state.run_id = run_id;
    state.dependencies = 0;
    state.needed = true;
    state.input_buffer.clear();
    state.input_buffer.resize(node->num_outputs());
    found.push_back(node);
    stack.push_back(node);
  };
  for (const Edge& root : roots) visit(root.fn.get());
  while (!stack.empty()) {
    Node* node = stack.back();
    stack.pop_back();
    for (const Edge& edge : node->next_edges()) {
      if (!edge.valid()) continue;
      visit(edge.fn.get());
      ++edge.fn->run_state().dependencies;
    }
  }
  return found;
}

// For grad(): a node is needed only if a captured gradient lies behind it.
void mark_needed(std::vector<Node*>& nodes, const std::vector<Capture>& captures) {
  std::sort(nodes.begin(), nodes.end(),
            [](const Node* a, const Node* b) { return a->sequence_nr() < b->sequence_nr(); });
  for (Node* node : nodes) node->run_state().needed = false;
  for (const Capture& c : captures)
    if (c.edge.valid()) c.edge.fn->run_state().needed = true;
  // Inputs of a node were created before it, so ascending order sees children first;
  // leaf accumulators have no inputs and are only needed when captured.
  for (Node* node : nodes) {
    if (node->num_inputs() == 0) continue;
    for (const Edge& edge : node->next_edges())
      if (edge.valid() && edge.fn->run_state().needed) node->run_state().needed = true;
  }
}

void execute(const std::vector<Edge>& roots, std::vector<Tensor> root_grads, bool keep_graph,
             bool create_graph, std::vector<Capture>* captures) {
  const std::uint64_t run_id = next_run_id++;
  std::vector<Node*> nodes = discover(roots, run_id);
  if (captures) mark_needed(nodes, *captures);

  std::priority_queue<Node*, std::vector<Node*>, ReadyOrder> ready;
  for (std::size_t i = 0; i < roots.size(); ++i)
    accumulate(roots[i].fn->run_state().input_buffer[roots[i].input_nr], std::move(root_grads[i]));
  for (const Edge& root : roots) {
    Node::RunState& state = root.fn->run_state();
    if (state.dependencies == 0) {
      state.dependencies = -1;  // queued once even if it is several roots
      ready.push(root.fn.get());
    }
  }

  RestoreState restore;
  set_grad_enabled(create_graph);
  while (!ready.empty()) {
    Node* node = ready.top();
    ready.pop();
    Node::RunState& state = node->run_state();
    GradList grads = std::move(state.input_buffer);

    for (std::uint32_t out = 0; out < grads.size(); ++out)
      if (grads[out].defined()) node->apply_hooks(out, grads[out]);
    if (captures) {
      for (Capture& c : *captures)
        if (c.edge.fn.get() == node && grads[c.edge.input_nr].defined())
          accumulate(c.grad, Tensor(grads[c.edge.input_nr]));
    }
    // grad() never writes into .grad(), and skips what leads to no capture.
    const bool skip = captures && (!state.needed || node->num_inputs() == 0);
    const bool any_grad = std::any_of(grads.begin(), grads.end(), [](const Tensor& g) { return g.defined(); });

    GradList input_grads;
    if (!skip && any_grad) {
      detail::set_location_override(&node->location());
      input_grads = node->run(std::move(grads));
      detail::set_location_override(nullptr);
      if (!keep_graph) node->release_saved();
    }
    const auto& edges = node->next_edges();
    for (std::size_t i = 0; i < edges.size(); ++i) {
      if (!edges[i].valid()) continue;
      Node* next = edges[i].fn.get();
      Node::RunState& next_state = next->run_state();
      if (i < input_grads.size()) accumulate(next_state.input_buffer[edges[i].input_nr], std::move(input_grads[i]));
      if (--next_state.dependencies == 0) ready.push(next);
    }
  }
}

std::vector<Edge> root_edges(const std::vector<Tensor>& outputs, std::vector<Tensor>& grads,
                             const char* op, const SourceLocation& loc) {
  if (!grads.empty() && grads.size() != outputs.size())
    throw_error(op,
                "got " + std::to_string(grads.size()) + " gradients for " +
                    std::to_string(outputs.size()) + " outputs",
                loc);
  grads.resize(outputs.size());
  std::vector<Edge> roots;
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& out = outputs[i];
    cr::detail::check_defined(out, op, loc);
    if (!out.requires_grad())
      throw_error(op,
                  "output " + std::to_string(i) + " (" + cr::detail::describe(out) +
                      ") does not require grad and has no grad_fn",
                  loc);
    Tensor& g = grads[i];
    if (!g.defined()) {
      if (out.numel() != 1)
        throw_error(op,
                    "a gradient can be implied only for a one-element output, got " +
                        cr::detail::describe(out) + "; pass a gradient of the same shape",
                    loc);
      g = ones_like(out);
    } else if (g.sizes() != out.sizes() || g.dtype() != out.dtype()) {
      throw_error(op,
                  "gradient " + cr::detail::describe(g) + " does not match output " +
                      cr::detail::describe(out),
                  loc);
    }
    roots.push_back(gradient_edge(out));
  }
  return roots;
}

}  // namespace

void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs,
              bool retain_graph, bool create_graph, SourceLocation loc) {
  std::vector<Tensor> grads = grad_outputs;
  std::vector<Edge> roots = root_edges(outputs, grads, "backward", loc);
  execute(roots, std::move(grads), retain_graph || create_graph, create_graph, nullptr);
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, std::optional<bool> retain_graph,
                         bool create_graph, bool allow_unused, SourceLocation loc) {
  std::vector<Tensor> grads = grad_outputs;
  std::vector<Edge> roots = root_edges(outputs, grads, "grad", loc);
  std::vector<Capture> captures;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    cr::detail::check_defined(inputs[i], "grad", loc);
    if (!inputs[i].requires_grad())
      throw_error("grad", "input " + std::to_string(i) + " (" + cr::detail::describe(inputs[i]) +
                              ") does not require grad",
                  loc);
    captures.push_back({gradient_edge(inputs[i]), Tensor()});
  }
  execute(roots, std::move(grads), retain_graph.value_or(create_graph), create_graph, &captures);
  std::vector<Tensor> result;
  for (std::size_t i = 0; i < captures.size(); ++i) {
    if (!captures[i].grad.defined() && !allow_unused)
      throw_error("grad",
                  "input " + std::to_string(i) +
                      " was not used to compute the outputs; pass allow_unused=true if that is intended",
                  loc);
    result.push_back(std::move(captures[i].grad));
  }
  return result;
}

}  // namespace cr::autograd
