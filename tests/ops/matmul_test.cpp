// matmul, mm, addmm: values against a naive triple loop for every shape case
// (dot, vector-matrix, matrix-vector, matrix-matrix, batched with broadcast),
// strided operands (transposed, sliced, expanded), float64 gradient checks of
// first and second order, and the errors users see.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "chainrule/chainrule.h"

namespace {

using cr::Shape;
using cr::Tensor;

// ---- reference -------------------------------------------------------------

// The elements of any strided float tensor, in row-major order, as doubles.
std::vector<double> values(const Tensor& t) {
  std::vector<double> out;
  out.reserve(static_cast<std::size_t>(t.numel()));
  const int nd = static_cast<int>(t.dim());
  std::vector<std::int64_t> index(static_cast<std::size_t>(nd), 0);
  for (std::int64_t n = 0; n < t.numel(); ++n) {
    std::int64_t offset = 0;
    for (int d = 0; d < nd; ++d) offset += index[static_cast<std::size_t>(d)] * t.strides()[d];
    if (t.dtype() == cr::kFloat32) out.push_back(static_cast<const float*>(t.raw_data())[offset]);
    else out.push_back(static_cast<const double*>(t.raw_data())[offset]);
    for (int d = nd - 1; d >= 0; --d) {
      if (++index[static_cast<std::size_t>(d)] < t.sizes()[d]) break;
      index[static_cast<std::size_t>(d)] = 0;
    }
  }
  return out;
}

struct Reference {
  Shape shape;
  std::vector<double> data;
  std::vector<double> magnitude;  // sum of |a·b| terms, to scale the tolerance
};

// torch.matmul by definition: promote 1-D operands, broadcast the batch dims,
// triple loop, drop the promoted dims.
Reference naive_matmul(const Tensor& a, const Tensor& b) {
  std::vector<std::int64_t> as = a.sizes().vec(), bs = b.sizes().vec();
  const std::vector<double> av = values(a), bv = values(b);
  const bool a_vector = as.size() == 1, b_vector = bs.size() == 1;
  if (a_vector) as.insert(as.begin(), 1);
  if (b_vector) bs.push_back(1);
  const std::int64_t m = as[as.size() - 2], k = as.back(), n = bs.back();
  std::vector<std::int64_t> a_batch(as.begin(), as.end() - 2), b_batch(bs.begin(), bs.end() - 2);
  const std::size_t nb = std::max(a_batch.size(), b_batch.size());
  a_batch.insert(a_batch.begin(), nb - a_batch.size(), 1);
  b_batch.insert(b_batch.begin(), nb - b_batch.size(), 1);
  std::vector<std::int64_t> batch(nb);
  std::int64_t count = 1;
  for (std::size_t d = 0; d < nb; ++d) {
    batch[d] = a_batch[d] == 1 ? b_batch[d] : a_batch[d];
    count *= batch[d];
  }
  Reference r;
  r.data.assign(static_cast<std::size_t>(count * m * n), 0.0);
  r.magnitude.assign(r.data.size(), 0.0);
  for (std::int64_t i = 0; i < count; ++i) {
    // The batch index, and where a's and b's matrices sit (size-1 dims broadcast).
    std::int64_t rest = i, ia = 0, ib = 0, sa = 1, sb = 1;
    for (std::size_t d = nb; d-- > 0;) {
      const std::int64_t idx = rest % batch[d];
      rest /= batch[d];
      ia += (a_batch[d] == 1 ? 0 : idx) * sa;
      ib += (b_batch[d] == 1 ? 0 : idx) * sb;
      sa *= a_batch[d];
      sb *= b_batch[d];
    }
    for (std::int64_t r0 = 0; r0 < m; ++r0)
      for (std::int64_t c0 = 0; c0 < n; ++c0) {
        double sum = 0, mag = 0;
        for (std::int64_t j = 0; j < k; ++j) {
          const double term = av[static_cast<std::size_t>(ia * m * k + r0 * k + j)] *
                              bv[static_cast<std::size_t>(ib * k * n + j * n + c0)];
          sum += term;
          mag += std::abs(term);
        }
        r.data[static_cast<std::size_t>(i * m * n + r0 * n + c0)] = sum;
        r.magnitude[static_cast<std::size_t>(i * m * n + r0 * n + c0)] = mag;
      }
  }
  r.shape = Shape(batch);
  if (!a_vector) r.shape.push_back(m);
  if (!b_vector) r.shape.push_back(n);
  return r;
}

double tolerance(cr::DType dtype) { return dtype == cr::kFloat32 ? 2e-5 : 1e-12; }

void expect_matches(const Tensor& got, const Reference& want) {
  ASSERT_EQ(got.sizes(), want.shape);
  const std::vector<double> v = values(got);
  ASSERT_EQ(v.size(), want.data.size());
  const double tol = tolerance(got.dtype());
  for (std::size_t i = 0; i < v.size(); ++i)
    ASSERT_NEAR(v[i], want.data[i], tol * (1.0 + want.magnitude[i])) << "at flat index " << i;
}

const cr::DType kFloatTypes[] = {cr::kFloat32, cr::kFloat64};

Tensor randn(const Shape& shape, cr::DType dtype) { return cr::randn(shape, dtype); }

// Checks cr::matmul(a, b) and a.matmul(b) against the reference.
void check_matmul(const Tensor& a, const Tensor& b) {
  SCOPED_TRACE(a.sizes().str() + " (strides " + a.strides().str() + ") @ " + b.sizes().str() + " (strides " +
               b.strides().str() + ") " + std::string(cr::dtype_name(a.dtype())));
  const Reference want = naive_matmul(a, b);
  expect_matches(cr::matmul(a, b), want);
  expect_matches(a.matmul(b), want);
}

// ---- values ----------------------------------------------------------------

TEST(Matmul, DotOfVectorsIsZeroDim) {
  cr::manual_seed(1);
  for (cr::DType dt : kFloatTypes) {
    check_matmul(randn({5}, dt), randn({5}, dt));
    check_matmul(randn({300}, dt), randn({300}, dt));
    Tensor out = cr::matmul(randn({7}, dt), randn({7}, dt));
    EXPECT_EQ(out.dim(), 0);
    EXPECT_EQ(out.dtype(), dt);
  }
  // A known value, so the reference itself is checked once.
  Tensor d = cr::matmul(cr::tensor({1.0, 2.0, 3.0}), cr::tensor({4.0, 5.0, 6.0}));
  EXPECT_FLOAT_EQ(d.item<float>(), 32.0f);
}

TEST(Matmul, VectorTimesMatrixAndMatrixTimesVector) {
  cr::manual_seed(2);
  for (cr::DType dt : kFloatTypes) {
    check_matmul(randn({4}, dt), randn({4, 3}, dt));
    check_matmul(randn({3, 4}, dt), randn({4}, dt));
    check_matmul(randn({40}, dt), randn({40, 33}, dt));
    check_matmul(randn({33, 40}, dt), randn({40}, dt));
    // Transposed matrices under the vector: gemv with the other layout.
    check_matmul(randn({4}, dt), randn({3, 4}, dt).t());
    check_matmul(randn({4, 3}, dt).t(), randn({4}, dt));
  }
}

TEST(Matmul, MatrixTimesMatrix) {
  cr::manual_seed(3);
  for (cr::DType dt : kFloatTypes) {
    check_matmul(randn({3, 4}, dt), randn({4, 5}, dt));
    check_matmul(randn({70, 65}, dt), randn({65, 80}, dt));
    check_matmul(randn({1, 4}, dt), randn({4, 5}, dt));  // one row
    check_matmul(randn({3, 4}, dt), randn({4, 1}, dt));  // one column
    check_matmul(randn({3, 1}, dt), randn({1, 5}, dt));  // outer product
    check_matmul(randn({1, 1}, dt), randn({1, 1}, dt));
  }
  // A known value.
  Tensor a = cr::tensor({1.0, 2.0, 3.0, 4.0}).reshape({2, 2});
  Tensor c = cr::matmul(a, a);
  const float* p = c.data_ptr<float>();
  EXPECT_FLOAT_EQ(p[0], 7.0f);
  EXPECT_FLOAT_EQ(p[1], 10.0f);
  EXPECT_FLOAT_EQ(p[2], 15.0f);
  EXPECT_FLOAT_EQ(p[3], 22.0f);
}

TEST(Matmul, TransposedAndSlicedOperands) {
  cr::manual_seed(4);
  for (cr::DType dt : kFloatTypes) {
    Tensor at = randn({4, 3}, dt).t();  // [3, 4], row stride 1: read by BLAS as transposed
    Tensor bt = randn({5, 4}, dt).t();  // [4, 5]
    EXPECT_FALSE(at.is_contiguous());
    check_matmul(at, randn({4, 5}, dt));
    check_matmul(randn({3, 4}, dt), bt);
    check_matmul(at, bt);
    check_matmul(randn({66, 50}, dt).t(), randn({80, 66}, dt).t());
    // Every other column: no BLAS layout fits, so it is copied.
    Tensor stepped_cols = randn({3, 8}, dt).slice(1, 0, 8, 2);  // [3, 4], strides [8, 2]
    check_matmul(stepped_cols, randn({4, 5}, dt));
    check_matmul(randn({5, 3}, dt), stepped_cols);
    // Every other row: a row-major matrix with a longer leading dimension.
    Tensor stepped_rows = randn({8, 5}, dt).slice(0, 0, 8, 2);  // [4, 5], strides [10, 1]
    check_matmul(randn({3, 4}, dt), stepped_rows);
    check_matmul(stepped_rows.t(), randn({4, 2}, dt));
    // A narrowed block inside a bigger matrix.
    check_matmul(randn({10, 12}, dt).narrow(0, 2, 5).narrow(1, 3, 6), randn({6, 4}, dt));
    // Expanded (stride 0) operands.
    check_matmul(randn({1, 4}, dt).expand({3, 4}), randn({4, 5}, dt));
    check_matmul(randn({3, 4}, dt), randn({4, 1}, dt).expand({4, 5}));
    // Strided and expanded vectors.
    Tensor stepped_vector = randn({10}, dt).slice(0, 0, 10, 2);  // [5], stride 2
    check_matmul(stepped_vector, randn({5}, dt));
    check_matmul(randn({1}, dt).expand({5}), stepped_vector);
    check_matmul(stepped_vector, randn({5, 3}, dt));
    check_matmul(randn({3, 5}, dt), stepped_vector);
    check_matmul(randn({1}, dt).expand({5}), randn({5, 3}, dt));
  }
}

TEST(Matmul, BatchedWithBroadcastBatchDims) {
  cr::manual_seed(5);
  for (cr::DType dt : kFloatTypes) {
    check_matmul(randn({2, 3, 4}, dt), randn({2, 4, 5}, dt));
    check_matmul(randn({2, 1, 3, 4}, dt), randn({5, 4, 6}, dt));
    check_matmul(randn({1, 3, 4}, dt), randn({2, 4, 5}, dt));
    check_matmul(randn({2, 3, 4}, dt), randn({4, 5}, dt));      // one shared matrix (folded into one GEMM)
    check_matmul(randn({3, 2, 3, 4}, dt), randn({1, 4, 5}, dt));
    check_matmul(randn({5, 1, 4}, dt), randn({4, 3}, dt));      // one row each, folded
    check_matmul(randn({3, 4}, dt), randn({2, 4, 5}, dt));      // 2-D @ batched
    check_matmul(randn({4}, dt), randn({2, 3, 4, 5}, dt));      // 1-D @ batched
    check_matmul(randn({2, 3, 3, 4}, dt), randn({4}, dt));      // batched @ 1-D
    // Enough small products to be spread over threads.
    check_matmul(randn({32, 8, 16}, dt), randn({32, 16, 16}, dt));
    check_matmul(randn({4, 8, 16}, dt), randn({16, 64}, dt));
  }
}

TEST(Matmul, BatchedStridedOperands) {
  cr::manual_seed(6);
  for (cr::DType dt : kFloatTypes) {
    Tensor bt = randn({2, 5, 4}, dt).transpose(-1, -2);   // [2, 4, 5], each matrix transposed
    check_matmul(randn({2, 3, 4}, dt), bt);
    check_matmul(randn({2, 4, 3}, dt).transpose(1, 2), bt);
    // Batch dims that are not outermost in memory: no fold, one GEMM per matrix.
    Tensor permuted = randn({3, 2, 4}, dt).permute({1, 0, 2});  // [2, 3, 4]
    check_matmul(permuted, randn({4, 5}, dt));
    check_matmul(permuted, randn({2, 4, 5}, dt));
    // Matrices that need copying, in a batch and broadcast over one.
    Tensor stepped = randn({2, 4, 10}, dt).slice(2, 0, 10, 2);  // [2, 4, 5], column stride 2
    check_matmul(randn({2, 3, 4}, dt), stepped);
    check_matmul(randn({3, 2, 3, 4}, dt), stepped);
    Tensor shared_stepped = randn({4, 10}, dt).slice(1, 0, 10, 2);  // [4, 5]
    check_matmul(permuted, shared_stepped);
    check_matmul(randn({2, 3, 4}, dt), shared_stepped);
    // Expanded batch dims.
    check_matmul(randn({3, 4}, dt).expand({2, 3, 4}), randn({2, 4, 5}, dt));
    check_matmul(randn({2, 3, 4}, dt), randn({4, 5}, dt).expand({2, 4, 5}));
    // A batch of vectors sliced with a step.
    check_matmul(randn({2, 3, 8}, dt).slice(2, 0, 8, 2), randn({4}, dt));
  }
}

TEST(Matmul, EmptyDims) {
  for (cr::DType dt : kFloatTypes) {
    check_matmul(randn({0, 3}, dt), randn({3, 4}, dt));
    check_matmul(randn({2, 3}, dt), randn({3, 0}, dt));
    check_matmul(randn({0, 2, 3}, dt), randn({3, 4}, dt));
    // An empty inner dim sums nothing: zeros, not uninitialised memory.
    Tensor z = cr::matmul(randn({2, 0}, dt), randn({0, 3}, dt));
    ASSERT_EQ(z.sizes(), (Shape{2, 3}));
    for (double v : values(z)) EXPECT_EQ(v, 0.0);
    Tensor zb = cr::matmul(randn({2, 2, 0}, dt), randn({2, 0, 3}, dt));
    for (double v : values(zb)) EXPECT_EQ(v, 0.0);
    EXPECT_EQ(cr::matmul(randn({0}, dt), randn({0}, dt)).item<double>(), 0.0);
  }
}

TEST(MatmulGrad, EmptyInnerDimGivesEmptyGradients) {
  // [2, 3, 0] @ [0, 5]: the result is zeros and the gradients are empty, not errors.
  Tensor a = cr::randn({2, 3, 0}, cr::TensorOptions(cr::kFloat64).requires_grad(true));
  Tensor b = cr::randn({0, 5}, cr::TensorOptions(cr::kFloat64).requires_grad(true));
  cr::matmul(a, b).sum().backward();
  ASSERT_TRUE(a.grad().defined());
  ASSERT_TRUE(b.grad().defined());
  EXPECT_EQ(a.grad().sizes(), (Shape{2, 3, 0}));
  EXPECT_EQ(b.grad().sizes(), (Shape{0, 5}));
}

TEST(Mm, MatchesMatmulFor2D) {
  cr::manual_seed(7);
  for (cr::DType dt : kFloatTypes) {
    Tensor a = randn({6, 4}, dt), b = randn({5, 4}, dt).t();
    expect_matches(cr::mm(a, b), naive_matmul(a, b));
    expect_matches(a.mm(b), naive_matmul(a, b));
  }
}

Reference naive_addmm(const Tensor& bias, const Tensor& a, const Tensor& b) {
  Reference r = naive_matmul(a, b);
  const std::int64_t m = r.shape[0], n = r.shape[1];
  const std::vector<double> bv = values(bias);
  const std::int64_t rows = bias.dim() == 2 ? bias.sizes()[0] : 1;
  const std::int64_t cols = bias.dim() >= 1 ? bias.sizes().back() : 1;
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      const double v = bv[static_cast<std::size_t>((rows == 1 ? 0 : i) * cols + (cols == 1 ? 0 : j))];
      r.data[static_cast<std::size_t>(i * n + j)] += v;
      r.magnitude[static_cast<std::size_t>(i * n + j)] += std::abs(v);
    }
  return r;
}

