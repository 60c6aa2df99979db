#include "chainrule/nn/embedding.h"

#include <string>

#include "chainrule/core/factories.h"
#include "chainrule/nn/init.h"
#include "chainrule/ops/shape.h"
#include "core/tensor_internal.h"

namespace cr::nn {

Embedding::Embedding(std::int64_t num_embeddings, std::int64_t embedding_dim)
    : Module("Embedding"), num_embeddings(num_embeddings), embedding_dim(embedding_dim) {
  if (num_embeddings < 0 || embedding_dim < 0)
    throw_error("Embedding", "needs non-negative sizes, got " + std::to_string(num_embeddings) + ", " +
                                 std::to_string(embedding_dim),
                SourceLocation::current());
  weight = register_parameter("weight", empty({num_embeddings, embedding_dim}));
  reset_parameters();
}

void Embedding::reset_parameters() { init::normal_(weight); }

Tensor Embedding::forward(const Tensor& indices) {
  const SourceLocation loc = call_site();
  detail::check_defined(indices, "Embedding", loc);
  if (indices.dtype() != kInt64)
    throw_error("Embedding", describe_call() + " takes int64 indices, got " + detail::describe(indices), loc);
  return embedding(weight, indices, loc);
}

std::string Embedding::extra_repr() const {
  return std::to_string(num_embeddings) + ", " + std::to_string(embedding_dim);
}

}  // namespace cr::nn
