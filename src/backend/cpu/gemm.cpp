#include "backend/cpu/gemm.h"

#include "backend/cpu/loops.h"

#include <cblas.h>
#if defined(CHAINRULE_HAVE_ONEDNN)
#include <oneapi/dnnl/dnnl.h>
#endif

#include <algorithm>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>

namespace cr::cpu {

namespace {

constexpr std::int64_t kMaxBlasIndex = std::numeric_limits<blasint>::max();

// Products at most this many multiply-adds each are too small for OpenBLAS to
// thread, so a batch of them is spread over OpenMP threads instead (OpenBLAS
// runs single-threaded inside a parallel region). The batch as a whole must
// be worth the fork/join.
constexpr std::int64_t kSmallProduct = 64 * 64 * 64;
constexpr std::int64_t kParallelBatchWork = 1 << 16;

template <class T>
struct Blas;

template <>
struct Blas<float> {
  static void gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, blasint m, blasint n, blasint k, float alpha,
                   const float* a, blasint lda, const float* b, blasint ldb, float beta, float* c, blasint ldc) {
#if defined(CHAINRULE_HAVE_ONEDNN)
    // oneDNN's JIT kernels (row-major, like our calls) are faster than
    // OpenBLAS's on the products of training steps; it refuses only
    // arguments we never pass, and then OpenBLAS answers instead.
    if (dnnl_sgemm(ta == CblasTrans ? 'T' : 'N', tb == CblasTrans ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c,
                   ldc) == dnnl_success)
      return;
#endif
    cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
  static void gemv(CBLAS_TRANSPOSE t, blasint m, blasint n, float alpha, const float* a, blasint lda,
                   const float* x, blasint incx, float beta, float* y) {
    cblas_sgemv(CblasRowMajor, t, m, n, alpha, a, lda, x, incx, beta, y, 1);
  }
  static float dot(blasint n, const float* x, blasint incx, const float* y, blasint incy) {
    return cblas_sdot(n, x, incx, y, incy);
  }
};

template <>
struct Blas<double> {
  static void gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, blasint m, blasint n, blasint k, double alpha,
                   const double* a, blasint lda, const double* b, blasint ldb, double beta, double* c,
                   blasint ldc) {
    cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
  static void gemv(CBLAS_TRANSPOSE t, blasint m, blasint n, double alpha, const double* a, blasint lda,
                   const double* x, blasint incx, double beta, double* y) {
    cblas_dgemv(CblasRowMajor, t, m, n, alpha, a, lda, x, incx, beta, y, 1);
  }
  static double dot(blasint n, const double* x, blasint incx, const double* y, blasint incy) {
    return cblas_ddot(n, x, incx, y, incy);
  }
};

// How BLAS reads a matrix in row-major order: as stored (NoTrans, rows `ld`
// apart) or as the transpose of a stored one (Trans, columns `ld` apart).
struct Layout {
  CBLAS_TRANSPOSE trans;
  std::int64_t ld;
};

// The layout under which BLAS can read a rows×cols matrix in place, if any.
// A dim of size 1 may have any stride. BLAS wants the leading dimension at
// least the length of a stored row, so overlapping rows (stride 0) are refused.
std::optional<Layout> blas_layout(std::int64_t rows, std::int64_t cols, std::int64_t row_stride,
                                  std::int64_t col_stride) {
  if (cols == 1 || col_stride == 1) {
    const std::int64_t ld = rows == 1 ? std::max<std::int64_t>(cols, 1) : row_stride;
    if (ld >= std::max<std::int64_t>(cols, 1) && ld <= kMaxBlasIndex) return Layout{CblasNoTrans, ld};
  }
  if (rows == 1 || row_stride == 1) {
    const std::int64_t ld = cols == 1 ? std::max<std::int64_t>(rows, 1) : col_stride;
    if (ld >= std::max<std::int64_t>(rows, 1) && ld <= kMaxBlasIndex) return Layout{CblasTrans, ld};
  }
  return std::nullopt;
}

// One operand of a batch of products, as BLAS reads it. A layout BLAS cannot
// describe is copied, one matrix at a time, into a single row-major scratch
// buffer; a matrix broadcast across the batch is copied once.
template <class T>
class BlasOperand {
 public:
  explicit BlasOperand(const StridedMatrices<T>& m) : m_(m) {
    if (auto layout = blas_layout(m.rows, m.cols, m.row_stride, m.col_stride)) {
      layout_ = *layout;
      return;
    }
    layout_ = Layout{CblasNoTrans, std::max<std::int64_t>(m.cols, 1)};
    scratch_.reset(new T[static_cast<std::size_t>(m.rows * m.cols)]);  // uninitialised on purpose
  }