TEST(Addmm, AddsBroadcastBiasToProduct) {
  cr::manual_seed(8);
  for (cr::DType dt : kFloatTypes) {
    SCOPED_TRACE(cr::dtype_name(dt));
    Tensor a = randn({6, 4}, dt), b = randn({4, 5}, dt);
    for (const Tensor& bias : {randn({5}, dt), randn({6, 5}, dt), randn({1, 5}, dt), randn({6, 1}, dt),
                               randn({1}, dt), cr::scalar_tensor(0.5, dt), randn({5, 6}, dt).t(),
                               randn({10}, dt).slice(0, 0, 10, 2)}) {
      SCOPED_TRACE("bias " + bias.sizes().str());
      expect_matches(cr::addmm(bias, a, b), naive_addmm(bias, a, b));
    }
    // Transposed operands, as a Linear layer passes its weight.
    Tensor w = randn({5, 4}, dt);
    Tensor bias = randn({5}, dt);
    expect_matches(cr::addmm(bias, a, w.t()), naive_addmm(bias, a, w.t()));
    Tensor big_a = randn({64, 48}, dt), big_w = randn({40, 48}, dt), big_bias = randn({40}, dt);
    expect_matches(cr::addmm(big_bias, big_a, big_w.t()), naive_addmm(big_bias, big_a, big_w.t()));
    // One-row input: the gemv path must add to the bias, not overwrite it.
    Tensor row = randn({1, 4}, dt);
    expect_matches(cr::addmm(bias, row, w.t()), naive_addmm(bias, row, w.t()));
    // An empty inner dim leaves the bias.
    Tensor empty = cr::addmm(bias, randn({3, 0}, dt), randn({0, 5}, dt));
    expect_matches(empty, naive_addmm(bias, randn({3, 0}, dt), randn({0, 5}, dt)));
  }
}

