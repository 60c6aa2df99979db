// Gradient clipping by total norm (2, 1, p, infinity) and by value.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "chainrule/chainrule.h"
#include "chainrule/optim.h"
#include "support/tensor_testing.h"

namespace {

using cr::Tensor;
using cr::testing::expect_error;
using cr::testing::values;
using Vec = std::vector<double>;
namespace optim = cr::optim;

// Parameters whose gradients are {3, -4} and {12}: 2-norm 13, 1-norm 19, inf-norm 12.
std::vector<Tensor> params_with_grads(cr::DType dtype = cr::kFloat64) {
  Tensor a = cr::zeros({2}, dtype).requires_grad_(), b = cr::zeros({1, 1}, dtype).requires_grad_();
  a.set_grad(cr::tensor(Vec{3, -4}, {2}, dtype));
  b.set_grad(cr::tensor(Vec{12}, {1, 1}, dtype));
  return {a, b};
}

TEST(ClipGradNorm, ScalesAllGradientsWhenTheTotalNormIsTooLarge) {
  auto params = params_with_grads();
  const auto version = params[0].grad().version();
  const double total = optim::clip_grad_norm_(params, 6.5);
  EXPECT_DOUBLE_EQ(total, 13.0);
  const double coef = 6.5 / (13.0 + 1e-6);
  EXPECT_EQ(values(params[0].grad()), (Vec{3 * coef, -4 * coef}));
  EXPECT_EQ(values(params[1].grad()), (Vec{12 * coef}));
  EXPECT_GT(params[0].grad().version(), version);
}

TEST(ClipGradNorm, LeavesSmallGradientsAlone) {
  auto params = params_with_grads();
  const auto version = params[0].grad().version();
  EXPECT_DOUBLE_EQ(optim::clip_grad_norm_(params, 20.0), 13.0);
  EXPECT_EQ(values(params[0].grad()), (Vec{3, -4}));
  EXPECT_EQ(params[0].grad().version(), version);
}

TEST(ClipGradNorm, OtherNorms) {
  auto params = params_with_grads();
  EXPECT_DOUBLE_EQ(optim::clip_grad_norm_(params, 100.0, 1.0), 19.0);
  EXPECT_DOUBLE_EQ(optim::clip_grad_norm_(params, 100.0, 3.0), std::cbrt(27.0 + 64.0 + 1728.0));
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_DOUBLE_EQ(optim::clip_grad_norm_(params, 6.0, inf), 12.0);
  const double coef = 6.0 / (12.0 + 1e-6);
  EXPECT_EQ(values(params[1].grad()), (Vec{12 * coef}));
  EXPECT_EQ(values(params[0].grad()), (Vec{3 * coef, -4 * coef}));
}

TEST(ClipGradNorm, Float32AndSingleTensorAndLibTorchSpelling) {
  auto params = params_with_grads(cr::kFloat32);
  EXPECT_NEAR(cr::nn::utils::clip_grad_norm_(params, 1.0), 13.0, 1e-6);
  EXPECT_NEAR(values(params[1].grad())[0], 12.0 / 13.0, 1e-6);
  EXPECT_NEAR(optim::clip_grad_norm_(params[0], 0.1), 5.0 / 13.0, 1e-6);
  EXPECT_NEAR(std::hypot(values(params[0].grad())[0], values(params[0].grad())[1]), 0.1, 1e-6);
}

TEST(ClipGradNorm, SkipsParametersWithoutGradients) {
  auto params = params_with_grads();
  params.push_back(cr::zeros({3}).requires_grad_());
  EXPECT_DOUBLE_EQ(optim::clip_grad_norm_(params, 100.0), 13.0);
  EXPECT_EQ(optim::clip_grad_norm_({cr::zeros({3}).requires_grad_()}, 1.0), 0.0);
}

TEST(ClipGradNorm, NonFiniteNorms) {
  auto params = params_with_grads();
  params[0].set_grad(cr::tensor(Vec{std::nan(""), 1.0}, {2}, cr::kFloat64));
  expect_error([&] { optim::clip_grad_norm_(params, 1.0, 2.0, /*error_if_nonfinite=*/true); }, "clip_grad_norm_",
               "error_if_nonfinite");
  EXPECT_TRUE(std::isnan(optim::clip_grad_norm_(params, 1.0, std::numeric_limits<double>::infinity())));
  EXPECT_TRUE(std::isnan(values(params[1].grad())[0]));  // PyTorch scales by NaN too
}

TEST(ClipGradNorm, Errors) {
  auto params = params_with_grads();
  expect_error([&] { optim::clip_grad_norm_(params, 1.0, 0.0); }, "clip_grad_norm_", "norm_type must be positive");
  expect_error([&] { optim::clip_grad_norm_(params, -1.0); }, "clip_grad_norm_", "max_norm must be >= 0");
  expect_error([&] { optim::clip_grad_norm_({Tensor()}, 1.0); }, "clip_grad_norm_", "undefined");
}

TEST(ClipGradValue, ClampsEachElement) {
  auto params = params_with_grads();
  const auto version = params[1].grad().version();
  optim::clip_grad_value_(params, 3.5);
  EXPECT_EQ(values(params[0].grad()), (Vec{3, -3.5}));
  EXPECT_EQ(values(params[1].grad()), (Vec{3.5}));
  EXPECT_GT(params[1].grad().version(), version);
  optim::clip_grad_value_(params[0], 1.0);
  EXPECT_EQ(values(params[0].grad()), (Vec{1, -1}));
  expect_error([&] { optim::clip_grad_value_(params, -1.0); }, "clip_grad_value_", "clip_value must be >= 0");
}

}  // namespace
