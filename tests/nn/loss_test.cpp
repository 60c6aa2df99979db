// Losses: values against hand-computed numbers and references composed from
// public ops, every reduction, ignore_index, label smoothing, the [N, C, d...]
// form, gradients (first and second order), errors.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "chainrule/chainrule.h"
#include "chainrule/nn/functional.h"
#include "support/tensor_testing.h"

namespace {

namespace F = cr::nn::functional;
using cr::nn::Reduction;
using cr::Tensor;
using cr::testing::expect_error;
using cr::testing::leaf;
using cr::testing::strided_leaf;
using cr::testing::values;
using Inputs = std::vector<Tensor>;

constexpr Reduction kReductions[] = {cr::nn::kNone, cr::nn::kMean, cr::nn::kSum};

const char* name(Reduction r) { return r == cr::nn::kNone ? "none" : r == cr::nn::kMean ? "mean" : "sum"; }

void expect_close(const Tensor& got, const Tensor& want, double tol) {
  ASSERT_EQ(got.sizes(), want.sizes());
  const std::vector<double> a = values(got), b = values(want);
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], tol) << "at " << i;
}

Tensor labels(const std::vector<std::int64_t>& v, const cr::Shape& shape = {}) { return cr::tensor(v, shape); }

Tensor reduce(const Tensor& per_sample, Reduction r) {
  if (r == cr::nn::kNone) return per_sample;
  return r == cr::nn::kSum ? per_sample.sum() : per_sample.mean();
}

// ---- cross_entropy -----------------------------------------------------------

// Per-sample (1−ε)·(−log p_t) + ε·mean_c(−log p_c), 0 where ignored, from log_softmax.
Tensor reference_cross_entropy(const Tensor& logits, const std::vector<std::int64_t>& target, double eps,
                               std::int64_t ignore_index) {
  Tensor logp = cr::log_softmax(logits.detach(), 1);
  const std::vector<double> lp = values(logp);
  const std::int64_t c = logits.sizes()[1];
  std::vector<double> out;
  for (std::size_t n = 0; n < target.size(); ++n) {
    if (target[n] == ignore_index) {
      out.push_back(0);
      continue;
    }
    double mean_neg = 0;
    for (std::int64_t k = 0; k < c; ++k) mean_neg -= lp[n * c + k] / static_cast<double>(c);
    out.push_back((1 - eps) * -lp[n * c + target[n]] + eps * mean_neg);
  }
  return cr::tensor(out, {}, logits.dtype());
}

TEST(CrossEntropy, HandComputedValue) {
  Tensor logits = cr::tensor({1.0, 2.0, 3.0, 0.0, 0.0, 0.0}, cr::kFloat64).reshape({2, 3});
  Tensor loss = F::cross_entropy(logits, labels({2, 0}), cr::nn::kNone);
  const double s = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  const std::vector<double> got = values(loss);
  EXPECT_NEAR(got[0], -std::log(std::exp(3.0) / s), 1e-15);
  EXPECT_NEAR(got[1], std::log(3.0), 1e-15);
  EXPECT_NEAR(F::cross_entropy(logits, labels({2, 0})).item<double>(), (got[0] + got[1]) / 2, 1e-15);
}

TEST(CrossEntropy, EqualsNegativeLogSoftmaxGatheredForEveryReduction) {
  cr::manual_seed(1);
  Tensor logits = cr::randn({6, 5}, cr::kFloat64) * 3.0;
  const std::vector<std::int64_t> t = {0, 4, 2, 2, 1, 3};
  Tensor gathered = -cr::log_softmax(logits, 1).gather(1, labels(t).unsqueeze(1)).squeeze(1);
  for (Reduction r : kReductions) {
    expect_close(F::cross_entropy(logits, labels(t), r), reduce(gathered, r), 1e-13);
    // The same through nll_loss.
    expect_close(F::nll_loss(cr::log_softmax(logits, 1), labels(t), r), reduce(gathered, r), 1e-13);
  }
}

