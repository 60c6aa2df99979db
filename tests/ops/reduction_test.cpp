// var, std, max, min, argmax, logsumexp: values, gradients, errors.

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

// Values in row-major (logical) order, whatever the layout and dtype.
using cr::testing::values;

std::vector<std::int64_t> ints(const Tensor& t) {
  EXPECT_EQ(t.dtype(), cr::kInt64);
  Tensor c = t.contiguous();
  const std::int64_t* p = c.data_ptr<std::int64_t>();
  return {p, p + c.numel()};
}

void expect_values(const Tensor& t, const std::vector<double>& expected, double tol = 1e-12) {
  const std::vector<double> got = values(t);
  ASSERT_EQ(got.size(), expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(expected[i])) EXPECT_TRUE(std::isnan(got[i])) << "at " << i;
    else if (std::isinf(expected[i])) EXPECT_EQ(got[i], expected[i]) << "at " << i;
    else EXPECT_NEAR(got[i], expected[i], tol) << "at " << i;
  }
}

// A float64 leaf requiring grad whose layout is a transpose (non-contiguous).
Tensor transposed_leaf(const cr::Shape& shape_after_transpose) {
  Tensor base = cr::randn({shape_after_transpose[1], shape_after_transpose[0]}, cr::kFloat64);
  Tensor x = base.t();
  EXPECT_FALSE(x.is_contiguous());
  x.requires_grad_();
  return x;
}


// ---- var / std --------------------------------------------------------------------

TEST(Var, AllElementsUnbiasedAndBiased) {
  Tensor x = f64({1, 2, 3, 4}, {2, 2});
  Tensor v = x.var();
  EXPECT_EQ(v.dim(), 0);
  EXPECT_NEAR(v.item<double>(), 5.0 / 3.0, 1e-12);
  EXPECT_NEAR(x.var(false).item<double>(), 1.25, 1e-12);
  EXPECT_NEAR(x.std().item<double>(), std::sqrt(5.0 / 3.0), 1e-12);
  EXPECT_NEAR(x.std(false).item<double>(), std::sqrt(1.25), 1e-12);
  EXPECT_NEAR(cr::var(x, {}).item<double>(), 5.0 / 3.0, 1e-12);
}

TEST(Var, OverDimsWithKeepdimAndNegativeDims) {
  Tensor x = f64({1, 2, 3, 4, 6, 8}, {2, 3});
  Tensor rows = x.var({1});
  EXPECT_EQ(rows.sizes(), (cr::Shape{2}));
  expect_values(rows, {1, 4});
  Tensor cols = x.var({0}, true, /*keepdim=*/true);
  EXPECT_EQ(cols.sizes(), (cr::Shape{1, 3}));
  expect_values(cols, {4.5, 8, 12.5});
  expect_values(x.var({-1}, false), {2.0 / 3.0, 8.0 / 3.0});
  expect_values(x.std({-2}), {std::sqrt(4.5), std::sqrt(8.0), std::sqrt(12.5)});
  Tensor both = x.var({0, 1}, true, true);
  EXPECT_EQ(both.sizes(), (cr::Shape{1, 1}));
  // mean 4, squares 9+4+1+0+4+16 = 34
  expect_values(both, {34.0 / 5.0});
}

TEST(Var, NonContiguousInputMatchesContiguous) {
  Tensor x = f64({1, 2, 3, 4, 6, 8}, {2, 3});
  Tensor xt = x.t();  // [3, 2], columns are x's rows
  ASSERT_FALSE(xt.is_contiguous());
  expect_values(xt.var({0}), {1, 4});
  expect_values(xt.std({1}, false), {1.5, 2.0, 2.5});

  cr::manual_seed(3);
  Tensor y = cr::randn({4, 5, 6}, cr::kFloat64).permute({2, 0, 1});  // [6, 4, 5]
  expect_values(y.var({0, 2}), values(y.contiguous().var({0, 2})), 1e-12);
}

