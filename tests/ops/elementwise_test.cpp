// Elementwise ops: values, broadcasting, dtypes, gradients (first and second
// order, with broadcast and non-contiguous inputs) and errors.

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

#include "chainrule/chainrule.h"
#include "support/tensor_testing.h"

namespace {

using cr::Tensor;
using cr::testing::expect_error;
using cr::testing::leaf;
using cr::testing::strided_leaf;
using cr::testing::values;
using Inputs = std::vector<Tensor>;

TEST(Elementwise, AddBroadcasts) {
  Tensor a = cr::ones({2, 3});
  Tensor b = cr::tensor({1.0, 2.0, 3.0});
  Tensor c = a + b;
  EXPECT_EQ(c.sizes(), (cr::Shape{2, 3}));
  EXPECT_EQ(values(c), (std::vector<double>{2, 3, 4, 2, 3, 4}));
  Tensor col = cr::tensor({10.0, 20.0}).reshape({2, 1});
  EXPECT_EQ(values(col + b), (std::vector<double>{11, 12, 13, 21, 22, 23}));
}

TEST(Elementwise, ScalarOnEitherSide) {
  Tensor x = cr::tensor({1.0, 2.0, 4.0});
  EXPECT_EQ(values(x + 1.0), (std::vector<double>{2, 3, 5}));
  EXPECT_EQ(values(1.0 + x), (std::vector<double>{2, 3, 5}));
  EXPECT_EQ(values(x - 1.0), (std::vector<double>{0, 1, 3}));
  EXPECT_EQ(values(1.0 - x), (std::vector<double>{0, -1, -3}));
  EXPECT_EQ(values(x * 2.0), (std::vector<double>{2, 4, 8}));
  EXPECT_EQ(values(2.0 * x), (std::vector<double>{2, 4, 8}));
  EXPECT_EQ(values(x / 2.0), (std::vector<double>{0.5, 1, 2}));
  EXPECT_EQ(values(4.0 / x), (std::vector<double>{4, 2, 1}));
  EXPECT_EQ(values(-x), (std::vector<double>{-1, -2, -4}));
  EXPECT_EQ((x + 1.0).dtype(), cr::kFloat32);
}

TEST(Elementwise, UnaryValues) {
  Tensor x = cr::tensor({-1.0, 0.5, 2.0}, cr::kFloat64);
  auto close = [](const Tensor& t, std::function<double(double)> f) {
    std::vector<double> in{-1.0, 0.5, 2.0};
    auto got = values(t);
    for (std::size_t i = 0; i < in.size(); ++i) EXPECT_NEAR(got[i], f(in[i]), 1e-12) << i;
  };
  close(x.exp(), [](double v) { return std::exp(v); });
  close(x.abs().log(), [](double v) { return std::log(std::abs(v)); });
  close(x.abs().sqrt(), [](double v) { return std::sqrt(std::abs(v)); });
  close(x.abs().rsqrt(), [](double v) { return 1 / std::sqrt(std::abs(v)); });
  close(x.sin(), [](double v) { return std::sin(v); });
  close(x.cos(), [](double v) { return std::cos(v); });
  close(x.tanh(), [](double v) { return std::tanh(v); });
  close(x.sigmoid(), [](double v) { return 1 / (1 + std::exp(-v)); });
  close(x.relu(), [](double v) { return v > 0 ? v : 0; });
  close(x.leaky_relu(0.1), [](double v) { return v > 0 ? v : 0.1 * v; });
  close(x.gelu(), [](double v) { return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))); });
  close(x.softplus(), [](double v) { return std::log1p(std::exp(v)); });
  close(x.clamp(-0.5, 1.0), [](double v) { return std::min(1.0, std::max(-0.5, v)); });
  close(x.pow(3.0), [](double v) { return v * v * v; });
  close(cr::maximum(x, cr::zeros({1}, cr::kFloat64)), [](double v) { return std::max(v, 0.0); });
  close(cr::minimum(x, cr::zeros({1}, cr::kFloat64)), [](double v) { return std::min(v, 0.0); });
}

TEST(Elementwise, SigmoidAndSoftplusStayFiniteForLargeInputs) {
  Tensor x = cr::tensor({-1000.0, 1000.0});
  EXPECT_EQ(values(x.sigmoid()), (std::vector<double>{0.0, 1.0}));
  EXPECT_EQ(values(x.softplus()), (std::vector<double>{0.0, 1000.0}));
}

