// The backward engine: accumulation, fan-in, retain_graph, grad(), higher order.

#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "chainrule/chainrule.h"
#include "support/tensor_testing.h"

namespace {

using cr::testing::expect_error;
using cr::testing::values;

TEST(Engine, MulGradient) {
  cr::Tensor x = cr::tensor({2.0, 3.0}).requires_grad_();
  cr::Tensor y = (x * x).sum();
  y.backward();
  EXPECT_EQ(values(x.grad()), (std::vector<double>{4.0, 6.0}));
}

TEST(Engine, FanInGradientsAreSummed) {
  cr::Tensor x = cr::tensor({1.5}, cr::kFloat64).requires_grad_();
  cr::Tensor a = x * 2.0, b = x * 3.0, c = x.exp();
  cr::Tensor y = (a + b + c).sum();
  y.backward();
  EXPECT_NEAR(values(x.grad())[0], 5.0 + std::exp(1.5), 1e-12);
}

TEST(Engine, LeavesAccumulateUntilZeroed) {
  cr::Tensor x = cr::tensor({1.0, 2.0}).requires_grad_();
  (x * 3.0).sum().backward();
  (x * 3.0).sum().backward();
  EXPECT_EQ(values(x.grad()), (std::vector<double>{6.0, 6.0}));
  x.grad().zero_();
  (x * x).sum().backward();
  EXPECT_EQ(values(x.grad()), (std::vector<double>{2.0, 4.0}));
  x.set_grad({});
  EXPECT_FALSE(x.grad().defined());
}

TEST(Engine, GradientArgumentWeightsNonScalarOutputs) {
  cr::Tensor x = cr::tensor({1.0, 2.0, 3.0}).requires_grad_();
  cr::Tensor y = x * x;
  y.backward(cr::tensor({1.0, 0.5, 0.0}));
  EXPECT_EQ(values(x.grad()), (std::vector<double>{2.0, 2.0, 0.0}));
}

TEST(Engine, NonScalarWithoutGradientIsAnError) {
  cr::Tensor x = cr::ones({3}).requires_grad_();
  cr::Tensor y = x * 2.0;
  expect_error([&] { y.backward(); }, "backward", "one-element");
}

TEST(Engine, BackwardOnTensorWithoutGradIsAnError) {
  cr::Tensor x = cr::ones({1});
  expect_error([&] { x.backward(); }, "backward", "does not require grad");
}

TEST(Engine, GradientOfWrongShapeIsAnError) {
  cr::Tensor x = cr::ones({3}).requires_grad_();
  cr::Tensor y = x * 2.0;
  expect_error([&] { y.backward(cr::ones({2})); }, "backward", "[2]");
}

TEST(Engine, SecondBackwardWithoutRetainGraphIsAnError) {
  cr::Tensor x = cr::tensor({2.0}).requires_grad_();
  cr::Tensor y = (x * x).sum();
  y.backward();
  expect_error([&] { y.backward(); }, "SumBackward", "second time");
}

TEST(Engine, RetainGraphAllowsASecondBackward) {
  cr::Tensor x = cr::tensor({2.0}).requires_grad_();
  cr::Tensor y = (x * x).sum();
  y.backward({}, /*retain_graph=*/true);
  y.backward();
  EXPECT_EQ(values(x.grad()), (std::vector<double>{8.0}));
}

TEST(Engine, GradReturnsGradientsWithoutTouchingDotGrad) {
  cr::Tensor x = cr::tensor({1.0, 2.0}).requires_grad_();
  cr::Tensor w = cr::tensor({3.0, 4.0}).requires_grad_();
  cr::Tensor y = (x * w).sum();
  auto grads = cr::autograd::grad({y}, {x});
  EXPECT_EQ(values(grads[0]), (std::vector<double>{3.0, 4.0}));
  EXPECT_FALSE(x.grad().defined());
  EXPECT_FALSE(w.grad().defined());
}

TEST(Engine, GradOfIntermediateTensor) {
  cr::Tensor x = cr::tensor({1.0, 2.0}).requires_grad_();
  cr::Tensor h = x * 2.0;
  cr::Tensor y = (h * h).sum();
  auto grads = cr::autograd::grad({y}, {h});
  EXPECT_EQ(values(grads[0]), (std::vector<double>{4.0, 8.0}));
}

TEST(Engine, UnusedInputIsAnErrorUnlessAllowed) {
  cr::Tensor x = cr::tensor({1.0}).requires_grad_();
  cr::Tensor z = cr::tensor({1.0}).requires_grad_();
  cr::Tensor y = (x * 2.0).sum();
  expect_error([&] { cr::autograd::grad({y}, {z}, {}, true); }, "grad", "not used");
  auto grads = cr::autograd::grad({y}, {x, z}, {}, false, false, /*allow_unused=*/true);
  EXPECT_EQ(values(grads[0]), (std::vector<double>{2.0}));
  EXPECT_FALSE(grads[1].defined());
}

TEST(Engine, SecondDerivativeOfCube) {
  cr::Tensor x = cr::tensor({2.0, -1.0}, cr::kFloat64).requires_grad_();
  cr::Tensor y = (x * x * x).sum();
  auto dy = cr::autograd::grad({y}, {x}, {}, std::nullopt, /*create_graph=*/true);
  EXPECT_EQ(values(dy[0]), (std::vector<double>{12.0, 3.0}));  // 3x²
  auto d2y = cr::autograd::grad({dy[0].sum()}, {x});
  EXPECT_EQ(values(d2y[0]), (std::vector<double>{12.0, -6.0}));  // 6x
}

TEST(Engine, ThirdDerivativeOfCube) {
  cr::Tensor x = cr::tensor({2.0}, cr::kFloat64).requires_grad_();
  cr::Tensor y = x.pow(3.0).sum();
  auto d1 = cr::autograd::grad({y}, {x}, {}, std::nullopt, true);
  auto d2 = cr::autograd::grad({d1[0].sum()}, {x}, {}, std::nullopt, true);
  auto d3 = cr::autograd::grad({d2[0].sum()}, {x});
  EXPECT_DOUBLE_EQ(values(d3[0])[0], 6.0);
}

TEST(Engine, HessianVectorProduct) {
  // f(x) = sum(x_i² x_j) over i, j  ->  H = 2·(diag(sum x) + x 1ᵀ + 1 xᵀ)
  cr::Tensor x = cr::tensor({1.0, 2.0, 3.0}, cr::kFloat64).requires_grad_();
  cr::Tensor v = cr::tensor({1.0, 0.0, -1.0}, cr::kFloat64);
  cr::Tensor f = (x * x).sum() * x.sum();
  auto g = cr::autograd::grad({f}, {x}, {}, std::nullopt, true);
  auto hv = cr::autograd::grad({(g[0] * v).sum()}, {x});
  // H = 2·[[s + 2x_i δ..]] computed by hand: H_ij = 2·s·δ_ij + 2x_i + 2x_j, s = 6
  std::vector<double> xs{1, 2, 3}, vs{1, 0, -1}, expected(3, 0.0);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) expected[i] += (2 * 6.0 * (i == j) + 2 * xs[i] + 2 * xs[j]) * vs[j];
  auto got = values(hv[0]);
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(got[i], expected[i], 1e-12);
}