  bool copies() const { return scratch_ != nullptr; }
  const Layout& layout() const { return layout_; }

  /// The matrix `offset` elements past the data, where BLAS can read it.
  /// Not thread-safe when copies() is true.
  const T* at(std::int64_t offset) {
    const T* src = m_.data + offset;
    if (!scratch_) return src;
    if (src != copied_from_) {
      T* dst = scratch_.get();
      for (std::int64_t i = 0; i < m_.rows; ++i)
        for (std::int64_t j = 0; j < m_.cols; ++j)
          dst[i * m_.cols + j] = src[i * m_.row_stride + j * m_.col_stride];
      copied_from_ = src;
    }
    return scratch_.get();
  }

 private:
  const StridedMatrices<T>& m_;
  Layout layout_{};
  std::unique_ptr<T[]> scratch_;
  const T* copied_from_ = nullptr;
};

// c (m×n, row-major, contiguous) = alpha·A·B + beta·c for one product.
template <class T>
void product(std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a, const Layout& la,
             const T* b, const Layout& lb, T beta, T* c) {
  const auto bi = [](std::int64_t v) { return static_cast<blasint>(v); };
  if (m == 1 || n == 1) {
    // A matrix-vector product: gemv skips the packing gemm would do. BLAS
    // promises not to read y when beta is 0, but some OpenBLAS releases scale
    // it by 0 anyway (NaN·0 = NaN from uninitialised memory); clearing it is cheap.
    if (beta == T(0)) std::fill_n(c, n == 1 ? m : n, T(0));
    if (n == 1) {  // c = op(A)·x, x the column of B
      const std::int64_t incx = lb.trans == CblasNoTrans ? lb.ld : 1;
      if (la.trans == CblasNoTrans) Blas<T>::gemv(CblasNoTrans, bi(m), bi(k), alpha, a, bi(la.ld), b, bi(incx), beta, c);
      else Blas<T>::gemv(CblasTrans, bi(k), bi(m), alpha, a, bi(la.ld), b, bi(incx), beta, c);
    } else {  // c = op(B)ᵀ·x, x the row of A
      const std::int64_t incx = la.trans == CblasNoTrans ? 1 : la.ld;
      if (lb.trans == CblasNoTrans) Blas<T>::gemv(CblasTrans, bi(k), bi(n), alpha, b, bi(lb.ld), a, bi(incx), beta, c);
      else Blas<T>::gemv(CblasNoTrans, bi(n), bi(k), alpha, b, bi(lb.ld), a, bi(incx), beta, c);
    }
    return;
  }
  Blas<T>::gemm(la.trans, lb.trans, bi(m), bi(n), bi(k), alpha, a, bi(la.ld), b, bi(lb.ld), beta, c, bi(n));
}

// When every product shares one B and A's batch stacks its rows at one
// stride, the whole batch is a single taller product [batch·m, k]·[k, n]
// (C, contiguous, is already laid out that way). Returns that A if so.
template <class T>
std::optional<StridedMatrices<T>> fold_batch_into_rows(const Shape& batch, const StridedMatrices<T>& a,
                                                       const StridedMatrices<T>& b) {
  std::int64_t rows = a.rows, row_stride = a.row_stride;
  for (int d = batch.size() - 1; d >= 0; --d) {
    if (batch[d] == 1) continue;
    if (b.batch_strides[d] != 0) return std::nullopt;
    if (rows == 1) row_stride = a.batch_strides[d];
    else if (a.batch_strides[d] != row_stride * rows) return std::nullopt;
    rows *= batch[d];
  }
  if (rows > kMaxBlasIndex || !blas_layout(rows, a.cols, row_stride, a.col_stride)) return std::nullopt;
  return StridedMatrices<T>{a.data, rows, a.cols, row_stride, a.col_stride, {}};
}

template <class T>
void gemm_impl(const Shape& batch, const StridedMatrices<T>& a, const StridedMatrices<T>& b, T* c, T alpha,
               T beta) {
  const std::int64_t m = a.rows, k = a.cols, n = b.cols;
  const std::int64_t count = batch.numel();
  if (m == 0 || n == 0 || count == 0) return;
  if (std::max({m, n, k}) > kMaxBlasIndex)
    throw std::length_error("gemm: a matrix dim exceeds BLAS's 32-bit index range");
  if (k == 0) {  // an empty sum: C = beta·C
    const std::int64_t total = count * m * n;
    if (beta == T(0)) std::fill_n(c, total, T(0));
    else if (beta != T(1))
      for (std::int64_t i = 0; i < total; ++i) c[i] *= beta;
    return;
  }
  if (count > 1) {
    if (auto folded = fold_batch_into_rows(batch, a, b)) {
      gemm_impl<T>(Shape{}, *folded, b, c, alpha, beta);
      return;
    }
  }

  BlasOperand<T> pa(a), pb(b);
  const std::int64_t c_stride = m * n;
  const int nb = batch.size();
  const bool parallel = count > 1 && !pa.copies() && !pb.copies() && m * n * k <= kSmallProduct &&
                        count * m * n * k >= kParallelBatchWork;
  parallel_for(count, parallel, [&](std::int64_t i) {
    std::int64_t offset_a = 0, offset_b = 0, rest = i;
    for (int d = nb - 1; d >= 0; --d) {
      const std::int64_t index = rest % batch[d];
      rest /= batch[d];
      offset_a += index * a.batch_strides[d];
      offset_b += index * b.batch_strides[d];
    }
    product(m, n, k, alpha, pa.at(offset_a), pa.layout(), pb.at(offset_b), pb.layout(), beta, c + i * c_stride);
  });
}

template <class T>
T dot_impl(std::int64_t n, const T* x, std::int64_t incx, const T* y, std::int64_t incy) {
  if (n <= 0) return T(0);
  if (incx > 0 && incy > 0 && std::max({n, incx, incy}) <= kMaxBlasIndex)
    return Blas<T>::dot(static_cast<blasint>(n), x, static_cast<blasint>(incx), y, static_cast<blasint>(incy));
  // An expanded (stride 0) vector, or one too long for BLAS's indices.
  double sum = 0;
  for (std::int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i * incx]) * static_cast<double>(y[i * incy]);
  return static_cast<T>(sum);
}

}  // namespace

void gemm(const Shape& batch, const StridedMatrices<float>& a, const StridedMatrices<float>& b, float* c,
          float alpha, float beta) {
  gemm_impl(batch, a, b, c, alpha, beta);
}

void gemm(const Shape& batch, const StridedMatrices<double>& a, const StridedMatrices<double>& b, double* c,
          double alpha, double beta) {
  gemm_impl(batch, a, b, c, alpha, beta);
}

float dot(std::int64_t n, const float* x, std::int64_t incx, const float* y, std::int64_t incy) {
  return dot_impl(n, x, incx, y, incy);
}

double dot(std::int64_t n, const double* x, std::int64_t incx, const double* y, std::int64_t incy) {
  return dot_impl(n, x, incx, y, incy);
}

}  // namespace cr::cpu
