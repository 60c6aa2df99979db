#pragma once
// BatchNorm1d, BatchNorm2d and LayerNorm.

#include <cstdint>

#include "chainrule/nn/module.h"

namespace cr::nn {

/// Batch normalisation over dim 1. Parameters weight (ones) and bias (zeros)
/// when affine; buffers running_mean, running_var and num_batches_tracked when
/// tracking running stats, named as PyTorch's. Training normalises with the
/// batch's statistics and updates the running ones with `momentum`
/// (new = (1−momentum)·old + momentum·batch); eval uses the running ones.
class BatchNorm : public Module {
 public:
  void reset_running_stats();
  void reset_parameters();
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;

  std::int64_t num_features;
  double eps, momentum;
  bool affine, track_running_stats;
  Tensor weight, bias;                                   // undefined unless affine
  Tensor running_mean, running_var, num_batches_tracked;  // undefined unless tracking

 protected:
  BatchNorm(std::string type_name, std::int64_t num_features, double eps, double momentum, bool affine,
            bool track_running_stats);
  /// Throws unless `input` has the rank this variant takes.
  virtual void check_rank(const Tensor& input) const = 0;
};

/// Over [N, C] or [N, C, L].
class BatchNorm1d : public BatchNorm {
 public:
  explicit BatchNorm1d(std::int64_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = true,
                       bool track_running_stats = true)
      : BatchNorm("BatchNorm1d", num_features, eps, momentum, affine, track_running_stats) {}

 protected:
  void check_rank(const Tensor& input) const override;
};

/// Over [N, C, H, W].
class BatchNorm2d : public BatchNorm {
 public:
  explicit BatchNorm2d(std::int64_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = true,
                       bool track_running_stats = true)
      : BatchNorm("BatchNorm2d", num_features, eps, momentum, affine, track_running_stats) {}

 protected:
  void check_rank(const Tensor& input) const override;
};

/// Normalises over the trailing dims `normalized_shape`, with elementwise
/// weight (ones) and bias (zeros) of that shape.
class LayerNorm : public Module {
 public:
  explicit LayerNorm(Shape normalized_shape, double eps = 1e-5, bool elementwise_affine = true, bool bias = true);
  void reset_parameters();
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;

  Shape normalized_shape;
  double eps;
  bool elementwise_affine;
  Tensor weight, bias;
};

}  // namespace cr::nn