TEST(Engine, GradientPenaltyTrainsThroughTheGradient) {
  // penalty = (|d(w·x²)/dx| - 1)²; its gradient w.r.t. w needs double backward.
  cr::Tensor w = cr::tensor({0.7}, cr::kFloat64).requires_grad_();
  cr::Tensor x = cr::tensor({1.5}, cr::kFloat64).requires_grad_();
  cr::Tensor out = (w * x * x).sum();
  auto gx = cr::autograd::grad({out}, {x}, {}, std::nullopt, true);  // 2wx
  cr::Tensor penalty = ((gx[0] - 1.0) * (gx[0] - 1.0)).sum();
  penalty.backward();
  // d/dw (2wx - 1)² = 2(2wx - 1)·2x
  const double expected = 2 * (2 * 0.7 * 1.5 - 1) * 2 * 1.5;
  EXPECT_NEAR(values(w.grad())[0], expected, 1e-12);
}

TEST(Engine, NoGradGuardRecordsNothing) {
  cr::Tensor x = cr::ones({2}).requires_grad_();
  {
    cr::NoGradGuard guard;
    cr::Tensor y = x * 2.0;
    EXPECT_FALSE(y.requires_grad());
    EXPECT_EQ(y.grad_fn(), nullptr);
    {
      cr::EnableGradGuard enable;
      EXPECT_TRUE((x * 2.0).requires_grad());
    }
    EXPECT_FALSE(cr::autograd::is_grad_enabled());
  }
  EXPECT_TRUE(cr::autograd::is_grad_enabled());
  EXPECT_TRUE((x * 2.0).requires_grad());
}

