#pragma once
// Matrix products, computed by OpenBLAS.

#include "chainrule/core/tensor.h"

namespace cr {

/// As torch.matmul: 1-D·1-D is a dot product, 2-D·2-D a matrix product, and
/// higher dims are batches that broadcast.
Tensor matmul(const Tensor& a, const Tensor& b, CR_LOC);
/// Strictly 2-D matrix product.
Tensor mm(const Tensor& a, const Tensor& b, CR_LOC);
/// bias + a·b for 2-D a, b and a bias that broadcasts to the result (one GEMM call).
Tensor addmm(const Tensor& bias, const Tensor& a, const Tensor& b, CR_LOC);

}  // namespace cr