// ---- gradients -------------------------------------------------------------

Tensor leaf(const Shape& shape) {
  return cr::randn(shape, cr::TensorOptions(cr::kFloat64).requires_grad(true));
}

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

Fn matmul_of(std::function<Tensor(const Tensor&)> fa = {}, std::function<Tensor(const Tensor&)> fb = {}) {
  return [fa, fb](const std::vector<Tensor>& in) {
    return cr::matmul(fa ? fa(in[0]) : in[0], fb ? fb(in[1]) : in[1]);
  };
}

struct GradCase {
  const char* name;
  Shape a, b;
  std::function<Tensor(const Tensor&)> fa, fb;  // views applied inside the function
};

std::vector<GradCase> grad_cases() {
  auto t = [](const Tensor& x) { return x.transpose(-1, -2); };
  auto step_cols = [](const Tensor& x) { return x.slice(-1, 0, x.sizes().back(), 2); };
  return {
      {"dot", {4}, {4}, {}, {}},
      {"vector @ matrix", {4}, {4, 3}, {}, {}},
      {"matrix @ vector", {3, 4}, {4}, {}, {}},
      {"matrix @ matrix", {3, 4}, {4, 2}, {}, {}},
      {"batched", {2, 3, 4}, {2, 4, 2}, {}, {}},
      {"broadcast batch", {2, 1, 2, 3}, {3, 3, 2}, {}, {}},
      {"batched @ matrix", {2, 3, 4}, {4, 2}, {}, {}},
      {"matrix @ batched", {3, 4}, {2, 4, 2}, {}, {}},
      {"vector @ batched", {3}, {2, 3, 2}, {}, {}},
      {"batched @ vector", {2, 2, 3}, {3}, {}, {}},
      {"transposed", {4, 3}, {2, 4}, t, t},
      {"batched transposed", {2, 4, 3}, {4, 2}, t, {}},
      {"sliced with step", {3, 8}, {4, 6}, step_cols, step_cols},
      {"sliced vector", {8}, {4, 3}, step_cols, {}},
      {"expanded batch", {3, 4}, {2, 4, 2}, [](const Tensor& x) { return x.expand({2, 3, 4}); }, {}},
  };
}