TEST(CrossEntropy, IgnoreIndexAndLabelSmoothing) {
  cr::manual_seed(2);
  Tensor logits = cr::randn({5, 4}, cr::kFloat64);
  for (std::int64_t ignore : {std::int64_t{-100}, std::int64_t{2}}) {
    const std::vector<std::int64_t> t = {1, ignore, 3, 0, ignore};
    for (double eps : {0.0, 0.25, 1.0}) {
      Tensor per_sample = reference_cross_entropy(logits, t, eps, ignore);
      expect_close(F::cross_entropy(logits, labels(t), cr::nn::kNone, eps, ignore), per_sample, 1e-13);
      expect_close(F::cross_entropy(logits, labels(t), cr::nn::kSum, eps, ignore), per_sample.sum(), 1e-13);
      // Mean divides by the 3 targets that are not ignored.
      expect_close(F::cross_entropy(logits, labels(t), cr::nn::kMean, eps, ignore), per_sample.sum() / 3.0, 1e-13);
    }
  }
}

TEST(CrossEntropy, SpatialFormMatchesFlattenedRows) {
  cr::manual_seed(3);
  Tensor logits = cr::randn({2, 3, 2, 2}, cr::kFloat64);  // [N, C, H, W]
  const std::vector<std::int64_t> t = {0, 2, 1, -100, 2, 2, 0, 1};
  Tensor target = labels(t, {2, 2, 2});
  Tensor rows = logits.permute({0, 2, 3, 1}).reshape({8, 3});  // [N·H·W, C]
  for (Reduction r : kReductions)
    for (double eps : {0.0, 0.1}) {
      Tensor want = F::cross_entropy(rows, labels(t), r, eps);
      Tensor got = F::cross_entropy(logits, target, r, eps);
      if (r == cr::nn::kNone) EXPECT_EQ(got.sizes(), cr::Shape({2, 2, 2}));
      expect_close(got.reshape({-1}), want.reshape({-1}), 1e-13);
      expect_close(F::nll_loss(cr::log_softmax(logits, 1), target, r).reshape({-1}),
                   F::nll_loss(cr::log_softmax(rows, 1), labels(t), r).reshape({-1}), 1e-13);
    }
}

TEST(CrossEntropy, UnbatchedInput) {
  Tensor logits = cr::tensor({0.5, -1.0, 2.0}, cr::kFloat64);
  Tensor loss = F::cross_entropy(logits, cr::scalar_tensor(1, cr::kInt64), cr::nn::kNone);
  EXPECT_EQ(loss.dim(), 0);
  EXPECT_NEAR(loss.item<double>(), -cr::log_softmax(logits, 0).select(0, 1).item<double>(), 1e-15);
}

TEST(CrossEntropy, StableForHugeLogitsInFloat32) {
  Tensor logits = cr::tensor({1000.0, 1001.0, -1000.0, 0.0}).reshape({2, 2});
  Tensor loss = F::cross_entropy(logits, labels({0, 1}), cr::nn::kNone);
  const std::vector<double> got = values(loss);
  EXPECT_NEAR(got[0], std::log1p(std::exp(1.0)), 1e-5);
  EXPECT_NEAR(got[1], 0.0, 1e-6);
  Tensor x = logits.clone().requires_grad_();
  F::cross_entropy(x, labels({0, 1})).backward();
  for (double v : values(x.grad())) EXPECT_TRUE(std::isfinite(v));
}

TEST(CrossEntropy, Float32MatchesFloat64IncludingGradient) {
  cr::manual_seed(4);
  Tensor x64 = cr::randn({128, 10}, cr::kFloat64) * 4.0;
  Tensor t = cr::randint(0, 10, {128});
  Tensor a = x64.detach().requires_grad_(), b = x64.to(cr::kFloat32).detach().requires_grad_();
  Tensor la = F::cross_entropy(a, t, cr::nn::kMean, 0.1), lb = F::cross_entropy(b, t, cr::nn::kMean, 0.1);
  EXPECT_NEAR(lb.item<double>(), la.item<double>(), 1e-5);
  la.backward();
  lb.backward();
  expect_close(b.grad(), a.grad(), 1e-7);
}

