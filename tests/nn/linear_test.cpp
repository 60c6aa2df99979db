// linear: values against matmul, higher-rank and 1-D inputs, gradients, errors.

#include <gtest/gtest.h>

#include <vector>

#include "chainrule/chainrule.h"
#include "chainrule/nn/functional.h"
#include "support/tensor_testing.h"

namespace {

namespace F = cr::nn::functional;
using cr::Tensor;
using cr::testing::expect_error;
using cr::testing::leaf;
using cr::testing::strided_leaf;
using cr::testing::values;
using Inputs = std::vector<Tensor>;

void expect_close(const Tensor& got, const Tensor& want, double tol) {
  ASSERT_EQ(got.sizes(), want.sizes());
  const std::vector<double> a = values(got), b = values(want);
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], tol) << "at " << i;
}

TEST(Linear, HandComputed) {
  Tensor x = cr::tensor({1.0, 2.0, 3.0, 4.0}).reshape({2, 2});
  Tensor w = cr::tensor({1.0, 0.0, 1.0, 1.0, -1.0, 2.0}).reshape({3, 2});  // [out 3, in 2]
  Tensor b = cr::tensor({0.5, 0.0, -1.0});
  expect_close(F::linear(x, w, b), cr::tensor({1.5, 3.0, 2.0, 3.5, 7.0, 4.0}).reshape({2, 3}), 1e-6);
  expect_close(F::linear(x, w), cr::tensor({1.0, 3.0, 3.0, 3.0, 7.0, 5.0}).reshape({2, 3}), 1e-6);
}

TEST(Linear, AnyRankMatchesMatmul) {
  cr::manual_seed(1);
  Tensor w = cr::randn({5, 4}, cr::kFloat64), b = cr::randn({5}, cr::kFloat64);
  for (const cr::Shape& shape : {cr::Shape{4}, cr::Shape{3, 4}, cr::Shape{2, 3, 4}, cr::Shape{2, 1, 3, 4}}) {
    Tensor x = cr::randn(shape, cr::kFloat64);
    Tensor got = F::linear(x, w, b);
    cr::Shape want_shape = shape;
    want_shape[want_shape.size() - 1] = 5;
    EXPECT_EQ(got.sizes(), want_shape);
    expect_close(got, cr::matmul(x, w.t()) + b, 1e-12);
    expect_close(F::linear(x, w), cr::matmul(x, w.t()), 1e-12);
  }
  // A non-contiguous 3-D input (reshape must copy).
  Tensor x = cr::randn({4, 3, 2}, cr::kFloat64).permute({2, 1, 0});
  expect_close(F::linear(x, w, b), cr::matmul(x, w.t()) + b, 1e-12);
}

TEST(Linear, GradcheckAndGradgradcheck) {
  cr::manual_seed(2);
  for (const cr::Shape& shape : {cr::Shape{3, 4}, cr::Shape{2, 3, 4}, cr::Shape{4}})
    for (bool strided : {false, true})
      for (bool with_bias : {true, false}) {
        Tensor x = strided ? strided_leaf(shape) : leaf(shape);
        Tensor w = strided ? strided_leaf({2, 4}) : leaf({2, 4});
        Tensor b = with_bias ? leaf({2}) : Tensor();
        auto f = [](const Inputs& v) { return F::linear(v[0], v[1], v[2]); };
        EXPECT_GRADCHECK(f, (Inputs{x, w, b})) << shape << " strided " << strided << " bias " << with_bias;
        EXPECT_GRADGRADCHECK(f, (Inputs{x, w, b})) << shape << " strided " << strided << " bias " << with_bias;
      }
}

TEST(Linear, Errors) {
  Tensor x = cr::randn({2, 3});
  expect_error([&] { F::linear(x, cr::randn({4, 5})); }, "linear", "input has 3 features but weight expects 5");
  expect_error([&] { F::linear(x, cr::randn({3})); }, "linear", "weight must be 2-D");
  expect_error([&] { F::linear(x, cr::randn({4, 3}), cr::randn({3})); }, "linear", "bias must be 1-D of 4");
  expect_error([&] { F::linear(x, cr::randn({4, 3}, cr::kFloat64)); }, "linear", "dtype mismatch");
  expect_error([&] { F::linear(x, cr::randn({4, 3}), cr::randn({4}, cr::kFloat64)); }, "linear", "dtype mismatch");
  expect_error([&] { F::linear(cr::scalar_tensor(1.0), cr::randn({4, 1})); }, "linear", "at least 1 dim");
  expect_error([&] { F::linear(cr::arange(3), cr::randn({4, 3})); }, "linear", "int64");
}

}  // namespace
