#pragma once
// A tensor kept by a node for its backward rule, with the storage version it
// had when saved. Using it after an in-place change is an error that names the
// op that saved it and where that op was called.

#include <cstdint>

#include "chainrule/core/tensor.h"

namespace cr::autograd {

class Node;

class SavedTensor {
 public:
  SavedTensor() = default;
  /// `is_output` marks a tensor the saving node itself produced; it is kept
  /// without its grad_fn (that would be a reference cycle) and reconnected on unpack.
  SavedTensor(const Tensor& tensor, bool is_output);

  /// The saved tensor, checked against in-place modification.
  Tensor unpack(const Node& owner) const;
  bool defined() const { return data_.defined(); }

 private:
  Tensor data_;
  std::uint64_t saved_version_ = 0;
  bool is_output_ = false;
  bool output_requires_grad_ = false;
  std::uint32_t output_nr_ = 0;
};

}  // namespace cr::autograd