TEST(CrossEntropy, AllIgnoredMeanIsNanWithZeroGradient) {
  Tensor x = leaf({2, 3});
  Tensor loss = F::cross_entropy(x, labels({-100, -100}));
  EXPECT_TRUE(std::isnan(loss.item<double>()));
  loss.backward();
  for (double v : values(x.grad())) EXPECT_EQ(v, 0.0);
}

TEST(CrossEntropy, GradcheckAndGradgradcheck) {
  cr::manual_seed(5);
  const Tensor flat_target = labels({1, 3, -100, 0, 3});
  const Tensor spatial_target = labels({0, 2, 1, 1, 2, -100}, {2, 3});
  for (Reduction r : kReductions)
    for (double eps : {0.0, 0.3})
      for (bool strided : {false, true}) {
        Tensor x = strided ? strided_leaf({5, 4}) : leaf({5, 4});
        auto f = [&](const Inputs& v) { return F::cross_entropy(v[0], flat_target, r, eps); };
        EXPECT_GRADCHECK(f, Inputs{x}) << name(r) << " eps " << eps << " strided " << strided;
        EXPECT_GRADGRADCHECK(f, Inputs{x}) << name(r) << " eps " << eps << " strided " << strided;
        Tensor xs = strided ? strided_leaf({2, 3, 3}) : leaf({2, 3, 3});
        auto fs = [&](const Inputs& v) { return F::cross_entropy(v[0], spatial_target, r, eps); };
        EXPECT_GRADCHECK(fs, Inputs{xs}) << "spatial " << name(r) << " eps " << eps << " strided " << strided;
        EXPECT_GRADGRADCHECK(fs, Inputs{xs}) << "spatial " << name(r) << " eps " << eps << " strided " << strided;
      }
}

TEST(CrossEntropy, FusedAndComposedBackwardAgree) {
  cr::manual_seed(6);
  const Tensor target = labels({0, 2, -100, 1});
  for (Reduction r : kReductions) {
    Tensor x = leaf({4, 3});
    Tensor y = F::cross_entropy(x, target, r, 0.2);
    Tensor g = r == cr::nn::kNone ? cr::randn({4}, cr::kFloat64) : cr::scalar_tensor(1.7, cr::kFloat64);
    auto fused = cr::autograd::grad({y}, {x}, {g}, true, false);
    auto composed = cr::autograd::grad({y}, {x}, {g}, true, true);
    expect_close(fused[0], composed[0], 1e-14);
    EXPECT_TRUE(composed[0].requires_grad());
    // Rows of softmax − smoothed one-hot sum to 0; the ignored row is 0.
    const std::vector<double> row = values(fused[0].sum(1));
    for (double v : row) EXPECT_NEAR(v, 0.0, 1e-14);
    for (double v : values(fused[0].select(0, 2))) EXPECT_EQ(v, 0.0);
  }
}

TEST(CrossEntropy, BackwardRefusesLogitsChangedInPlace) {
  Tensor x = leaf({2, 3});
  Tensor loss = F::cross_entropy(x, labels({0, 2}));
  {
    cr::NoGradGuard no_grad;
    x.mul_(2.0);
  }
  expect_error([&] { loss.backward(); }, "CrossEntropyBackward", "modified by an in-place operation");
}

