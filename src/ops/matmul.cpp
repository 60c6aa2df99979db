// matmul, mm, addmm: matrix products by OpenBLAS (backend/cpu/gemm). Operands
// reach BLAS as they lie in memory, transposed views included; the output is
// the only allocation. Backward rules are products too (g·bᵀ, aᵀ·g), written
// in these public ops so they can be differentiated again.

#include <algorithm>
#include <string>

#include "backend/cpu/gemm.h"
#include "chainrule/autograd/record.h"
#include "chainrule/ops/linalg.h"
#include "core/tensor_internal.h"

namespace cr {

using autograd::GradList;
using autograd::Node;
using autograd::SavedTensor;

namespace {

std::string operands(const Tensor& a, const Tensor& b) {
  return detail::describe(a) + " @ " + detail::describe(b);
}

// What every product asks of its two operands: defined, floating, one dtype,
// at least one dim.
void check_operands(const Tensor& a, const Tensor& b, const char* op, const SourceLocation& loc) {
  if (!a.defined() || !b.defined()) throw_error(op, "got an undefined tensor: " + operands(a, b), loc);
  if (!is_floating(a.dtype()) || !is_floating(b.dtype()))
    throw_error(op, "expects float32 or float64 operands, got " + operands(a, b), loc);
  if (a.dtype() != b.dtype())
    throw_error(op, "dtype mismatch: " + operands(a, b) + " (convert one with .to())", loc);
  if (a.dim() == 0 || b.dim() == 0)
    throw_error(op, "expects operands of at least 1 dim, got " + operands(a, b), loc);
}

void check_2d(const Tensor& a, const Tensor& b, const char* op, const SourceLocation& loc) {
  if (a.dim() != 2 || b.dim() != 2) throw_error(op, "expects 2-D operands, got " + operands(a, b), loc);
}

// The last dims of `t` as a stack of matrices. A 1-D `t` is one row when it is
// the left operand and one column when it is the right one, as in torch.matmul.
template <class T>
cpu::StridedMatrices<T> matrices(const Tensor& t, bool left) {
  cpu::StridedMatrices<T> m;
  m.data = static_cast<const T*>(t.raw_data());
  const int nd = static_cast<int>(t.dim());
  if (nd == 1) {
    m.rows = left ? 1 : t.sizes()[0];
    m.cols = left ? t.sizes()[0] : 1;
    m.row_stride = left ? 0 : t.strides()[0];  // the stride of a size-1 dim is never used
    m.col_stride = left ? t.strides()[0] : 0;
  } else {
    m.rows = t.sizes()[nd - 2];
    m.cols = t.sizes()[nd - 1];
    m.row_stride = t.strides()[nd - 2];
    m.col_stride = t.strides()[nd - 1];
  }
  return m;
}

// The batch dims of `t` (all but its matrix dims), right-aligned to `batch`,
// as strides; 0 where `t` broadcasts.
Shape batch_strides(const Tensor& t, const Shape& batch) {
  Shape strides;
  strides.resize(batch.size());
  const int own = std::max(0, static_cast<int>(t.dim()) - 2);
  for (int i = 0; i < batch.size(); ++i) {
    const int j = i - (batch.size() - own);
    strides[i] = (j < 0 || t.sizes()[j] == 1) ? 0 : t.strides()[j];
  }
  return strides;
}

// torch.matmul's forward for checked operands: 1-D·1-D is a dot product; any
// other pair is a (batched, broadcast) matrix product with 1-D operands
// promoted to a row (left) or column (right) and that dim dropped from the result.
Tensor matmul_forward(const Tensor& a, const Tensor& b, const char* op, const SourceLocation& loc) {
  const int na = static_cast<int>(a.dim()), nb = static_cast<int>(b.dim());
  const std::int64_t inner_a = a.sizes()[na - 1];
  const std::int64_t inner_b = nb == 1 ? b.sizes()[0] : b.sizes()[nb - 2];
  if (inner_a != inner_b) throw_error(op, "inner dimensions do not match: " + operands(a, b), loc);

  if (na == 1 && nb == 1) {
    Tensor out = detail::make_tensor(Shape{}, a.dtype());
    dispatch_floating(a.dtype(), [&]<class T>() {
      *static_cast<T*>(out.raw_data()) = cpu::dot(inner_a, static_cast<const T*>(a.raw_data()), a.strides()[0],
                                                  static_cast<const T*>(b.raw_data()), b.strides()[0]);
    });
    return out;
  }

  // The batch shape: the broadcast of both operands' leading dims.
  const int batch_a = std::max(0, na - 2), batch_b = std::max(0, nb - 2);
  Shape batch;
  batch.resize(std::max(batch_a, batch_b));
  for (int i = 0; i < batch.size(); ++i) {
    const int ia = i - (batch.size() - batch_a), ib = i - (batch.size() - batch_b);
    const std::int64_t da = ia >= 0 ? a.sizes()[ia] : 1, db = ib >= 0 ? b.sizes()[ib] : 1;
    if (da != db && da != 1 && db != 1)
      throw_error(op, "batch dimensions do not broadcast: " + operands(a, b), loc);
    batch[i] = da == 1 ? db : da;
  }
  Shape out_shape = batch;
  if (na > 1) out_shape.push_back(a.sizes()[na - 2]);
  if (nb > 1) out_shape.push_back(b.sizes()[nb - 1]);

  Tensor out = detail::make_tensor(out_shape, a.dtype());
  dispatch_floating(a.dtype(), [&]<class T>() {
    cpu::StridedMatrices<T> ma = matrices<T>(a, /*left=*/true), mb = matrices<T>(b, /*left=*/false);
    ma.batch_strides = batch_strides(a, batch);
    mb.batch_strides = batch_strides(b, batch);
    cpu::gemm(batch, ma, mb, static_cast<T*>(out.raw_data()), T(1), T(0));
  });
  return out;
}

// The gradient aᵀ·g of the right operand b of a 2-D product a·b. When b is a
// transposed view of a row-major matrix (nn.Linear's weight.t()), it is
// computed as (gᵀ·a)ᵀ: the same product, laid out like the matrix behind b, so
// that once the transpose's backward undoes the .t() the gradient is
// contiguous and AccumulateGrad keeps it instead of copying it transposed.
Tensor right_grad(const Tensor& a, const Tensor& g, bool b_transposed) {
  return b_transposed ? mm(g.t(), a).t() : mm(a.t(), g);
}

// Whether a 2-D b is stored column by column (a transposed row-major matrix).
bool column_major(const Tensor& b) {
  return b.dim() == 2 && b.sizes()[0] > 1 && b.sizes()[1] > 1 && b.strides()[0] == 1 && b.strides()[1] >= b.sizes()[0];
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b, SourceLocation loc) {
  check_operands(a, b, "matmul", loc);
  Tensor out = matmul_forward(a, b, "matmul", loc);
  if (autograd::needs_grad(a, b)) {
    // Each gradient needs only the other operand.
    SavedTensor sa(b.requires_grad() ? a : Tensor(), false);
    SavedTensor sb(a.requires_grad() ? b : Tensor(), false);
    const bool a_vector = a.dim() == 1, b_vector = b.dim() == 1;
    const bool fold_grad_b = b.dim() == 2 && a.dim() > 2;
    const char* name = a_vector && b_vector              ? "DotBackward"
                       : a.dim() == 2 && b.dim() == 2 ? "MmBackward"
                                                      : "MatmulBackward";
    autograd::record(name, loc, {&a, &b}, out, [sa, sb, a_vector, b_vector, fold_grad_b](Node& self, const Tensor& g) {
      // Put back the dims 1-D operands dropped, so every case is a (batched)
      // matrix product; the engine sums broadcast batch dims back down.
      Tensor g2 = g;
      if (a_vector && b_vector) g2 = g.reshape({1, 1});
      else if (a_vector) g2 = g.unsqueeze(-2);
      else if (b_vector) g2 = g.unsqueeze(-1);
      Tensor ga, gb;
      if (self.needs_input_grad(0)) {
        Tensor vb = sb.unpack(self);
        if (b_vector) vb = vb.unsqueeze(1);
        ga = matmul(g2, vb.transpose(-1, -2));
        if (a_vector) ga = ga.squeeze(-2);
      }
      if (self.needs_input_grad(1)) {
        Tensor va = sa.unpack(self);
        if (a_vector) va = va.unsqueeze(0);
        if (fold_grad_b) {
          // One shared matrix: sum over the batch inside a single product,
          // [k, batch·m]·[batch·m, n], rather than a batch of [k, n] to add up.
          std::int64_t rows = 1;
          for (int d = 0; d + 1 < va.dim(); ++d) rows *= va.sizes()[d];
          gb = mm(va.reshape({rows, va.sizes().back()}).t(), g2.reshape({rows, g2.sizes().back()}));
        } else {
          gb = matmul(va.transpose(-1, -2), g2);
        }
        if (b_vector) gb = gb.squeeze(-1);
      }
      return GradList{ga, gb};
    });
  }
  return out;
}

Tensor mm(const Tensor& a, const Tensor& b, SourceLocation loc) {
  check_operands(a, b, "mm", loc);
  check_2d(a, b, "mm", loc);
  Tensor out = matmul_forward(a, b, "mm", loc);
  if (autograd::needs_grad(a, b)) {
    SavedTensor sa(b.requires_grad() ? a : Tensor(), false);
    SavedTensor sb(a.requires_grad() ? b : Tensor(), false);
    autograd::record("MmBackward", loc, {&a, &b}, out,
                     [sa, sb, b_transposed = column_major(b)](Node& self, const Tensor& g) {
                       return GradList{self.needs_input_grad(0) ? mm(g, sb.unpack(self).t()) : Tensor(),
                                       self.needs_input_grad(1) ? right_grad(sa.unpack(self), g, b_transposed)
                                                                : Tensor()};
                     });
  }
  return out;
}

Tensor addmm(const Tensor& bias, const Tensor& a, const Tensor& b, SourceLocation loc) {
  check_operands(a, b, "addmm", loc);
  check_2d(a, b, "addmm", loc);
  const std::int64_t m = a.sizes()[0], k = a.sizes()[1], n = b.sizes()[1];
  if (k != b.sizes()[0]) throw_error("addmm", "inner dimensions do not match: " + operands(a, b), loc);
  if (!bias.defined()) throw_error("addmm", "got an undefined bias for " + operands(a, b), loc);
  if (bias.dtype() != a.dtype())
    throw_error("addmm", "dtype mismatch: bias " + detail::describe(bias) + " for " + operands(a, b), loc);
  const int nd = static_cast<int>(bias.dim());
  const std::int64_t bias_rows = nd == 2 ? bias.sizes()[0] : 1, bias_cols = nd >= 1 ? bias.sizes()[nd - 1] : 1;
  if (nd > 2 || (bias_rows != 1 && bias_rows != m) || (bias_cols != 1 && bias_cols != n))
    throw_error("addmm",
                "bias " + detail::describe(bias) + " does not broadcast to [" + std::to_string(m) + ", " +
                    std::to_string(n) + "] for " + operands(a, b),
                loc);

  // The bias, broadcast into the output, is the C that GEMM adds to (beta = 1).
  Tensor out = detail::make_tensor(Shape{m, n}, a.dtype());
  const std::int64_t row_stride = bias_rows == 1 ? 0 : bias.strides()[0];
  const std::int64_t col_stride = bias_cols == 1 ? 0 : bias.strides()[nd - 1];
  dispatch_floating(a.dtype(), [&]<class T>() {
    const T* src = static_cast<const T*>(bias.raw_data());
    T* dst = static_cast<T*>(out.raw_data());
    for (std::int64_t i = 0; i < m; ++i) {
      const T* row = src + i * row_stride;
      T* to = dst + i * n;
      if (col_stride == 1) std::copy_n(row, n, to);
      else if (col_stride == 0) std::fill_n(to, n, *row);
      else
        for (std::int64_t j = 0; j < n; ++j) to[j] = row[j * col_stride];
    }
    cpu::StridedMatrices<T> ma = matrices<T>(a, true), mb = matrices<T>(b, false);
    cpu::gemm(Shape{}, ma, mb, dst, T(1), T(1));
  });

  if (autograd::needs_grad(bias) || autograd::needs_grad(a, b)) {
    SavedTensor sa(b.requires_grad() ? a : Tensor(), false);
    SavedTensor sb(a.requires_grad() ? b : Tensor(), false);
    autograd::record("AddmmBackward", loc, {&bias, &a, &b}, out,
                     [sa, sb, b_transposed = column_major(b)](Node& self, const Tensor& g) {
                       return GradList{self.needs_input_grad(0) ? g : Tensor(),  // the engine sums it to the bias's shape
                                       self.needs_input_grad(1) ? mm(g, sb.unpack(self).t()) : Tensor(),
                                       self.needs_input_grad(2) ? right_grad(sa.unpack(self), g, b_transposed)
                                                                : Tensor()};
                     });
  }
  return out;
}

Tensor Tensor::matmul(const Tensor& other, SourceLocation loc) const { return cr::matmul(*this, other, loc); }
Tensor Tensor::mm(const Tensor& other, SourceLocation loc) const { return cr::mm(*this, other, loc); }

}  // namespace cr