TEST(Elementwise, ReluKeepsNaN) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Tensor x = cr::tensor({nan, -1.0, 2.0}, cr::kFloat64).requires_grad_();
  Tensor y = x.relu();
  auto got = values(y);
  EXPECT_TRUE(std::isnan(got[0]));
  EXPECT_EQ(got[1], 0.0);
  EXPECT_EQ(got[2], 2.0);
  y.sum().backward();
  EXPECT_EQ(values(x.grad()), (std::vector<double>{1.0, 0.0, 1.0}));
  auto f32 = values(cr::tensor({nan}).relu());
  EXPECT_TRUE(std::isnan(f32[0]));
}

TEST(Elementwise, ComparisonsGiveBool) {
  Tensor a = cr::tensor({1.0, 2.0, 3.0});
  Tensor b = cr::tensor({3.0, 2.0, 1.0});
  EXPECT_EQ(cr::lt(a, b).dtype(), cr::kBool);
  EXPECT_EQ(values(cr::lt(a, b)), (std::vector<double>{1, 0, 0}));
  EXPECT_EQ(values(cr::le(a, b)), (std::vector<double>{1, 1, 0}));
  EXPECT_EQ(values(cr::gt(a, b)), (std::vector<double>{0, 0, 1}));
  EXPECT_EQ(values(cr::ge(a, b)), (std::vector<double>{0, 1, 1}));
  EXPECT_EQ(values(cr::eq(a, b)), (std::vector<double>{0, 1, 0}));
  EXPECT_EQ(values(cr::ne(a, b)), (std::vector<double>{1, 0, 1}));
  EXPECT_EQ(values(a.gt(1.5)), (std::vector<double>{0, 1, 1}));
  Tensor x = a.requires_grad_();
  EXPECT_FALSE(x.gt(1.0).requires_grad());
}

TEST(Elementwise, WhereAndMaskedFill) {
  Tensor cond = cr::tensor({1.0, 0.0, 1.0}).gt(0.5);
  Tensor a = cr::tensor({1.0, 2.0, 3.0}), b = cr::tensor({-1.0});
  EXPECT_EQ(values(cr::where(cond, a, b)), (std::vector<double>{1, -1, 3}));
  EXPECT_EQ(values(a.masked_fill(cond, 9.0)), (std::vector<double>{9, 2, 9}));
}

TEST(Elementwise, IntegerArithmeticAndPromotion) {
  Tensor i = cr::arange(4);
  EXPECT_EQ(i.dtype(), cr::kInt64);
  EXPECT_EQ((i + i).dtype(), cr::kInt64);
  EXPECT_EQ(values(i * 3.0), (std::vector<double>{0, 3, 6, 9}));
  Tensor f = cr::ones({4});
  EXPECT_EQ((i + f).dtype(), cr::kFloat32);  // int64 promotes to float
  EXPECT_EQ((i / 2.0).dtype(), cr::kFloat32);
  EXPECT_EQ(values(i / 2.0), (std::vector<double>{0, 0.5, 1, 1.5}));
}

TEST(Elementwise, BroadcastMismatchIsAnError) {
  Tensor a = cr::ones({2, 3}), b = cr::ones({4});
  expect_error([&] { (void)(a + b); }, "add", "[2, 3] and [4]");
  expect_error([&] { (void)cr::mul(a, b); }, "mul", "cannot be broadcast");
}

TEST(Elementwise, FloatDtypeMismatchIsAnError) {
  Tensor a = cr::ones({2}), b = cr::ones({2}, cr::kFloat64);
  expect_error([&] { (void)(a * b); }, "mul", "float64");
}

TEST(Elementwise, OperatorsReportTheCallerLine) {
  Tensor a = cr::ones({2}), b = cr::ones({3});
  const int line = __LINE__ + 2;
  try {
    (void)(a - b);
    FAIL();
  } catch (const cr::Error& e) {
    EXPECT_NE(std::string(e.what()).find("elementwise_test.cpp:" + std::to_string(line)), std::string::npos)
        << e.what();
  }
}

TEST(Elementwise, FloatOnlyOpsRejectIntegers) {
  expect_error([&] { (void)cr::arange(3).exp(); }, "exp", "int64");
  expect_error([&] { (void)cr::ones({2}).clamp(1.0, 0.0); }, "clamp", "greater than");
}

// ---- gradients -----------------------------------------------------------

