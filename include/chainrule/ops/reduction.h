#pragma once
// Reductions over all elements or over given dims (negative dims count from the end).

#include <tuple>
#include <vector>

#include "chainrule/core/tensor.h"

namespace cr {

Tensor sum(const Tensor& x, CR_LOC);
Tensor sum(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim = false, CR_LOC);
Tensor mean(const Tensor& x, CR_LOC);
Tensor mean(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim = false, CR_LOC);
Tensor var(const Tensor& x, const std::vector<std::int64_t>& dims, bool unbiased = true,
           bool keepdim = false, CR_LOC);
Tensor std(const Tensor& x, const std::vector<std::int64_t>& dims, bool unbiased = true,
           bool keepdim = false, CR_LOC);
Tensor max(const Tensor& x, CR_LOC);
std::tuple<Tensor, Tensor> max(const Tensor& x, std::int64_t dim, bool keepdim = false, CR_LOC);
Tensor min(const Tensor& x, CR_LOC);
std::tuple<Tensor, Tensor> min(const Tensor& x, std::int64_t dim, bool keepdim = false, CR_LOC);
Tensor argmax(const Tensor& x, CR_LOC);
Tensor argmax(const Tensor& x, std::int64_t dim, bool keepdim = false, CR_LOC);
Tensor logsumexp(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim = false,
                 CR_LOC);
Tensor softmax(const Tensor& x, std::int64_t dim, CR_LOC);
Tensor log_softmax(const Tensor& x, std::int64_t dim, CR_LOC);

}  // namespace cr
