// softmax and log_softmax: values on both kernel paths, stability, gradients, errors.

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "chainrule/autograd/gradcheck.h"
#include "chainrule/chainrule.h"
#include "support/tensor_testing.h"

namespace {

using cr::Tensor;
using Inputs = std::vector<Tensor>;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

Tensor f64(const std::vector<double>& values, const cr::Shape& shape) { return cr::tensor(values, shape); }

using cr::testing::values;

void expect_close(const Tensor& got, const Tensor& want, double tol) {
  ASSERT_EQ(got.sizes(), want.sizes());
  const std::vector<double> a = values(got), b = values(want);
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], tol) << "at " << i;
}

// exp(x) / Σ exp(x), composed from other ops: a reference for moderate inputs.
Tensor reference_softmax(const Tensor& x, std::int64_t dim) {
  Tensor e = cr::exp(x.detach());
  return e / e.sum({dim}, true);
}


TEST(Softmax, HandComputedValues) {
  Tensor x = f64({1, 2, 3, 0, 0, 0}, {2, 3});
  const double s = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  const std::vector<double> want = {std::exp(1.0) / s, std::exp(2.0) / s, std::exp(3.0) / s, 1. / 3, 1. / 3, 1. / 3};
  const std::vector<double> got = values(x.softmax(1));
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-15);
  const std::vector<double> logs = values(cr::log_softmax(x, -1));
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(logs[i], std::log(want[i]), 1e-14);
  // Along dim 0 each column is a pair: softmax(1, 0) = (e/(1+e), 1/(1+e)).
  const double e = std::exp(1.0);
  const std::vector<double> col = values(x.softmax(0));
  EXPECT_NEAR(col[0], e / (1 + e), 1e-15);
  EXPECT_NEAR(col[3], 1 / (1 + e), 1e-15);
}

TEST(Softmax, LargeInputsStayFinite) {
  for (cr::DType dtype : {cr::kFloat32, cr::kFloat64}) {
    Tensor x = cr::tensor({1000.0, 1001.0}, dtype);
    const double e = std::exp(1.0);
    const std::vector<double> p = values(x.softmax(0));
    EXPECT_NEAR(p[0], 1 / (1 + e), 1e-6);
    EXPECT_NEAR(p[1], e / (1 + e), 1e-6);
    const std::vector<double> lp = values(x.log_softmax(0));
    EXPECT_NEAR(lp[0], -std::log(1 + e), 1e-5);
    EXPECT_NEAR(lp[1], 1 - std::log(1 + e), 1e-5);
    // The same through the strided path (dim 0 of a column).
    const std::vector<double> q = values(x.reshape({2, 1}).softmax(0));
    EXPECT_NEAR(q[1], e / (1 + e), 1e-6);
    const std::vector<double> tiny = values(cr::tensor({-1000.0, -1001.0}, dtype).log_softmax(0));
    EXPECT_NEAR(tiny[1], -1 - std::log(1 + 1 / e), 1e-5);
    for (double v : tiny) EXPECT_TRUE(std::isfinite(v));
  }
}

TEST(Softmax, RowsSumToOneOnEveryPath) {
  cr::manual_seed(7);
  struct Case {
    Tensor x;
    std::int64_t dim;
  };
  Tensor cube = cr::randn({3, 5, 70}, cr::kFloat64) * 4.0;  // inner 70: three blocks of columns
  const std::vector<Case> cases = {
      {cr::randn({4, 6}, cr::kFloat64), 1},                 // fast path
      {cr::randn({4, 6}, cr::kFloat64), 0},                 // strided, contiguous
      {cr::randn({6, 4}, cr::kFloat64).t(), 1},             // strided, transposed
      {cr::randn({6, 4}, cr::kFloat64).t(), 0},             // transposed, dense along dim
      {cube, 1},                                            // inner > block size
      {cube.permute({2, 0, 1}), 2},                         // non-contiguous 3-D
      {cube.slice(2, 0, 70, 3), 0},                         // stepped slice
      {cr::randn({4, 3, 1}, cr::kFloat64), 1},              // trailing size-1 dim
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.x.sizes().str() + " dim " + std::to_string(c.dim));
    Tensor y = c.x.softmax(c.dim);
    EXPECT_TRUE(y.is_contiguous());
    expect_close(y, reference_softmax(c.x, c.dim), 1e-12);
    expect_close(y.sum({c.dim}), cr::ones(y.sum({c.dim}).sizes(), cr::kFloat64), 1e-12);
    expect_close(c.x.log_softmax(c.dim), cr::log(y), 1e-12);
  }
}