TEST(CrossEntropy, Errors) {
  Tensor x = cr::randn({3, 4});
  expect_error([&] { F::cross_entropy(x, cr::tensor({1.0, 2.0, 0.0})); }, "cross_entropy", "int64 class indices");
  expect_error([&] { F::cross_entropy(x, labels({1, 7, 0})); }, "cross_entropy", "target 7 at position 1");
  expect_error([&] { F::cross_entropy(x, labels({-1, 0, 0})); }, "cross_entropy", "target -1");
  expect_error([&] { F::cross_entropy(x, labels({1, 2})); }, "cross_entropy", "target shape does not match");
  expect_error([&] { F::cross_entropy(x, labels({1, 2, 0}, {3, 1})); }, "cross_entropy", "[3, 1]");
  expect_error([&] { F::cross_entropy(cr::randn({2, 3, 4}), labels({1, 2})); }, "cross_entropy", "target shape");
  expect_error([&] { F::cross_entropy(x, labels({1, 2, 0}), cr::nn::kMean, 1.5); }, "cross_entropy",
               "label_smoothing");
  expect_error([&] { F::cross_entropy(x, labels({1, 2, 0}), cr::nn::kMean, -0.1); }, "cross_entropy",
               "label_smoothing");
  expect_error([&] { F::cross_entropy(labels({1, 2, 0}), labels({1, 2, 0})); }, "cross_entropy", "int64");
  expect_error([&] { F::cross_entropy(cr::scalar_tensor(1.0), cr::scalar_tensor(0, cr::kInt64)); }, "cross_entropy",
               "[C], [N, C]");
  expect_error([&] { F::cross_entropy(x, Tensor()); }, "cross_entropy", "undefined");
}

// ---- nll_loss ------------------------------------------------------------------

TEST(NllLoss, PicksNegatedEntriesWithIgnoreIndexAndStrides) {
  Tensor base = cr::tensor({0.1, 0.2, 0.3, 0.4, 0.5, 0.6}, cr::kFloat64).reshape({3, 2});
  Tensor lp = base.t();  // [2, 3], non-contiguous
  Tensor t = labels({2, 0});
  expect_close(F::nll_loss(lp, t, cr::nn::kNone), cr::tensor({-0.5, -0.2}, cr::kFloat64), 1e-15);
  expect_close(F::nll_loss(lp, t, cr::nn::kSum), cr::scalar_tensor(-0.7, cr::kFloat64), 1e-15);
  expect_close(F::nll_loss(lp, t), cr::scalar_tensor(-0.35, cr::kFloat64), 1e-15);
  expect_close(F::nll_loss(lp, labels({2, 1}), cr::nn::kMean, /*ignore_index=*/1),
               cr::scalar_tensor(-0.5, cr::kFloat64), 1e-15);
  expect_close(F::nll_loss(lp, labels({2, 1}), cr::nn::kNone, 1), cr::tensor({-0.5, 0.0}, cr::kFloat64), 1e-15);
  // Spatial form on a non-contiguous [N, C, d] view.
  Tensor lp3 = cr::randn({2, 4, 3}, cr::kFloat64).transpose(1, 2);  // [2, 3, 4]: C = 3, d = 4
  Tensor t3 = labels({0, 1, 2, 1, 2, 2, 0, -100}, {2, 4});
  Tensor want = -lp3.gather(1, cr::where(t3.eq(-100.0), cr::zeros_like(t3), t3).unsqueeze(1)).squeeze(1);
  want = cr::where(t3.eq(-100.0), cr::zeros_like(want), want);
  expect_close(F::nll_loss(lp3, t3, cr::nn::kNone), want, 1e-15);
  expect_close(F::nll_loss(lp3, t3), want.sum() / 7.0, 1e-15);
}

TEST(NllLoss, GradcheckAndGradgradcheck) {
  cr::manual_seed(7);
  const Tensor target = labels({1, 0, -100, 2});
  for (Reduction r : kReductions)
    for (bool strided : {false, true}) {
      Tensor x = strided ? strided_leaf({4, 3}) : leaf({4, 3});
      auto f = [&](const Inputs& v) { return F::nll_loss(v[0], target, r); };
      EXPECT_GRADCHECK(f, Inputs{x}) << name(r) << " strided " << strided;
      EXPECT_GRADGRADCHECK(f, Inputs{x}) << name(r) << " strided " << strided;
    }
}

TEST(NllLoss, Errors) {
  Tensor x = cr::randn({2, 3});
  expect_error([&] { F::nll_loss(x, labels({0, 3})); }, "nll_loss", "target 3 at position 1 is out of range for 3");
  expect_error([&] { F::nll_loss(x, cr::tensor({0.0, 1.0})); }, "nll_loss", "int64");
  expect_error([&] { F::nll_loss(x, labels({0, 1, 2})); }, "nll_loss", "target shape");
}

