// The fused activation backwards (tanh_backward, sigmoid_backward): values,
// first and second derivatives, errors.

#include <gtest/gtest.h>

#include <cmath>

#include "chainrule/chainrule.h"
#include "support/tensor_testing.h"

namespace {

using cr::Tensor;
using cr::testing::expect_error;
using cr::testing::leaf;
using cr::testing::strided_leaf;
using cr::testing::values;
using Inputs = std::vector<Tensor>;

TEST(ActivationBackward, ValuesMatchTheUnfusedFormulas) {
  Tensor g = cr::tensor({1.0, -2.0, 0.5, 3.0}, cr::kFloat64);
  Tensor y = cr::tensor({0.2, -0.7, 0.9, 0.0}, cr::kFloat64);
  const std::vector<double> gv = values(g), yv = values(y);
  const std::vector<double> t = values(cr::tanh_backward(g, y)), s = values(cr::sigmoid_backward(g, y));
  for (std::size_t i = 0; i < gv.size(); ++i) {
    EXPECT_DOUBLE_EQ(t[i], gv[i] * (1 - yv[i] * yv[i])) << i;
    EXPECT_DOUBLE_EQ(s[i], gv[i] * yv[i] * (1 - yv[i])) << i;
  }
  EXPECT_EQ(cr::tanh_backward(g.to(cr::kFloat32), y.to(cr::kFloat32)).dtype(), cr::kFloat32);
}

TEST(ActivationBackward, GradientsOfBothInputs) {
  cr::manual_seed(3);
  for (bool strided : {false, true}) {
    Tensor g = strided ? strided_leaf({3, 4}) : leaf({3, 4});
    Tensor y = strided ? strided_leaf({3, 4}) : leaf({3, 4});
    auto t = [](const Inputs& in) { return cr::tanh_backward(in[0], in[1]); };
    auto s = [](const Inputs& in) { return cr::sigmoid_backward(in[0], in[1]); };
    EXPECT_GRADCHECK(t, (Inputs{g, y})) << "strided " << strided;
    EXPECT_GRADGRADCHECK(t, (Inputs{g, y})) << "strided " << strided;
    EXPECT_GRADCHECK(s, (Inputs{g, y})) << "strided " << strided;
    EXPECT_GRADGRADCHECK(s, (Inputs{g, y})) << "strided " << strided;
  }
}

TEST(ActivationBackward, TanhAndSigmoidBackwardUseTheFusedOps) {
  Tensor x = leaf({2, 3});
  Tensor y = x.tanh();
  y.sum().backward();
  const std::vector<double> xv = values(x), gx = values(x.grad());
  for (std::size_t i = 0; i < xv.size(); ++i) EXPECT_NEAR(gx[i], 1 - std::pow(std::tanh(xv[i]), 2), 1e-12) << i;
  Tensor z = x.sigmoid();
  Tensor gz = cr::autograd::grad({z.sum()}, {x}, {}, std::nullopt, /*create_graph=*/true)[0];
  EXPECT_EQ(std::string(gz.grad_fn()->name()), "SigmoidBackwardBackward");
}

TEST(ActivationBackward, Errors) {
  Tensor g = cr::ones({2, 3}), y = cr::ones({2, 3});
  expect_error([&] { cr::tanh_backward(g, cr::ones({3})); }, "tanh_backward", "differ in shape");
  expect_error([&] { cr::sigmoid_backward(g, cr::ones({3, 2})); }, "sigmoid_backward", "differ in shape");
  expect_error([&] { cr::tanh_backward(g, y.to(cr::kFloat64)); }, "tanh_backward", "dtype mismatch");
  expect_error([&] { cr::sigmoid_backward(g.to(cr::kInt64), y.to(cr::kInt64)); }, "sigmoid_backward", "float32 or float64");
  expect_error([&] { cr::tanh_backward(g, Tensor()); }, "tanh_backward", "undefined");
}

}  // namespace
