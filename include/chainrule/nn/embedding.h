#pragma once
// Embedding.

#include <cstdint>

#include "chainrule/nn/module.h"

namespace cr::nn {

/// A lookup table: int64 indices of any shape -> rows of weight
/// [num_embeddings, embedding_dim], which starts as N(0, 1) as in PyTorch.
class Embedding : public Module {
 public:
  Embedding(std::int64_t num_embeddings, std::int64_t embedding_dim);
  void reset_parameters();
  Tensor forward(const Tensor& indices) override;
  std::string extra_repr() const override;

  std::int64_t num_embeddings, embedding_dim;
  Tensor weight;
};

}  // namespace cr::nn
