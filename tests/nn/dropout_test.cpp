// dropout: mask statistics and scaling, reproducibility under manual_seed,
// identity cases, gradients, errors.

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "chainrule/chainrule.h"
#include "chainrule/nn/functional.h"
#include "support/tensor_testing.h"

namespace {

namespace F = cr::nn::functional;
using cr::Tensor;
using cr::testing::expect_error;
using cr::testing::strided_leaf;
using cr::testing::values;
using Inputs = std::vector<Tensor>;

TEST(Dropout, ZeroesAboutPAndScalesTheRest) {
  cr::manual_seed(1);
  const double p = 0.3;
  Tensor x = cr::ones({200, 100});
  const std::vector<double> y = values(F::dropout(x, p));
  std::int64_t zeros = 0;
  for (double v : y) {
    if (v == 0.0) ++zeros;
    else EXPECT_NEAR(v, 1.0 / (1.0 - p), 1e-6);
  }
  // 20000 Bernoulli(0.3) draws: the share is within 5 standard deviations (0.016).
  EXPECT_NEAR(static_cast<double>(zeros) / y.size(), p, 0.016);
}

TEST(Dropout, ReproducibleWithManualSeed) {
  Tensor x = cr::randn({8, 16});
  cr::manual_seed(42);
  const std::vector<double> a = values(F::dropout(x, 0.5));
  const std::vector<double> b = values(F::dropout(x, 0.5));
  cr::manual_seed(42);
  const std::vector<double> c = values(F::dropout(x, 0.5));
  EXPECT_EQ(a, c);
  EXPECT_NE(a, b);
}

TEST(Dropout, IdentityWhenNotTrainingOrPZeroAndZerosWhenPOne) {
  Tensor x = cr::randn({4, 5});
  EXPECT_TRUE(F::dropout(x, 0.5, /*training=*/false).is_same(x));
  EXPECT_TRUE(F::dropout(x, 0.0).is_same(x));
  for (double v : values(F::dropout(x, 1.0))) EXPECT_EQ(v, 0.0);
  Tensor l = cr::randn({3}, cr::kFloat64).requires_grad_();
  F::dropout(l, 1.0).sum().backward();
  for (double v : values(l.grad())) EXPECT_EQ(v, 0.0);
}

TEST(Dropout, GradientIsTheSameMask) {
  cr::manual_seed(3);
  Tensor x = cr::randn({6, 7}, cr::kFloat64).requires_grad_();
  Tensor y = F::dropout(x, 0.4);
  y.sum().backward();
  const std::vector<double> out = values(y), in = values(x), grad = values(x.grad());
  for (std::size_t i = 0; i < out.size(); ++i) EXPECT_NEAR(grad[i] * in[i], out[i], 1e-12);
}

TEST(Dropout, GradcheckAndGradgradcheckWithFixedSeed) {
  for (bool strided : {false, true}) {
    cr::manual_seed(5);
    Tensor x = strided ? strided_leaf({4, 5}) : cr::testing::leaf({4, 5});
    // Reseeding inside makes every call draw the same mask.
    auto f = [](const Inputs& v) {
      cr::manual_seed(99);
      return F::dropout(v[0], 0.5);
    };
    EXPECT_GRADCHECK(f, Inputs{x}) << "strided " << strided;
    EXPECT_GRADGRADCHECK(f, Inputs{x}) << "strided " << strided;
  }
}

TEST(Dropout, Errors) {
  Tensor x = cr::randn({3});
  expect_error([&] { F::dropout(x, 1.5); }, "dropout", "[0, 1], got 1.5");
  expect_error([&] { F::dropout(x, -0.1); }, "dropout", "[0, 1]");
  expect_error([&] { F::dropout(x, std::nan("")); }, "dropout", "[0, 1]");
  expect_error([&] { F::dropout(cr::arange(3), 0.5); }, "dropout", "int64");
}

}  // namespace