TEST(Engine, GradModeIsThreadLocal) {
  cr::NoGradGuard guard;
  bool other_thread_enabled = false;
  std::thread t([&] { other_thread_enabled = cr::autograd::is_grad_enabled(); });
  t.join();
  EXPECT_TRUE(other_thread_enabled);
}

TEST(Engine, DetachCutsHistory) {
  cr::Tensor x = cr::tensor({3.0}).requires_grad_();
  cr::Tensor y = x * 2.0;
  cr::Tensor d = y.detach();
  EXPECT_FALSE(d.requires_grad());
  EXPECT_TRUE(d.is_leaf());
  cr::Tensor z = (y * d).sum();  // d is a constant
  z.backward();
  EXPECT_EQ(values(x.grad()), (std::vector<double>{12.0}));
}

TEST(Engine, RetainGradKeepsNonLeafGradient) {
  cr::Tensor x = cr::tensor({1.0, 2.0}).requires_grad_();
  cr::Tensor h = x * 3.0;
  h.retain_grad();
  cr::Tensor y = (h * h).sum();
  y.backward();
  EXPECT_EQ(values(h.grad()), (std::vector<double>{6.0, 12.0}));
}

TEST(Engine, NonLeafHasNoGradWithoutRetainGrad) {
  cr::Tensor x = cr::tensor({1.0}).requires_grad_();
  cr::Tensor h = x * 3.0;
  (h * h).sum().backward();
  EXPECT_FALSE(h.grad().defined());
}

TEST(Engine, HooksReadAndReplaceGradients) {
  cr::Tensor x = cr::tensor({1.0, 2.0}).requires_grad_();
  cr::Tensor h = x * 2.0;
  std::vector<double> seen;
  h.register_hook([&](const cr::Tensor& g) {
    seen = values(g);
    return g * 10.0;  // replace
  });
  int leaf_calls = 0;
  int handle = x.register_hook([&](const cr::Tensor&) {
    ++leaf_calls;
    return cr::Tensor();  // keep
  });
  (h * h).sum().backward();
  EXPECT_EQ(seen, (std::vector<double>{4.0, 8.0}));
  EXPECT_EQ(values(x.grad()), (std::vector<double>{80.0, 160.0}));
  EXPECT_EQ(leaf_calls, 1);
  x.remove_hook(handle);
  x.set_grad({});
  (x * 1.0).sum().backward();
  EXPECT_EQ(leaf_calls, 1);
}

TEST(Engine, LeafHookSeesTheSummedGradientOnce) {
  cr::Tensor x = cr::tensor({1.0}).requires_grad_();
  std::vector<std::vector<double>> seen;
  x.register_hook([&](const cr::Tensor& g) {
    seen.push_back(values(g));
    return cr::Tensor();
  });
  (x * 2.0 + x * 3.0).sum().backward();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], (std::vector<double>{5.0}));
}

TEST(Engine, HookOnTensorWithoutGradIsAnError) {
  cr::Tensor x = cr::ones({1});
  expect_error([&] { x.register_hook([](const cr::Tensor& g) { return g; }); }, "register_hook");
}

TEST(Engine, NodesRecordNameAndCallerLocation) {
  cr::Tensor x = cr::ones({2}).requires_grad_();
  const auto line = __LINE__ + 1;
  cr::Tensor y = x * x;
  ASSERT_NE(y.grad_fn(), nullptr);
  EXPECT_STREQ(y.grad_fn()->name(), "MulBackward");
  EXPECT_EQ(y.grad_fn()->location().line(), line);
  EXPECT_NE(std::string(y.grad_fn()->location().file_name()).find("engine_test.cpp"), std::string::npos);
  const auto line2 = __LINE__ + 1;
  cr::Tensor z = y.sum().exp();
  EXPECT_STREQ(z.grad_fn()->name(), "ExpBackward");
  EXPECT_EQ(z.grad_fn()->location().line(), line2);
  EXPECT_STREQ(z.grad_fn()->next_edges()[0].fn->name(), "SumBackward");
}

TEST(Engine, DoubleBackwardNodesPointAtTheForwardCall) {
  cr::Tensor x = cr::tensor({2.0}).requires_grad_();
  const auto line = __LINE__ + 1;
  cr::Tensor y = x.tanh().sum();
  auto g = cr::autograd::grad({y}, {x}, {}, std::nullopt, true);
  ASSERT_NE(g[0].grad_fn(), nullptr);
  EXPECT_EQ(g[0].grad_fn()->location().line(), line);
}

