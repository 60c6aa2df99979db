// tanh in float32 is a rational approximation the compiler vectorises
// (backend/cpu/vmath.h), not libm's tanhf: check its accuracy and edge cases.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "chainrule/chainrule.h"
#include "support/tensor_testing.h"

namespace {

using cr::Tensor;
using cr::testing::values;

// Compared with double-precision tanh on a dense sweep, and at the edges.
TEST(Tanh, Float32IsAccurate) {
  const std::int64_t n = 200001;
  Tensor x = cr::linspace(-12.0, 12.0, n);
  ASSERT_EQ(x.dtype(), cr::kFloat32);
  const std::vector<double> xv = values(x), yv = values(x.tanh());
  double worst = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const double ref = std::tanh(xv[i]);
    if (ref != 0) worst = std::max(worst, std::abs(yv[i] - ref) / std::abs(ref));
    else EXPECT_EQ(yv[i], 0.0);
  }
  EXPECT_LT(worst, 4e-7);  // float32's epsilon is 1.2e-7

  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  Tensor edges = cr::tensor(std::vector<float>{inf, -inf, 100.0f, -100.0f, 1e-6f, -0.0f, nan});
  const std::vector<double> e = values(edges.tanh());
  EXPECT_NEAR(e[0], 1.0, 1e-7);
  EXPECT_NEAR(e[1], -1.0, 1e-7);
  EXPECT_NEAR(e[2], 1.0, 1e-7);
  EXPECT_NEAR(e[3], -1.0, 1e-7);
  EXPECT_EQ(e[4], static_cast<double>(1e-6f));
  EXPECT_TRUE(std::signbit(e[5]));
  EXPECT_TRUE(std::isnan(e[6]));
}

}  // namespace
