// softmax and log_softmax in cr::nn::functional, as in torch.nn.functional:
// the fused kernels live in ops/softmax.cpp.

#include "chainrule/nn/functional.h"
#include "chainrule/ops/reduction.h"

namespace cr::nn::functional {

Tensor softmax(const Tensor& input, std::int64_t dim, SourceLocation loc) { return cr::softmax(input, dim, loc); }

Tensor log_softmax(const Tensor& input, std::int64_t dim, SourceLocation loc) {
  return cr::log_softmax(input, dim, loc);
}

}  // namespace cr::nn::functional