TEST(Engine, ScopeIsRecorded) {
  cr::Tensor x = cr::ones({1}).requires_grad_();
  cr::Tensor y;
  {
    cr::autograd::ScopeGuard outer("encoder");
    cr::autograd::ScopeGuard inner("3");
    y = x * 2.0;
  }
  EXPECT_EQ(y.grad_fn()->scope(), "encoder.3");
  EXPECT_EQ((y * 1.0).grad_fn()->scope(), "");
}

TEST(Engine, ModifiedSavedTensorIsAnErrorNamingTheOp) {
  cr::Tensor x = cr::tensor({1.0, 2.0}).requires_grad_();
  cr::Tensor h = x * 1.0;
  const auto line = __LINE__ + 1;
  cr::Tensor y = (h.exp() * h).sum();  // MulBackward saves h
  h.add_(1.0);
  try {
    y.backward();
    FAIL() << "expected an error";
  } catch (const cr::Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("MulBackward:", 0), 0u) << what;
    EXPECT_NE(what.find("in-place"), std::string::npos) << what;
    EXPECT_NE(what.find("engine_test.cpp:" + std::to_string(line)), std::string::npos) << what;
  }
}

TEST(Engine, SavedOutputModifiedInPlaceIsAnError) {
  cr::Tensor x = cr::tensor({1.0}).requires_grad_();
  cr::Tensor y = (x * 1.0).exp();  // ExpBackward saves its output
  y.mul_(2.0);
  expect_error([&] { y.sum().backward(); }, "ExpBackward", "in-place");
}

TEST(Engine, InPlaceOnLeafThatRequiresGradIsAnError) {
  cr::Tensor x = cr::ones({2}).requires_grad_();
  expect_error([&] { x.add_(1.0); }, "add_", "leaf");
  cr::NoGradGuard guard;  // allowed without recording, as optimizers do
  x.add_(1.0);
  EXPECT_EQ(values(x), (std::vector<double>{2.0, 2.0}));
}

TEST(Engine, InPlaceOnNonLeafRecordsHistory) {
  cr::Tensor x = cr::tensor({1.0, 2.0}, cr::kFloat64).requires_grad_();
  cr::Tensor h = x * 2.0;
  h.mul_(h.detach() + 1.0);  // h = 2x(2x+1) with the factor constant
  h.add_(x);                 // h = 2x(2x+1) + x
  h.sum().backward();
  // d/dx = 2(2x+1) + 1
  EXPECT_EQ(values(x.grad()), (std::vector<double>{7.0, 11.0}));
}

TEST(Engine, InPlaceBumpsVersion) {
  cr::Tensor x = cr::ones({2});
  const auto v0 = x.version();
  x.add_(1.0);
  EXPECT_EQ(x.version(), v0 + 1);
  cr::Tensor view = x.slice(0, 0, 1);
  view.mul_(3.0);
  EXPECT_EQ(x.version(), v0 + 2);  // views share the counter
  EXPECT_EQ(values(x), (std::vector<double>{6.0, 2.0}));
}

TEST(Engine, RequiresGradOnNonLeafIsAnError) {
  cr::Tensor x = cr::ones({1}).requires_grad_();
  cr::Tensor y = x * 2.0;
  expect_error([&] { y.requires_grad_(false); }, "requires_grad_", "leaf");
  expect_error([&] { cr::ones({1}, cr::kInt64).requires_grad_(); }, "requires_grad_", "float");
}

TEST(Engine, MillionOpChainDoesNotOverflowTheStack) {
  // Backward and destruction must both be iterative.
  cr::Tensor x = cr::tensor({1.0}).requires_grad_();
  cr::Tensor y = x;
  constexpr int kOps = 1'000'000;
  for (int i = 0; i < kOps; ++i) y = y + 1.0;
  EXPECT_DOUBLE_EQ(y.item<double>(), 1.0 + kOps);
  y.backward();
  EXPECT_DOUBLE_EQ(x.grad().item<double>(), 1.0);
  y = cr::Tensor();  // frees the million nodes
  cr::Tensor z = x;
  for (int i = 0; i < kOps; ++i) z = z * 1.0;
  z = cr::Tensor();  // destroyed without ever running backward
  SUCCEED();
}

}  // namespace