// ---- pointwise losses -------------------------------------------------------------

struct PointwiseCase {
  const char* name;
  std::function<Tensor(const Tensor&, const Tensor&, Reduction)> loss;
  std::function<Tensor(const Tensor&, const Tensor&)> reference;  // per element, public ops
  bool probabilities;  // input must lie in [0, 1]
  bool second_order;
};

Tensor make_input(const cr::Shape& shape, bool strided, bool probabilities) {
  Tensor x = strided ? strided_leaf(shape) : leaf(shape);
  if (probabilities) {  // into (0.1, 0.9), in place so the leaf keeps its layout
    cr::NoGradGuard no_grad;
    Tensor target = x.detach();
    target.copy_(x.sigmoid() * 0.8 + 0.1);
  }
  return x;
}

class Pointwise : public ::testing::TestWithParam<PointwiseCase> {};

TEST_P(Pointwise, MatchesReferenceForEveryReduction) {
  const PointwiseCase& c = GetParam();
  cr::manual_seed(8);
  Tensor x = make_input({3, 4}, true, c.probabilities).detach(), t = make_input({3, 4}, false, true).detach();
  Tensor per_element = c.reference(x, t);
  for (Reduction r : kReductions) {
    expect_close(c.loss(x, t, r), reduce(per_element, r), 1e-13);
    expect_close(c.loss(x.to(cr::kFloat32), t.to(cr::kFloat32), r), reduce(per_element, r), 1e-5);
  }
}

TEST_P(Pointwise, GradcheckInputAndTarget) {
  const PointwiseCase& c = GetParam();
  cr::manual_seed(9);
  for (Reduction r : kReductions)
    for (bool strided : {false, true}) {
      Tensor x = make_input({3, 4}, strided, c.probabilities), t = make_input({3, 4}, !strided, true);
      auto f = [&](const Inputs& v) { return c.loss(v[0], v[1], r); };
      EXPECT_GRADCHECK(f, (Inputs{x, t})) << name(r) << " strided " << strided;
      if (c.second_order) EXPECT_GRADGRADCHECK(f, (Inputs{x, t})) << name(r) << " strided " << strided;
    }
}

// Plain backward runs a fused kernel; create_graph runs public ops. Both must agree.
TEST_P(Pointwise, FusedAndComposedBackwardAgree) {
  const PointwiseCase& c = GetParam();
  cr::manual_seed(10);
  for (Reduction r : kReductions) {
    Tensor x = make_input({3, 4}, true, c.probabilities), t = make_input({3, 4}, false, true);
    Tensor y = c.loss(x, t, r);
    Tensor g = r == cr::nn::kNone ? cr::randn({3, 4}, cr::kFloat64) : cr::scalar_tensor(0.7, cr::kFloat64);
    auto fused = cr::autograd::grad({y}, {x, t}, {g}, true, false);
    auto composed = cr::autograd::grad({y}, {x, t}, {g}, true, true);
    for (int i = 0; i < 2; ++i) expect_close(fused[i], composed[i], 1e-13);
  }
}

TEST_P(Pointwise, ShapeAndDtypeErrors) {
  const PointwiseCase& c = GetParam();
  Tensor x = cr::rand({2, 3});
  expect_error([&] { c.loss(x, cr::rand({3}), cr::nn::kMean); }, c.name, "shapes differ");
  expect_error([&] { c.loss(x, cr::rand({2, 1}), cr::nn::kMean); }, c.name, "[2, 1]");
  expect_error([&] { c.loss(x, cr::rand({2, 3}, cr::kFloat64), cr::nn::kMean); }, c.name, "dtype mismatch");
  expect_error([&] { c.loss(cr::zeros({2, 3}, cr::kInt64), x, cr::nn::kSum); }, c.name, "int64");
}

