#pragma once
// Datasets: anything that can hand out a batch of samples by index.
// A DataLoader asks for one index list per batch, from a background thread,
// so get_batch must be safe to call from a thread other than the caller's
// (reading immutable members is).

#include <cstdint>
#include <memory>
#include <vector>

#include "chainrule/core/tensor.h"

namespace cr::data {

/// Inputs and targets of one or more samples; dim 0 indexes the samples of a
/// batch. `target` is undefined for a dataset without targets.
struct Example {
  Tensor data;
  Tensor target;
};
using Batch = Example;

class Dataset {
 public:
  virtual ~Dataset() = default;
  /// Number of samples.
  virtual std::int64_t size() const = 0;
  /// The samples at `indices`, stacked along a new dim 0, in that order.
  /// Throws cr::Error for an index outside [0, size()).
  virtual Batch get_batch(const std::vector<std::int64_t>& indices, CR_LOC) const = 0;
  /// One sample, without the batch dim.
  Example get(std::int64_t index, CR_LOC) const;

 protected:
  /// Throws ("get_batch: ...") unless every index lies in [0, size()).
  void check_indices(const std::vector<std::int64_t>& indices, const SourceLocation& loc) const;
};

/// Samples are slices along dim 0 of `data` (and of `target`, when given).
/// Holds the tensors without their autograd history.
class TensorDataset : public Dataset {
 public:
  explicit TensorDataset(Tensor data, Tensor target = {}, CR_LOC);
  std::int64_t size() const override;
  Batch get_batch(const std::vector<std::int64_t>& indices, CR_LOC) const override;

  const Tensor& data() const { return data_; }
  const Tensor& target() const { return target_; }

 private:
  Tensor data_;
  Tensor target_;
};

/// The first `count` samples of another dataset (for quick runs on part of the data).
class Subset : public Dataset {
 public:
  Subset(std::shared_ptr<const Dataset> source, std::int64_t count, CR_LOC);
  std::int64_t size() const override { return count_; }
  Batch get_batch(const std::vector<std::int64_t>& indices, CR_LOC) const override;

 private:
  std::shared_ptr<const Dataset> source_;
  std::int64_t count_;
};

}  // namespace cr::data