TEST(MatmulGrad, Gradcheck) {
  cr::manual_seed(9);
  for (const GradCase& c : grad_cases()) {
    SCOPED_TRACE(c.name);
    auto result = cr::autograd::gradcheck(matmul_of(c.fa, c.fb), {leaf(c.a), leaf(c.b)});
    EXPECT_TRUE(result.ok) << result.message;
  }
}

TEST(MatmulGrad, GradcheckOneOperandRequiringGrad) {
  cr::manual_seed(10);
  Tensor fixed = cr::randn({4, 2}, cr::kFloat64);
  auto left = cr::autograd::gradcheck(matmul_of(), {leaf({2, 3, 4}), fixed});
  EXPECT_TRUE(left.ok) << left.message;
  auto right = cr::autograd::gradcheck(matmul_of(), {cr::randn({3, 4}, cr::kFloat64), leaf({2, 4, 2})});
  EXPECT_TRUE(right.ok) << right.message;
}

TEST(MatmulGrad, Gradgradcheck) {
  cr::manual_seed(11);
  for (const GradCase& c : grad_cases()) {
    SCOPED_TRACE(c.name);
    auto result = cr::autograd::gradgradcheck(matmul_of(c.fa, c.fb), {leaf(c.a), leaf(c.b)});
    EXPECT_TRUE(result.ok) << result.message;
  }
}