TEST(Softmax, LargeFloat32TakesTheParallelPathsCorrectly) {
  cr::manual_seed(8);
  Tensor x = cr::randn({256, 300});  // above the parallel grain
  expect_close(x.softmax(1), reference_softmax(x, 1), 1e-6);
  expect_close(x.softmax(0), reference_softmax(x, 0), 1e-6);
  expect_close(x.t().log_softmax(1), cr::log(reference_softmax(x.t(), 1)), 1e-5);
  Tensor batch = cr::randn({128, 10});  // the training shape
  Tensor y = batch.softmax(1);
  EXPECT_EQ(y.dtype(), cr::kFloat32);
  expect_close(y.sum({1}), cr::ones({128}), 1e-6);
}

TEST(Softmax, NaNPoisonsOnlyItsRow) {
  Tensor x = f64({1, kNaN, 2, 1, 2, 3}, {2, 3});
  for (const Tensor& y : {x.softmax(1), x.log_softmax(1), x.t().contiguous().softmax(0)}) {
    const std::vector<double> v = values(y.dim() == 2 && y.sizes()[0] == 3 ? y.t() : y);
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(std::isnan(v[i])) << i;
    for (int i = 3; i < 6; ++i) EXPECT_TRUE(std::isfinite(v[i])) << i;
  }
  // A row of -inf has no maximum to subtract: NaN, as in PyTorch.
  EXPECT_TRUE(std::isnan(values(f64({-kInf, -kInf}, {2}).softmax(0))[0]));
  // A single -inf just gets probability 0.
  const std::vector<double> masked = values(f64({-kInf, 0, 0}, {3}).softmax(0));
  EXPECT_EQ(masked[0], 0.0);
  EXPECT_NEAR(masked[1], 0.5, 1e-15);
}

TEST(Softmax, ScalarAndEmptyInputs) {
  EXPECT_EQ(cr::scalar_tensor(3.0).softmax(0).item<double>(), 1.0);
  EXPECT_EQ(cr::scalar_tensor(3.0).log_softmax(-1).item<double>(), 0.0);
  EXPECT_EQ(cr::zeros({0, 4}).softmax(1).sizes(), (cr::Shape{0, 4}));
  EXPECT_EQ(cr::zeros({3, 0}).log_softmax(0).sizes(), (cr::Shape{3, 0}));
}

TEST(Softmax, BackwardMatchesHandRule) {
  Tensor x = f64({0.5, -1, 2}, {3}).requires_grad_();
  Tensor w = f64({1, 2, 3}, {3});
  Tensor y = x.softmax(0);
  EXPECT_STREQ(y.grad_fn()->name(), "SoftmaxBackward");
  (y * w).sum().backward();
  const std::vector<double> p = values(y);
  const double dot = p[0] * 1 + p[1] * 2 + p[2] * 3;
  const std::vector<double> g = values(x.grad());
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(g[i], p[i] * ((i + 1) - dot), 1e-14);

  Tensor x2 = f64({0.5, -1, 2}, {3}).requires_grad_();
  Tensor ly = x2.log_softmax(0);
  EXPECT_STREQ(ly.grad_fn()->name(), "LogSoftmaxBackward");
  (ly * w).sum().backward();
  const std::vector<double> g2 = values(x2.grad());
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(g2[i], (i + 1) - p[i] * 6, 1e-14);
}

TEST(Softmax, Gradcheck) {
  cr::manual_seed(9);
  Tensor x = cr::randn({4, 3}, cr::kFloat64).t();  // [3, 4], non-contiguous
  x.requires_grad_();
  Tensor cube = cr::randn({2, 3, 4}, cr::kFloat64).permute({1, 2, 0});
  cube.requires_grad_();
  struct Case {
    Tensor x;
    std::int64_t dim;
  };
  for (const Case& c : {Case{x, 0}, Case{x, 1}, Case{x, -1}, Case{cube, 1}, Case{cube, 0}}) {
    SCOPED_TRACE(c.x.sizes().str() + " dim " + std::to_string(c.dim));
    const std::int64_t dim = c.dim;
    auto sm = [dim](const Inputs& in) { return cr::softmax(in[0], dim); };
    auto lsm = [dim](const Inputs& in) { return in[0].log_softmax(dim); };
    for (const auto& fn : {std::function<Tensor(const Inputs&)>(sm), std::function<Tensor(const Inputs&)>(lsm)}) {
      auto r = cr::autograd::gradcheck(fn, {c.x});
      EXPECT_TRUE(r) << r.message;
      r = cr::autograd::gradgradcheck(fn, {c.x});
      EXPECT_TRUE(r) << r.message;
    }
  }
}

TEST(Softmax, Errors) {
  Tensor x = cr::randn({2, 3});
  EXPECT_OP_ERROR("softmax", cr::softmax(x, 2));
  EXPECT_OP_ERROR("softmax", x.softmax(-3));
  EXPECT_OP_ERROR("log_softmax", x.log_softmax(5));
  EXPECT_OP_ERROR("softmax", cr::arange(4.0).softmax(0));
  EXPECT_OP_ERROR("log_softmax", cr::log_softmax(cr::arange(4.0), 0));
  EXPECT_OP_ERROR("softmax", cr::softmax(Tensor(), 0));
}

}  // namespace
