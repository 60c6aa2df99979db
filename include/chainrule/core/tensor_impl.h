#pragma once
// What a Tensor handle points to: a view (sizes, strides, offset, dtype) of a
// Storage, plus the autograd metadata of that view.

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "chainrule/core/dtype.h"
#include "chainrule/core/shape.h"
#include "chainrule/core/storage.h"

namespace cr {

class Tensor;
namespace autograd {
class Node;
}

/// A gradient hook: returns a replacement gradient, or an undefined Tensor to keep it.
using GradHook = std::function<Tensor(const Tensor&)>;

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape sizes;
  Shape strides;
  std::int64_t offset = 0;  // in elements
  DType dtype = kFloat32;

  // True when this tensor shares its storage with a tensor that has autograd
  // history (a view made by reshape/slice/...). In-place ops refuse such views
  // while recording, as rewriting history through them would be silently wrong.
  bool is_view = false;

  // Autograd metadata. A tensor with requires_grad and no grad_fn is a leaf.
  bool requires_grad = false;
  bool retains_grad = false;
  std::shared_ptr<autograd::Node> grad_fn;
  std::uint32_t output_nr = 0;
  std::shared_ptr<TensorImpl> grad;             // accumulated .grad(), if any
  std::weak_ptr<autograd::Node> grad_accumulator;  // leaves only, made on first use
  std::vector<std::pair<int, GradHook>> hooks;   // leaves only; non-leaf hooks live on grad_fn

  TensorImpl() = default;
  TensorImpl(const TensorImpl&) = delete;
  TensorImpl& operator=(const TensorImpl&) = delete;
  ~TensorImpl();  // releases grad_fn without recursing through a long graph
};

}  // namespace cr