TEST(MatmulGrad, BackwardValuesAreProducts) {
  // d(sum(a·b))/da = 1·bᵀ and d/db = aᵀ·1, checked against the reference.
  cr::manual_seed(12);
  Tensor a = leaf({3, 4}), b = leaf({4, 2});
  cr::matmul(a, b).sum().backward();
  const Tensor ones = cr::ones({3, 2}, cr::kFloat64);
  expect_matches(a.grad(), naive_matmul(ones, b.detach().t()));
  expect_matches(b.grad(), naive_matmul(a.detach().t(), ones));
  EXPECT_EQ(cr::matmul(a, b).grad_fn()->name(), std::string("MmBackward"));
}

TEST(MmGrad, GradcheckAndGradgradcheck) {
  cr::manual_seed(13);
  auto fn = [](const std::vector<Tensor>& in) { return cr::mm(in[0], in[1].t()); };
  auto first = cr::autograd::gradcheck(fn, {leaf({3, 4}), leaf({2, 4})});
  EXPECT_TRUE(first.ok) << first.message;
  auto second = cr::autograd::gradgradcheck(fn, {leaf({3, 4}), leaf({2, 4})});
  EXPECT_TRUE(second.ok) << second.message;
}

TEST(AddmmGrad, GradcheckAndGradgradcheck) {
  cr::manual_seed(14);
  auto fn = [](const std::vector<Tensor>& in) { return cr::addmm(in[0], in[1], in[2].t()); };
  for (const Shape& bias_shape : {Shape{2}, Shape{3, 2}, Shape{3, 1}, Shape{}}) {
    SCOPED_TRACE("bias " + bias_shape.str());
    auto first = cr::autograd::gradcheck(fn, {leaf(bias_shape), leaf({3, 4}), leaf({2, 4})});
    EXPECT_TRUE(first.ok) << first.message;
    auto second = cr::autograd::gradgradcheck(fn, {leaf(bias_shape), leaf({3, 4}), leaf({2, 4})});
    EXPECT_TRUE(second.ok) << second.message;
  }
  // Only the bias requiring grad, and a sliced input.
  auto bias_only = cr::autograd::gradcheck(
      fn, {leaf({2}), cr::randn({3, 4}, cr::kFloat64), cr::randn({2, 4}, cr::kFloat64)});
  EXPECT_TRUE(bias_only.ok) << bias_only.message;
  auto sliced = cr::autograd::gradcheck(
      [](const std::vector<Tensor>& in) { return cr::addmm(in[0], in[1].slice(1, 0, 8, 2), in[2]); },
      {leaf({2}), leaf({3, 8}), leaf({4, 2})});
  EXPECT_TRUE(sliced.ok) << sliced.message;
}