// A float64 leaf of `shape`, optionally a non-contiguous (transposed) view,
// optionally with values kept away from 0 (for log, sqrt, pow...).
Tensor make_input(const cr::Shape& shape, bool strided, bool positive) {
  Tensor x = strided ? strided_leaf(shape) : leaf(shape);
  if (positive) {
    cr::NoGradGuard no_grad;
    Tensor shifted = x.abs() + 0.5;
    Tensor target = x.detach();  // same storage: write in place, keep the layout
    target.copy_(shifted);
  }
  return x;
}

struct UnaryCase {
  const char* name;
  std::function<Tensor(const Tensor&)> fn;
  bool positive_input;
  bool second_order;  // false where the second derivative is 0 a.e. or undefined
};

class UnaryGrad : public ::testing::TestWithParam<UnaryCase> {};

TEST_P(UnaryGrad, MatchesFiniteDifferences) {
  const UnaryCase& c = GetParam();
  cr::manual_seed(7);
  for (bool strided : {false, true}) {
    Tensor x = make_input({3, 4}, strided, c.positive_input);
    auto f = [&](const Inputs& in) { return c.fn(in[0]); };
    EXPECT_GRADCHECK(f, Inputs{x});
    if (c.second_order) EXPECT_GRADGRADCHECK(f, Inputs{x});
  }
}

INSTANTIATE_TEST_SUITE_P(
    Ops, UnaryGrad,
    ::testing::Values(
        UnaryCase{"neg", [](const Tensor& x) { return -x; }, false, false},
        UnaryCase{"exp", [](const Tensor& x) { return x.exp(); }, false, true},
        UnaryCase{"log", [](const Tensor& x) { return x.log(); }, true, true},
        UnaryCase{"sqrt", [](const Tensor& x) { return x.sqrt(); }, true, true},
        UnaryCase{"rsqrt", [](const Tensor& x) { return x.rsqrt(); }, true, true},
        UnaryCase{"abs", [](const Tensor& x) { return x.abs(); }, false, false},
        UnaryCase{"sin", [](const Tensor& x) { return x.sin(); }, false, true},
        UnaryCase{"cos", [](const Tensor& x) { return x.cos(); }, false, true},
        UnaryCase{"tanh", [](const Tensor& x) { return x.tanh(); }, false, true},
        UnaryCase{"sigmoid", [](const Tensor& x) { return x.sigmoid(); }, false, true},
        UnaryCase{"relu", [](const Tensor& x) { return x.relu(); }, false, false},
        UnaryCase{"leaky_relu", [](const Tensor& x) { return x.leaky_relu(0.2); }, false, false},
        UnaryCase{"gelu", [](const Tensor& x) { return x.gelu(); }, false, true},
        UnaryCase{"erf", [](const Tensor& x) { return cr::erf(x); }, false, true},
        UnaryCase{"softplus", [](const Tensor& x) { return x.softplus(2.0, 20.0); }, false, true},
        UnaryCase{"clamp", [](const Tensor& x) { return x.clamp(-0.5, 0.7); }, false, false},
        UnaryCase{"pow_scalar", [](const Tensor& x) { return x.pow(2.5); }, true, true},
        UnaryCase{"square", [](const Tensor& x) { return x.pow(2.0); }, false, true},
        UnaryCase{"add_scalar", [](const Tensor& x) { return (x + 2.0) * 3.0 - 1.0; }, false, false},
        UnaryCase{"rdiv", [](const Tensor& x) { return 2.0 / x; }, true, true},
        UnaryCase{"rsub", [](const Tensor& x) { return 2.0 - x / 4.0; }, false, false},
        UnaryCase{"clone_contiguous", [](const Tensor& x) { return x.contiguous().clone() * x; }, false, true}),
    [](const ::testing::TestParamInfo<UnaryCase>& info) { return std::string(info.param.name); });

struct BinaryCase {
  const char* name;
  std::function<Tensor(const Tensor&, const Tensor&)> fn;
  bool positive_input;
  bool second_order;
};

class BinaryGrad : public ::testing::TestWithParam<BinaryCase> {};