TEST(Var, TwoPassIsAccurateWithALargeOffset) {
  // E[x²] - E[x]² would lose every digit here (x² ≈ 1e18, spacing 128).
  Tensor x = f64({1e9 + 1, 1e9 + 2, 1e9 + 3, 1e9 + 4}, {4});
  EXPECT_NEAR(x.var().item<double>(), 5.0 / 3.0, 1e-9);
  Tensor xf = cr::tensor({1e4 + 0.25, 1e4 + 0.5, 1e4 + 0.75}, cr::kFloat32);
  EXPECT_NEAR(xf.var(false).item<double>(), 0.125 / 3.0, 1e-6);
}

TEST(Var, LargeFloat32MatchesComposedReference) {
  cr::manual_seed(11);
  Tensor x = cr::randn({200, 300});  // above the parallel grain
  Tensor centered = x - x.mean({1}, true);
  Tensor reference = (centered * centered).sum({1}) / 299.0;
  const std::vector<double> got = values(x.var({1})), want = values(reference);
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-4) << i;
}

TEST(Var, SingleElementUnbiasedIsNaN) {
  EXPECT_TRUE(std::isnan(f64({3}, {1}).var().item<double>()));
  EXPECT_EQ(f64({3}, {1}).var(false).item<double>(), 0.0);
}

TEST(Var, Gradcheck) {
  cr::manual_seed(1);
  Tensor x = transposed_leaf({3, 4});
  for (bool unbiased : {true, false}) {
    for (const std::vector<std::int64_t>& dims : std::vector<std::vector<std::int64_t>>{{}, {0}, {-1}, {0, 1}}) {
      auto fn = [&](const Inputs& in) { return cr::var(in[0], dims, unbiased); };
      auto r = cr::autograd::gradcheck(fn, {x});
      EXPECT_TRUE(r) << r.message;
      auto rr = cr::autograd::gradgradcheck(fn, {x});
      EXPECT_TRUE(rr) << rr.message;
    }
  }
  auto keep = [](const Inputs& in) { return in[0].var({1}, true, true); };
  EXPECT_TRUE(cr::autograd::gradcheck(keep, {x}));
  EXPECT_TRUE(cr::autograd::gradgradcheck(keep, {x}));
}

TEST(Std, Gradcheck) {
  cr::manual_seed(2);
  Tensor x = transposed_leaf({3, 4});
  for (bool unbiased : {true, false}) {
    for (const std::vector<std::int64_t>& dims : std::vector<std::vector<std::int64_t>>{{}, {0}, {-1}}) {
      auto fn = [&](const Inputs& in) { return cr::std(in[0], dims, unbiased, /*keepdim=*/true); };
      auto r = cr::autograd::gradcheck(fn, {x});
      EXPECT_TRUE(r) << r.message;
      auto rr = cr::autograd::gradgradcheck(fn, {x});
      EXPECT_TRUE(rr) << rr.message;
    }
  }
}

TEST(Var, RecordsNamedNodes) {
  Tensor x = f64({1, 2, 3}, {3}).requires_grad_();
  EXPECT_STREQ(x.var().grad_fn()->name(), "VarBackward");
  EXPECT_STREQ(x.std().grad_fn()->name(), "StdBackward");
  cr::NoGradGuard guard;
  EXPECT_FALSE(x.var().requires_grad());
}

