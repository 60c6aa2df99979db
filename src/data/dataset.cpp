#include "chainrule/data/dataset.h"

#include <string>

#include "chainrule/core/factories.h"
#include "core/tensor_internal.h"

namespace cr::data {

void Dataset::check_indices(const std::vector<std::int64_t>& indices, const SourceLocation& loc) const {
  const std::int64_t n = size();
  for (std::size_t i = 0; i < indices.size(); ++i)
    if (indices[i] < 0 || indices[i] >= n)
      throw_error("get_batch",
                  "index " + std::to_string(indices[i]) + " at position " + std::to_string(i) +
                      " is out of range for a dataset of " + std::to_string(n) + " samples",
                  loc);
}

Example Dataset::get(std::int64_t index, SourceLocation loc) const {
  Batch batch = get_batch({index}, loc);
  Example example;
  example.data = batch.data.select(0, 0, loc);
  if (batch.target.defined()) example.target = batch.target.select(0, 0, loc);
  return example;
}

TensorDataset::TensorDataset(Tensor data, Tensor target, SourceLocation loc) {
  cr::detail::check_defined(data, "TensorDataset", loc);
  if (data.dim() == 0)
    throw_error("TensorDataset", "data needs a dim 0 to index samples along, got " + cr::detail::describe(data), loc);
  if (target.defined()) {
    if (target.dim() == 0)
      throw_error("TensorDataset", "target needs a dim 0 to index samples along, got " + cr::detail::describe(target),
                  loc);
    if (target.size(0) != data.size(0))
      throw_error("TensorDataset",
                  "data and target hold different numbers of samples: " + cr::detail::describe(data) + " and " +
                      cr::detail::describe(target),
                  loc);
    target_ = target.detach();
  }
  data_ = data.detach();
}

std::int64_t TensorDataset::size() const { return data_.size(0); }

Batch TensorDataset::get_batch(const std::vector<std::int64_t>& indices, SourceLocation loc) const {
  check_indices(indices, loc);
  const Tensor index = tensor(indices, {static_cast<std::int64_t>(indices.size())}, kInt64, loc);
  Batch batch;
  batch.data = data_.index_select(0, index, loc);
  if (target_.defined()) batch.target = target_.index_select(0, index, loc);
  return batch;
}

}  // namespace cr::data