TEST_P(BinaryGrad, MatchesFiniteDifferencesWithBroadcasting) {
  const BinaryCase& c = GetParam();
  cr::manual_seed(11);
  const std::vector<std::pair<cr::Shape, cr::Shape>> shapes = {
      {{3, 4}, {3, 4}}, {{3, 4}, {4}}, {{3, 1}, {1, 4}}, {{2, 3, 4}, {3, 1}}};
  for (const auto& [sa, sb] : shapes) {
    for (bool strided : {false, true}) {
      Tensor a = make_input(sa, strided, c.positive_input);
      Tensor b = make_input(sb, false, c.positive_input);
      auto f = [&](const Inputs& in) { return c.fn(in[0], in[1]); };
      EXPECT_GRADCHECK(f, (Inputs{a, b})) << sa << " " << sb;
      if (c.second_order) EXPECT_GRADGRADCHECK(f, (Inputs{a, b})) << sa << " " << sb;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Ops, BinaryGrad,
    ::testing::Values(
        BinaryCase{"add", [](const Tensor& a, const Tensor& b) { return a + b; }, false, false},
        BinaryCase{"sub", [](const Tensor& a, const Tensor& b) { return a - b; }, false, false},
        BinaryCase{"mul", [](const Tensor& a, const Tensor& b) { return a * b; }, false, true},
        BinaryCase{"div", [](const Tensor& a, const Tensor& b) { return a / b; }, true, true},
        BinaryCase{"pow", [](const Tensor& a, const Tensor& b) { return a.pow(b); }, true, true},
        BinaryCase{"maximum", [](const Tensor& a, const Tensor& b) { return cr::maximum(a, b); }, false, false},
        BinaryCase{"minimum", [](const Tensor& a, const Tensor& b) { return cr::minimum(a, b); }, false, false},
        BinaryCase{"where", [](const Tensor& a, const Tensor& b) { return cr::where(a.gt(0.0), a * b, b); }, false,
                   true}),
    [](const ::testing::TestParamInfo<BinaryCase>& info) { return std::string(info.param.name); });

TEST(ElementwiseGrad, ToConvertsTheGradientBack) {
  Tensor x = cr::tensor({1.0, 2.0}, cr::kFloat64).requires_grad_();
  Tensor y = x.to(cr::kFloat32);
  EXPECT_STREQ(y.grad_fn()->name(), "ToCopyBackward");
  (y * y).sum().backward();
  EXPECT_EQ(x.grad().dtype(), cr::kFloat64);
  EXPECT_EQ(values(x.grad()), (std::vector<double>{2.0, 4.0}));
}

TEST(ElementwiseGrad, MaximumSplitsTiesEvenly) {
  Tensor a = cr::tensor({1.0, 2.0}).requires_grad_();
  Tensor b = cr::tensor({1.0, 3.0}).requires_grad_();
  cr::maximum(a, b).sum().backward();
  EXPECT_EQ(values(a.grad()), (std::vector<double>{0.5, 0.0}));
  EXPECT_EQ(values(b.grad()), (std::vector<double>{0.5, 1.0}));
}

TEST(ElementwiseGrad, MaskedFillBlocksGradientWhereFilled) {
  Tensor x = make_input({3, 4}, true, false);
  Tensor mask = cr::tensor({1.0, 0.0, 0.0, 1.0}).gt(0.5);
  auto f = [&](const Inputs& in) { return in[0].masked_fill(mask, 3.0) * in[0]; };
  EXPECT_GRADCHECK(f, Inputs{x});
  EXPECT_GRADGRADCHECK(f, Inputs{x});
}

TEST(ElementwiseGrad, ReluGradientIsFusedAndDifferentiable) {
  Tensor x = cr::tensor({-1.0, 2.0}, cr::kFloat64).requires_grad_();
  Tensor y = x.relu();
  EXPECT_STREQ(y.grad_fn()->name(), "ReluBackward");
  auto g = cr::autograd::grad({(y * y).sum()}, {x}, {}, std::nullopt, true);
  EXPECT_EQ(values(g[0]), (std::vector<double>{0.0, 4.0}));
  auto gg = cr::autograd::grad({g[0].sum()}, {x});
  EXPECT_EQ(values(gg[0]), (std::vector<double>{0.0, 2.0}));
}

// ReLU's backward writes its result over the incoming gradient when nothing
// else holds it (one buffer fewer at the peak of a CNN's backward): the
// buffer handed to the hook is the one that ends up as x.grad().
TEST(ElementwiseGrad, ReluBackwardReusesAnExclusiveGradient) {
  Tensor x = cr::tensor({-1.0, 2.0, -3.0, 4.0}, cr::kFloat64).requires_grad_();
  Tensor y = x.relu();
  const double* seen = nullptr;
  y.register_hook([&](const Tensor& g) {
    seen = g.data_ptr<double>();
    return Tensor();
  });
  (y * 3.0).sum().backward();
  EXPECT_EQ(values(x.grad()), (std::vector<double>{0.0, 3.0, 0.0, 3.0}));
  EXPECT_EQ(x.grad().data_ptr<double>(), seen);
}

// A gradient someone else can see (here y's retained .grad()) is never overwritten.
TEST(ElementwiseGrad, ReluBackwardLeavesASharedGradientAlone) {
  Tensor x = cr::tensor({-1.0, 2.0, -3.0, 4.0}, cr::kFloat64).requires_grad_();
  Tensor y = x.relu();
  y.retain_grad();
  Tensor kept;
  Tensor z = x.relu();
  z.register_hook([&](const Tensor& g) {
    kept = g;
    return Tensor();
  });
  (y * 3.0 + z * 5.0).sum().backward();
  EXPECT_EQ(values(y.grad()), (std::vector<double>{3.0, 3.0, 3.0, 3.0}));
  EXPECT_EQ(values(kept), (std::vector<double>{5.0, 5.0, 5.0, 5.0}));
  EXPECT_EQ(values(x.grad()), (std::vector<double>{0.0, 8.0, 0.0, 8.0}));
}

// ---- in-place ------------------------------------------------------------

TEST(InPlace, ArithmeticWritesIntoTheTensor) {
  Tensor x = cr::tensor({1.0, 2.0, 3.0});
  float* data = x.data_ptr<float>();
  x.add_(cr::tensor({1.0, 1.0, 1.0})).mul_(2.0).sub_(1.0).div_(cr::tensor({1.0, 2.0, 4.0}));
  EXPECT_EQ(x.data_ptr<float>(), data);
  EXPECT_EQ(values(x), (std::vector<double>{3.0, 2.5, 1.75}));
  x.add_(cr::tensor({1.0, 1.0, 1.0}), /*alpha=*/-2.0);
  EXPECT_EQ(values(x), (std::vector<double>{1.0, 0.5, -0.25}));
  x.clamp_(0.0, 0.75);
  EXPECT_EQ(values(x), (std::vector<double>{0.75, 0.5, 0.0}));
  x.fill_(4.0);
  EXPECT_EQ(values(x), (std::vector<double>{4, 4, 4}));
  x.zero_();
  EXPECT_EQ(values(x), (std::vector<double>{0, 0, 0}));
  x.copy_(cr::tensor({7.0}));
  EXPECT_EQ(values(x), (std::vector<double>{7, 7, 7}));
}

TEST(InPlace, WritesThroughStridedViews) {
  Tensor m = cr::zeros({2, 3});
  m.t().select(0, 1).add_(cr::tensor({1.0, 2.0}));  // column 1
  EXPECT_EQ(values(m), (std::vector<double>{0, 1, 0, 0, 2, 0}));
  m.slice(1, 0, 3, 2).fill_(5.0);
  EXPECT_EQ(values(m), (std::vector<double>{5, 1, 5, 5, 2, 5}));
}

TEST(InPlace, ResultMustKeepTheTargetShape) {
  Tensor x = cr::ones({3});
  expect_error([&] { x.add_(cr::ones({2, 3})); }, "add_", "[2, 3]");
  expect_error([&] { x.copy_(cr::ones({4})); }, "copy_");
}

TEST(InPlace, EachOpBumpsTheVersion) {
  Tensor x = cr::ones({2});
  std::uint64_t v = x.version();
  x.add_(1.0);
  x.sub_(cr::ones({2}));
  x.mul_(2.0);
  x.div_(2.0);
  x.clamp_(0, 1);
  x.zero_();
  x.fill_(1);
  x.copy_(cr::ones({2}));
  EXPECT_EQ(x.version(), v + 8);
}

TEST(InPlace, CopyIntoNonLeafPassesGradientToSource) {
  Tensor src = cr::tensor({1.0, 2.0}, cr::kFloat64).requires_grad_();
  Tensor other = cr::tensor({5.0, 5.0}, cr::kFloat64).requires_grad_();
  Tensor h = other * 1.0;
  h.copy_(src * 3.0);
  (h * h).sum().backward();
  EXPECT_EQ(values(src.grad()), (std::vector<double>{18.0, 36.0}));
  if (other.grad().defined()) EXPECT_EQ(values(other.grad()), (std::vector<double>{0, 0}));
}

TEST(InPlace, ViewOfRecordedTensorIsRefused) {
  Tensor x = cr::ones({2, 2}).requires_grad_();
  Tensor h = x * 2.0;
  expect_error([&] { h.select(0, 0).mul_(2.0); }, "mul_", "view");
}

}  // namespace