// ---- errors ----------------------------------------------------------------

std::string error_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const cr::Error& e) {
    return e.what();
  }
  return "(no cr::Error thrown)";
}

// The message starts with the op's name and shows every operand's shape and dtype.
void expect_error(const std::function<void()>& f, const std::string& op, const std::vector<std::string>& mentions) {
  EXPECT_THROW(f(), cr::Error);
  const std::string message = error_message(f);
  EXPECT_EQ(message.rfind(op + ": ", 0), 0u) << message;
  for (const std::string& m : mentions) EXPECT_NE(message.find(m), std::string::npos) << message << "\nlacks " << m;
  EXPECT_NE(message.find("matmul_test.cpp"), std::string::npos) << message;  // the caller's file:line
}

TEST(MatmulErrors, InnerDimensionMismatch) {
  Tensor a = cr::randn({2, 3}), b = cr::randn({4, 5});
  expect_error([&] { cr::matmul(a, b); }, "matmul", {"inner dimensions do not match: [2, 3] float32 @ [4, 5] float32"});
  expect_error([&] { cr::matmul(cr::randn({3}), cr::randn({4})); }, "matmul", {"[3] float32", "[4] float32"});
  expect_error([&] { cr::matmul(cr::randn({2, 3, 4}), cr::randn({3})); }, "matmul", {"[2, 3, 4] float32", "[3] float32"});
  expect_error([&] { cr::mm(a, b); }, "mm", {"[2, 3] float32", "[4, 5] float32"});
  expect_error([&] { a.mm(b); }, "mm", {"[2, 3] float32", "[4, 5] float32"});
  expect_error([&] { a.matmul(b); }, "matmul", {"[2, 3] float32", "[4, 5] float32"});
  expect_error([&] { cr::addmm(cr::randn({5}), a, b); }, "addmm", {"[2, 3] float32", "[4, 5] float32"});
}