INSTANTIATE_TEST_SUITE_P(
    Losses, Pointwise,
    ::testing::Values(
        PointwiseCase{"mse_loss", [](const Tensor& x, const Tensor& t, Reduction r) { return F::mse_loss(x, t, r); },
                      [](const Tensor& x, const Tensor& t) { return (x - t) * (x - t); }, false, true},
        PointwiseCase{"l1_loss", [](const Tensor& x, const Tensor& t, Reduction r) { return F::l1_loss(x, t, r); },
                      [](const Tensor& x, const Tensor& t) { return (x - t).abs(); }, false, true},
        PointwiseCase{"binary_cross_entropy",
                      [](const Tensor& x, const Tensor& t, Reduction r) { return F::binary_cross_entropy(x, t, r); },
                      [](const Tensor& p, const Tensor& t) { return -(t * p.log() + (1.0 - t) * (1.0 - p).log()); },
                      true, true},
        PointwiseCase{"binary_cross_entropy_with_logits",
                      [](const Tensor& x, const Tensor& t, Reduction r) {
                        return F::binary_cross_entropy_with_logits(x, t, r);
                      },
                      [](const Tensor& x, const Tensor& t) {
                        Tensor p = x.sigmoid();
                        return -(t * p.log() + (1.0 - t) * (1.0 - p).log());
                      },
                      false, true}),
    [](const ::testing::TestParamInfo<PointwiseCase>& info) { return std::string(info.param.name); });

TEST(BinaryCrossEntropy, ClampsLogAtMinus100LikePyTorch) {
  Tensor p = cr::tensor({0.0, 0.0, 1.0, 1.0}, cr::kFloat64), t = cr::tensor({0.0, 1.0, 0.0, 1.0}, cr::kFloat64);
  expect_close(F::binary_cross_entropy(p, t, cr::nn::kNone), cr::tensor({0.0, 100.0, 100.0, 0.0}, cr::kFloat64), 0.0);
  Tensor x = p.clone().requires_grad_();
  F::binary_cross_entropy(x, t, cr::nn::kSum).backward();
  for (double v : values(x.grad())) EXPECT_TRUE(std::isfinite(v));
}

TEST(BinaryCrossEntropy, RejectsInputOutsideUnitInterval) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (double bad : {1.5, -0.1, nan}) {
    Tensor p = cr::tensor({0.5, bad}), t = cr::tensor({1.0, 0.0});
    expect_error([&] { F::binary_cross_entropy(p, t); }, "binary_cross_entropy", "must lie in [0, 1]");
  }
}

TEST(BinaryCrossEntropyWithLogits, StableForHugeLogits) {
  Tensor x = cr::tensor({1000.0, -1000.0, 1000.0, -1000.0}), t = cr::tensor({0.0, 0.0, 1.0, 1.0});
  expect_close(F::binary_cross_entropy_with_logits(x, t, cr::nn::kNone), cr::tensor({1000.0, 0.0, 0.0, 1000.0}),
               1e-3);
  Tensor xl = x.clone().requires_grad_();
  F::binary_cross_entropy_with_logits(xl, t, cr::nn::kSum).backward();
  expect_close(xl.grad(), cr::tensor({1.0, 0.0, 0.0, -1.0}), 1e-6);
}

}  // namespace

namespace {

// ---- softmax / log_softmax in nn::functional ----------------------------------------

TEST(FunctionalSoftmax, ForwardsToTheFusedOps) {
  cr::manual_seed(12);
  Tensor x = strided_leaf({3, 4});
  expect_close(F::softmax(x, 1), cr::softmax(x, 1), 0.0);
  expect_close(F::log_softmax(x, 0), cr::log_softmax(x, 0), 0.0);
  auto f = [](const Inputs& v) { return F::log_softmax(v[0], -1) * F::softmax(v[0], 0); };
  EXPECT_GRADCHECK(f, Inputs{x});
  EXPECT_GRADGRADCHECK(f, Inputs{x});
  expect_error([&] { F::softmax(x, 2); }, "softmax");
  expect_error([&] { F::log_softmax(cr::arange(3), 0); }, "log_softmax", "int64");
}

}  // namespace