TEST(Var, Errors) {
  Tensor x = f64({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_OP_ERROR("var", cr::var(x, {2}));
  EXPECT_OP_ERROR("var", cr::var(x, {-3}));
  EXPECT_OP_ERROR("var", cr::var(x, {1, -1}));
  EXPECT_OP_ERROR("std", cr::std(x, {0, 0}));
  EXPECT_OP_ERROR("var", cr::var(cr::arange(6.0), {}));
  EXPECT_OP_ERROR("std", x.to(cr::kInt64).std());
  EXPECT_OP_ERROR("var", cr::var(Tensor(), {}));
}

// ---- max / min ----------------------------------------------------------------------

TEST(Max, AllElements) {
  Tensor x = f64({3, -1, 7, 2, 7, 0}, {2, 3});
  Tensor m = x.max();
  EXPECT_EQ(m.dim(), 0);
  EXPECT_EQ(m.item<double>(), 7);
  EXPECT_EQ(x.min().item<double>(), -1);
  EXPECT_EQ(cr::max(x.t()).item<double>(), 7);
  Tensor i = cr::tensor(std::vector<std::int64_t>{4, -9, 12}, {3});
  EXPECT_EQ(i.max().dtype(), cr::kInt64);
  EXPECT_EQ(i.max().item<std::int64_t>(), 12);
  EXPECT_EQ(i.min().item<std::int64_t>(), -9);
  EXPECT_EQ(cr::scalar_tensor(5.0).max().item<double>(), 5.0);
}

TEST(Max, AllElementsPropagatesNaN) {
  Tensor x = f64({1, kNaN, 9}, {3});
  EXPECT_TRUE(std::isnan(x.max().item<double>()));
  EXPECT_TRUE(std::isnan(x.min().item<double>()));
  EXPECT_TRUE(std::isnan(cr::tensor({kNaN, 1.0}, cr::kFloat32).max().item<double>()));
}

TEST(Max, AllElementsGradientSplitsAmongTies) {
  Tensor x = f64({1, 3, 3, 2}, {4}).requires_grad_();
  x.max().backward();
  expect_values(x.grad(), {0, 0.5, 0.5, 0});
  Tensor y = f64({4, 1, 1, 1}, {2, 2}).requires_grad_();
  (y.t().min() * 6.0).backward();  // three tied minima
  expect_values(y.grad(), {0, 2, 2, 2});
  Tensor z = f64({1, kNaN, 3}, {3}).requires_grad_();
  z.max().backward();  // the gradient goes to the NaN, as in PyTorch
  expect_values(z.grad(), {0, 1, 0});
}

TEST(Max, DimValuesAndIndices) {
  Tensor x = f64({1, 5, 5, 7, 2, 7}, {2, 3});
  auto [values1, idx1] = x.max(1);
  EXPECT_EQ(values1.sizes(), (cr::Shape{2}));
  expect_values(values1, {5, 7});
  EXPECT_EQ(ints(idx1), (std::vector<std::int64_t>{1, 0}));  // first of the ties
  auto [values0, idx0] = cr::max(x, 0, /*keepdim=*/true);
  EXPECT_EQ(values0.sizes(), (cr::Shape{1, 3}));
  EXPECT_EQ(idx0.sizes(), (cr::Shape{1, 3}));
  expect_values(values0, {7, 5, 7});
  EXPECT_EQ(ints(idx0), (std::vector<std::int64_t>{1, 0, 1}));
  auto [mins, min_idx] = x.min(-1);
  expect_values(mins, {1, 2});
  EXPECT_EQ(ints(min_idx), (std::vector<std::int64_t>{0, 1}));
  auto [mins0, min_idx0] = x.min(-2, true);
  expect_values(mins0, {1, 2, 5});
  EXPECT_EQ(ints(min_idx0), (std::vector<std::int64_t>{0, 1, 0}));
}

TEST(Max, DimOnNonContiguousAndInt64) {
  Tensor x = f64({1, 5, 9, 7, 2, 3}, {2, 3});
  auto [v, i] = x.t().max(1);  // rows of x.t(): (1,7) (5,2) (9,3)
  expect_values(v, {7, 5, 9});
  EXPECT_EQ(ints(i), (std::vector<std::int64_t>{1, 0, 0}));
  Tensor n = cr::tensor(std::vector<std::int64_t>{3, 8, -2, 8, 0, -5}, {3, 2});
  auto [nv, ni] = n.min(0);
  EXPECT_EQ(nv.dtype(), cr::kInt64);
  EXPECT_EQ(ints(nv), (std::vector<std::int64_t>{-2, -5}));
  EXPECT_EQ(ints(ni), (std::vector<std::int64_t>{1, 2}));
  Tensor d = cr::randn({3, 4, 5}, cr::kFloat64).permute({1, 2, 0});  // [4, 5, 3]
  auto [dv, di] = d.max(1);
  auto [cv, ci] = d.contiguous().max(1);
  expect_values(dv, values(cv));
  EXPECT_EQ(ints(di), ints(ci));
}

TEST(Max, DimPropagatesNaN) {
  Tensor x = f64({1, kNaN, 3, kNaN, 0, 5, 4, 2, kNaN}, {3, 3});
  auto [v, i] = x.max(1);
  expect_values(v, {kNaN, kNaN, kNaN});
  EXPECT_EQ(ints(i), (std::vector<std::int64_t>{1, 0, 2}));
  auto [mv, mi] = x.min(0);
  expect_values(mv, {kNaN, kNaN, kNaN});
  EXPECT_EQ(ints(mi), (std::vector<std::int64_t>{1, 0, 2}));
}

TEST(Max, DimGradientGoesToTheIndex) {
  Tensor x = f64({1, 5, 5, 7, 2, 7}, {2, 3}).requires_grad_();
  auto [v, i] = x.max(1);
  EXPECT_STREQ(v.grad_fn()->name(), "MaxBackward");
  EXPECT_FALSE(i.requires_grad());
  (v * f64({10, 20}, {2})).sum().backward();
  expect_values(x.grad(), {0, 10, 0, 20, 0, 0});
  Tensor y = f64({1, 5, 5, 7, 2, 7}, {2, 3}).requires_grad_();
  auto [mv, mi] = y.t().min(1, true);  // [3, 1]
  mv.sum().backward();
  expect_values(y.grad(), {1, 0, 1, 0, 1, 0});
}

TEST(Max, Gradcheck) {
  cr::manual_seed(4);
  Tensor x = transposed_leaf({4, 3});
  auto all_max = [](const Inputs& in) { return cr::max(in[0]); };
  auto all_min = [](const Inputs& in) { return in[0].min(); };
  EXPECT_TRUE(cr::autograd::gradcheck(all_max, {x}));
  EXPECT_TRUE(cr::autograd::gradcheck(all_min, {x}));
  for (std::int64_t dim : {0, 1, -1})
    for (bool keepdim : {false, true}) {
      auto fmax = [=](const Inputs& in) { return std::get<0>(cr::max(in[0], dim, keepdim)); };
      auto fmin = [=](const Inputs& in) { return std::get<0>(cr::min(in[0], dim, keepdim)); };
      auto r = cr::autograd::gradcheck(fmax, {x});
      EXPECT_TRUE(r) << r.message;
      r = cr::autograd::gradcheck(fmin, {x});
      EXPECT_TRUE(r) << r.message;
      // The backward is linear in the gradient, so it differentiates again.
      r = cr::autograd::gradgradcheck(fmax, {x});
      EXPECT_TRUE(r) << r.message;
    }
}

TEST(Max, Errors) {
  Tensor x = f64({1, 2, 3, 4}, {2, 2});
  EXPECT_OP_ERROR("max", cr::max(x, 2));
  EXPECT_OP_ERROR("min", x.min(-3));
  EXPECT_OP_ERROR("max", cr::max(cr::zeros({0})));
  EXPECT_OP_ERROR("min", cr::zeros({2, 0}).min(1));
  EXPECT_OP_ERROR("max", cr::max(Tensor()));
}

// ---- argmax ------------------------------------------------------------------------

TEST(Argmax, FlattenedAndAlongDim) {
  Tensor a = f64({1, 2, 9, 4, 9, 0}, {2, 3});
  Tensor all = a.argmax();
  EXPECT_EQ(all.dim(), 0);
  EXPECT_EQ(all.dtype(), cr::kInt64);
  EXPECT_EQ(all.item<std::int64_t>(), 2);
  // a.t() = [[1, 4], [2, 9], [9, 0]]: flattened 1 4 2 9 9 0
  EXPECT_EQ(cr::argmax(a.t()).item<std::int64_t>(), 3);
  EXPECT_EQ(ints(a.t().argmax(0)), (std::vector<std::int64_t>{2, 1}));
  Tensor kept = a.argmax(-1, true);
  EXPECT_EQ(kept.sizes(), (cr::Shape{2, 1}));
  EXPECT_EQ(ints(kept), (std::vector<std::int64_t>{2, 1}));
  Tensor n = cr::tensor(std::vector<std::int64_t>{5, -1, 7, 7}, {2, 2});
  EXPECT_EQ(n.argmax().item<std::int64_t>(), 2);
  EXPECT_EQ(ints(n.argmax(0)), (std::vector<std::int64_t>{1, 1}));
  EXPECT_EQ(f64({1, kNaN, 3, kNaN}, {4}).argmax().item<std::int64_t>(), 1);
}

TEST(Argmax, Errors) {
  Tensor x = f64({1, 2, 3, 4}, {2, 2});
  EXPECT_OP_ERROR("argmax", cr::argmax(x, 2));
  EXPECT_OP_ERROR("argmax", x.argmax(-3, true));
  EXPECT_OP_ERROR("argmax", cr::argmax(cr::zeros({0})));
}

// ---- logsumexp ----------------------------------------------------------------------

TEST(Logsumexp, Values) {
  Tensor x = f64({0, 1, 2, 3, 5, 4}, {2, 3});
  const double r0 = std::log(std::exp(0.0) + std::exp(1.0) + std::exp(2.0));
  const double r1 = std::log(std::exp(3.0) + std::exp(5.0) + std::exp(4.0));
  expect_values(x.logsumexp({1}), {r0, r1});
  Tensor kept = x.logsumexp({-1}, true);
  EXPECT_EQ(kept.sizes(), (cr::Shape{2, 1}));
  expect_values(kept, {r0, r1});
  expect_values(cr::logsumexp(x.t(), {0}), {r0, r1});
  expect_values(x.logsumexp({0}), {std::log(std::exp(0.0) + std::exp(3.0)), std::log(std::exp(1.0) + std::exp(5.0)),
                                   std::log(std::exp(2.0) + std::exp(4.0))});
  Tensor all = x.logsumexp({});
  EXPECT_EQ(all.dim(), 0);
  EXPECT_NEAR(all.item<double>(), std::log(std::exp(r0) + std::exp(r1)), 1e-12);
  expect_values(x.logsumexp({0, 1}, true), {all.item<double>()});
}

TEST(Logsumexp, StableForLargeAndInfiniteInputs) {
  Tensor big = f64({1000, 1000, -1000, 1001}, {2, 2});
  expect_values(big.logsumexp({1}), {1000 + std::log(2.0), 1001.0});
  Tensor bigf = cr::tensor({1000.0, 1000.0}, cr::kFloat32);
  EXPECT_NEAR(bigf.logsumexp({0}).item<double>(), 1000 + std::log(2.0), 1e-3);
  expect_values(f64({-kInf, -kInf, kInf, 1}, {2, 2}).logsumexp({1}), {-kInf, kInf});
  expect_values(f64({kNaN, 1}, {2}).logsumexp({0}), {kNaN});
}

TEST(Logsumexp, Int64InputIsPromotedToFloat) {
  Tensor n = cr::tensor(std::vector<std::int64_t>{0, 0, 1, 1}, {2, 2});
  Tensor r = n.logsumexp({1});
  EXPECT_EQ(r.dtype(), cr::kFloat32);
  expect_values(r, {std::log(2.0), 1 + std::log(2.0)}, 1e-6);
}

TEST(Logsumexp, Gradcheck) {
  cr::manual_seed(5);
  Tensor x = transposed_leaf({3, 4});
  for (const std::vector<std::int64_t>& dims : std::vector<std::vector<std::int64_t>>{{}, {0}, {-1}, {1, 0}})
    for (bool keepdim : {false, true}) {
      auto fn = [&](const Inputs& in) { return cr::logsumexp(in[0], dims, keepdim); };
      auto r = cr::autograd::gradcheck(fn, {x});
      EXPECT_TRUE(r) << r.message;
      r = cr::autograd::gradgradcheck(fn, {x});
      EXPECT_TRUE(r) << r.message;
    }
  Tensor y = f64({1000, 1001, -3, 2}, {2, 2}).requires_grad_();
  y.logsumexp({1}).sum().backward();
  const double e = std::exp(1.0), f = std::exp(5.0);
  expect_values(y.grad(), {1 / (1 + e), e / (1 + e), 1 / (1 + f), f / (1 + f)});
}

TEST(Logsumexp, Errors) {
  Tensor x = f64({1, 2, 3, 4}, {2, 2});
  EXPECT_OP_ERROR("logsumexp", cr::logsumexp(x, {2}));
  EXPECT_OP_ERROR("logsumexp", x.logsumexp({0, -2}));
  EXPECT_OP_ERROR("logsumexp", cr::logsumexp(Tensor(), {0}));
}

}  // namespace