TEST(MatmulErrors, BatchDimsThatDoNotBroadcast) {
  expect_error([&] { cr::matmul(cr::randn({2, 3, 4}), cr::randn({3, 4, 5})); }, "matmul",
               {"[2, 3, 4] float32", "[3, 4, 5] float32"});
}

TEST(MatmulErrors, DtypeMismatch) {
  Tensor a = cr::randn({2, 3}), b = cr::randn({3, 4}, cr::kFloat64);
  expect_error([&] { cr::matmul(a, b); }, "matmul", {"dtype mismatch", "[2, 3] float32", "[3, 4] float64"});
  expect_error([&] { cr::mm(a, b); }, "mm", {"[2, 3] float32", "[3, 4] float64"});
  expect_error([&] { cr::addmm(cr::randn({4}), a, b); }, "addmm", {"[2, 3] float32", "[3, 4] float64"});
  expect_error([&] { cr::addmm(cr::randn({4}, cr::kFloat64), a, a.t()); }, "addmm",
               {"[4] float64", "[2, 3] float32", "[3, 2] float32"});
}

TEST(MatmulErrors, NonFloatOperands) {
  Tensor i = cr::arange(6).reshape({2, 3}), j = cr::arange(12).reshape({3, 4});
  expect_error([&] { cr::matmul(i, j); }, "matmul", {"[2, 3] int64", "[3, 4] int64"});
  expect_error([&] { cr::matmul(cr::randn({2, 3}), j); }, "matmul", {"[2, 3] float32", "[3, 4] int64"});
  expect_error([&] { cr::mm(i, j); }, "mm", {"[2, 3] int64", "[3, 4] int64"});
  expect_error([&] { cr::addmm(cr::randn({4}), i, j); }, "addmm", {"[2, 3] int64", "[3, 4] int64"});
}

TEST(MatmulErrors, ZeroDimOperands) {
  Tensor s = cr::scalar_tensor(2.0), v = cr::randn({3});
  expect_error([&] { cr::matmul(s, v); }, "matmul", {"[] float32", "[3] float32"});
  expect_error([&] { cr::matmul(v, s); }, "matmul", {"[3] float32", "[] float32"});
  expect_error([&] { cr::mm(s, v); }, "mm", {"[] float32", "[3] float32"});
}

TEST(MatmulErrors, UndefinedTensors) {
  Tensor undefined, a = cr::randn({2, 3});
  expect_error([&] { cr::matmul(undefined, a); }, "matmul", {"undefined", "[2, 3] float32"});
  expect_error([&] { cr::matmul(a, undefined); }, "matmul", {"[2, 3] float32", "undefined"});
  expect_error([&] { cr::mm(undefined, a); }, "mm", {"undefined", "[2, 3] float32"});
  expect_error([&] { cr::addmm(undefined, a, a.t()); }, "addmm", {"undefined", "[2, 3] float32", "[3, 2] float32"});
}

TEST(MatmulErrors, WrongRankForMmAndAddmm) {
  expect_error([&] { cr::mm(cr::randn({3}), cr::randn({3, 2})); }, "mm", {"[3] float32", "[3, 2] float32"});
  expect_error([&] { cr::mm(cr::randn({2, 2, 3}), cr::randn({3, 2})); }, "mm", {"[2, 2, 3] float32", "[3, 2] float32"});
  expect_error([&] { cr::addmm(cr::randn({2}), cr::randn({3}), cr::randn({3, 2})); }, "addmm",
               {"[3] float32", "[3, 2] float32"});
}

TEST(MatmulErrors, BiasThatDoesNotBroadcast) {
  Tensor a = cr::randn({2, 3}), b = cr::randn({3, 4});
  for (const Shape& bias : {Shape{3}, Shape{2, 3}, Shape{4, 4}, Shape{1, 2, 4}}) {
    SCOPED_TRACE(bias.str());
    expect_error([&] { cr::addmm(cr::randn(bias), a, b); }, "addmm",
                 {bias.str() + " float32", "[2, 3] float32", "[3, 4] float32"});
  }
}

}  // namespace
