// cr::nn::init: distributions (bounds, mean, std over large tensors), fans,
// gains, reproducibility, no-grad writes into parameters, and errors.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "chainrule/nn/init.h"
#include "support/tensor_testing.h"

namespace {

using cr::Tensor;
using cr::testing::expect_error;
using cr::testing::values;
namespace init = cr::nn::init;

struct Stats {
  double mean, std, min, max;
};

Stats stats(const Tensor& t) {
  const std::vector<double> v = values(t);
  double sum = 0, sq = 0;
  for (double x : v) sum += x;
  const double mean = sum / static_cast<double>(v.size());
  for (double x : v) sq += (x - mean) * (x - mean);
  return {mean, std::sqrt(sq / static_cast<double>(v.size() - 1)), *std::min_element(v.begin(), v.end()),
          *std::max_element(v.begin(), v.end())};
}

// 100k samples: the sample mean is within ~0.003σ of the truth and the sample
// std within ~0.2%, so these tolerances hold for any seed with a wide margin.
void expect_uniform(const Tensor& t, double low, double high) {
  const Stats s = stats(t);
  const double width = high - low;
  EXPECT_GE(s.min, low);
  EXPECT_LE(s.max, high);
  EXPECT_LT(s.min, low + 0.01 * width) << "samples should reach the lower bound";
  EXPECT_GT(s.max, high - 0.01 * width) << "samples should reach the upper bound";
  EXPECT_NEAR(s.mean, (low + high) / 2, 0.02 * width);
  EXPECT_NEAR(s.std, width / std::sqrt(12.0), 0.02 * width / std::sqrt(12.0));
}

void expect_normal(const Tensor& t, double mean, double std) {
  const Stats s = stats(t);
  EXPECT_NEAR(s.mean, mean, 0.02 * std);
  EXPECT_NEAR(s.std, std, 0.02 * std);
  EXPECT_GT(s.max - s.mean, 3.5 * std) << "tails of a normal, not a bounded distribution";
}

TEST(Init, UniformAndNormal) {
  cr::manual_seed(1);
  expect_uniform(init::uniform_(cr::empty({400, 250})), 0.0, 1.0);
  expect_uniform(init::uniform_(cr::empty({400, 250}, cr::kFloat64), -3.0, 5.0), -3.0, 5.0);
  expect_normal(init::normal_(cr::empty({400, 250})), 0.0, 1.0);
  expect_normal(init::normal_(cr::empty({400, 250}, cr::kFloat64), 2.0, 0.5), 2.0, 0.5);
  Tensor point = init::uniform_(cr::empty({10}), 1.5, 1.5);
  for (double v : values(point)) EXPECT_EQ(v, 1.5);
}

TEST(Init, ConstantZerosOnes) {
  Tensor t = cr::empty({3, 4});
  EXPECT_TRUE(init::constant_(t, 2.5).is_same(t));
  for (double v : values(t)) EXPECT_EQ(v, 2.5);
  for (double v : values(init::zeros_(t))) EXPECT_EQ(v, 0.0);
  for (double v : values(init::ones_(t))) EXPECT_EQ(v, 1.0);
  Tensor ints = cr::empty({3}, cr::kInt64);
  for (double v : values(init::constant_(ints, 7))) EXPECT_EQ(v, 7.0);
}

TEST(Init, ReproducibleWithManualSeed) {
  cr::manual_seed(42);
  const auto a = values(init::kaiming_uniform_(cr::empty({8, 8})));
  const auto b = values(init::normal_(cr::empty({8})));
  cr::manual_seed(42);
  EXPECT_EQ(values(init::kaiming_uniform_(cr::empty({8, 8}))), a);
  EXPECT_EQ(values(init::normal_(cr::empty({8}))), b);
  EXPECT_NE(values(init::normal_(cr::empty({8}))), b);
}

// Initialisers write into parameters that require grad, without recording
// history and with grad mode still on around them.
TEST(Init, WritesIntoParametersWithoutHistory) {
  Tensor w = cr::zeros({5, 3}).requires_grad_();
  const auto version = w.version();
  init::xavier_uniform_(w);
  EXPECT_TRUE(w.is_leaf());
  EXPECT_TRUE(w.requires_grad());
  EXPECT_GT(w.version(), version);
  EXPECT_TRUE(cr::autograd::is_grad_enabled());
  init::zeros_(w);
  init::normal_(w);
  init::kaiming_normal_(w);
  EXPECT_TRUE(w.is_leaf());
}

TEST(Init, FillsNonContiguousTensors) {
  Tensor base = cr::zeros({6, 4});
  Tensor view = base.t();  // [4, 6], transposed strides
  init::uniform_(view, 1.0, 2.0);
  for (double v : values(base)) EXPECT_GE(v, 1.0);
  Tensor half = cr::zeros({4, 6}).slice(1, 0, 6, 2);
  init::ones_(half);
  EXPECT_EQ(values(half.detach()), std::vector<double>(12, 1.0));
}

TEST(Init, FansAsPyTorch) {
  EXPECT_EQ(init::calculate_fan_in_and_fan_out(cr::empty({10, 20})), (std::pair<std::int64_t, std::int64_t>{20, 10}));
  // Conv2d weight [out, in, kH, kW]: both fans count the receptive field.
  EXPECT_EQ(init::calculate_fan_in_and_fan_out(cr::empty({16, 3, 5, 5})),
            (std::pair<std::int64_t, std::int64_t>{75, 400}));
  EXPECT_EQ(init::calculate_fan_in_and_fan_out(cr::empty({4, 2, 7})), (std::pair<std::int64_t, std::int64_t>{14, 28}));
  expect_error([] { init::calculate_fan_in_and_fan_out(cr::empty({5})); }, "calculate_fan_in_and_fan_out",
               "at least 2 dims");
}

TEST(Init, Gains) {
  EXPECT_EQ(init::calculate_gain(init::kLinear), 1.0);
  EXPECT_EQ(init::calculate_gain(init::kConv2d), 1.0);
  EXPECT_EQ(init::calculate_gain(init::kSigmoid), 1.0);
  EXPECT_DOUBLE_EQ(init::calculate_gain(init::kTanh), 5.0 / 3.0);
  EXPECT_DOUBLE_EQ(init::calculate_gain(init::kReLU), std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(init::calculate_gain(init::kLeakyReLU), std::sqrt(2.0 / (1 + 0.01 * 0.01)));
  EXPECT_DOUBLE_EQ(init::calculate_gain(init::kLeakyReLU, 0.2), std::sqrt(2.0 / 1.04));
  EXPECT_DOUBLE_EQ(init::calculate_gain(init::kSELU), 0.75);
}

TEST(Init, Xavier) {
  cr::manual_seed(2);
  // fan_in 250, fan_out 400.
  const double bound = std::sqrt(6.0 / 650.0);
  expect_uniform(init::xavier_uniform_(cr::empty({400, 250})), -bound, bound);
  expect_uniform(init::xavier_uniform_(cr::empty({400, 250}), 2.0), -2 * bound, 2 * bound);
  expect_normal(init::xavier_normal_(cr::empty({400, 250})), 0.0, std::sqrt(2.0 / 650.0));
  // Conv shape: fan_in 3·25 = 75, fan_out 16·25 = 400.
  const double conv_bound = std::sqrt(6.0 / 475.0);
  expect_uniform(init::xavier_uniform_(cr::empty({16, 3, 5, 5, 17}), 1.0), -std::sqrt(6.0 / (75 * 17 + 400 * 17)),
                 std::sqrt(6.0 / (75 * 17 + 400 * 17)));
  const Stats s = stats(init::xavier_uniform_(cr::empty({16, 3, 5, 5})));
  EXPECT_LE(s.max, conv_bound);
  EXPECT_GE(s.min, -conv_bound);
}

TEST(Init, KaimingModesAndNonlinearities) {
  cr::manual_seed(3);
  // [out=400, in=250]: fan_in 250, fan_out 400.
  const double relu = std::sqrt(2.0);
  expect_uniform(init::kaiming_uniform_(cr::empty({400, 250}), 0.0, init::kFanIn, init::kReLU),
                 -relu * std::sqrt(3.0 / 250), relu * std::sqrt(3.0 / 250));
  expect_uniform(init::kaiming_uniform_(cr::empty({400, 250}), 0.0, init::kFanOut, init::kReLU),
                 -relu * std::sqrt(3.0 / 400), relu * std::sqrt(3.0 / 400));
  expect_normal(init::kaiming_normal_(cr::empty({400, 250}), 0.0, init::kFanIn, init::kReLU), 0.0,
                relu / std::sqrt(250.0));
  expect_normal(init::kaiming_normal_(cr::empty({400, 250}), 0.0, init::kFanOut), 0.0, relu / std::sqrt(400.0));
  // a = √5 with leaky_relu: gain √(1/3), so the bound is 1/√fan_in (PyTorch's Linear/Conv default).
  expect_uniform(init::kaiming_uniform_(cr::empty({400, 250}), std::sqrt(5.0)), -1 / std::sqrt(250.0),
                 1 / std::sqrt(250.0));
  expect_uniform(init::kaiming_uniform_(cr::empty({400, 250}), 0.0, init::kFanIn, init::kTanh),
                 -5.0 / 3.0 * std::sqrt(3.0 / 250), 5.0 / 3.0 * std::sqrt(3.0 / 250));
  // Empty tensors are left alone (their fan may be 0).
  EXPECT_EQ(init::kaiming_uniform_(cr::empty({0, 5})).numel(), 0);
  EXPECT_EQ(init::kaiming_normal_(cr::empty({5, 0})).numel(), 0);
}

TEST(Init, Errors) {
  expect_error([] { init::uniform_(cr::empty({3}), 2.0, 1.0); }, "uniform_", "low <= high");
  expect_error([] { init::normal_(cr::empty({3}), 0.0, -1.0); }, "normal_", "std >= 0");
  expect_error([] { init::uniform_(cr::empty({3}, cr::kInt64)); }, "uniform_");
  expect_error([] { init::normal_(Tensor()); }, "normal_");
  expect_error([] { init::constant_(Tensor(), 1.0); }, "constant_");
  expect_error([] { init::xavier_uniform_(cr::empty({3})); }, "calculate_fan_in_and_fan_out", "at least 2 dims");
  expect_error([] { init::kaiming_normal_(cr::empty({3})); }, "calculate_fan_in_and_fan_out");
  expect_error([] { init::xavier_normal_(cr::empty({3, 3}, cr::kInt64)); }, "xavier_normal_");
}

}  // namespace
