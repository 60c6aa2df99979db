#pragma once
// Matrix products on strided memory, computed by OpenBLAS. An operand BLAS can
// read where it lies (row-major, or the transpose of a row-major matrix) is
// passed as it is; only layouts BLAS cannot describe (a slice with a step, an
// expanded dim) are copied, into one scratch buffer reused across the batch.

#include <cstdint>

#include "chainrule/core/shape.h"

namespace cr::cpu {

/// A stack of rows×cols matrices: element (i, j) of matrix (b0, b1, ...) is at
/// data[b0·batch_strides[0] + b1·batch_strides[1] + ... + i·row_stride + j·col_stride].
/// Strides are in elements; a batch stride of 0 broadcasts one matrix to all.
template <class T>
struct StridedMatrices {
  const T* data = nullptr;
  std::int64_t rows = 0, cols = 0;
  std::int64_t row_stride = 0, col_stride = 0;
  Shape batch_strides;  // one per dim of the batch shape the product runs over
};

/// C[b] = alpha·A[b]·B[b] + beta·C[b] for every index b of `batch` (an empty
/// shape: a single product), where C is a contiguous [batch..., a.rows, b.cols]
/// buffer and a.cols == b.rows. With beta == 0, C's prior contents are never
/// read, so it may be uninitialised.
void gemm(const Shape& batch, const StridedMatrices<float>& a, const StridedMatrices<float>& b,
          float* c, float alpha, float beta);
void gemm(const Shape& batch, const StridedMatrices<double>& a, const StridedMatrices<double>& b,
          double* c, double alpha, double beta);

/// The dot product of x[0], x[incx], ... and y[0], y[incy], ... (n elements each).
float dot(std::int64_t n, const float* x, std::int64_t incx, const float* y, std::int64_t incy);
double dot(std::int64_t n, const double* x, std::int64_t incx, const double* y, std::int64_t incy);

}  // namespace cr::cpu
