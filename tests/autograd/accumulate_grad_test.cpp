// AccumulateGrad keeps an incoming gradient's buffer only when nobody else can
// see it; views of shared buffers are copied. And the weight gradient of
// addmm/mm against a transposed weight (nn.Linear's layout) arrives right.

#include <gtest/gtest.h>

#include "chainrule/chainrule.h"
#include "support/tensor_testing.h"

namespace {

using cr::Tensor;
using cr::testing::leaf;
using cr::testing::values;

TEST(AccumulateGrad, CopiesAViewOfABufferSomeoneElseHolds) {
  Tensor w = leaf({2, 3});
  Tensor c = cr::randn({3, 2}, cr::kFloat64);
  Tensor wt = w.reshape({3, 2});
  Tensor seen;  // the hook keeps the gradient of wt; w receives a reshaped (contiguous) view of it
  wt.register_hook([&](const Tensor& g) {
    seen = g;
    return Tensor();
  });
  (wt * c).sum().backward();
  ASSERT_TRUE(seen.defined());
  EXPECT_EQ(values(w.grad()), values(c));
  const std::vector<double> before = values(seen);
  {
    cr::NoGradGuard no_grad;
    w.grad().add_(cr::ones({2, 3}, cr::kFloat64));
  }
  EXPECT_EQ(values(seen), before) << "accumulating into w.grad() wrote into the hook's tensor";
}

TEST(AccumulateGrad, TransposedWeightGradientsAreRightAndAccumulate) {
  cr::manual_seed(5);
  for (bool with_bias : {false, true}) {
    Tensor x = cr::randn({4, 3}, cr::kFloat64);
    Tensor w = leaf({5, 3});
    Tensor b = leaf({5});
    auto run = [&] {
      Tensor y = with_bias ? cr::addmm(b, x, w.t()) : cr::mm(x, w.t());
      (y * y).sum().backward();
    };
    run();
    // d/dw sum((x·wᵀ + b)²) = 2·(x·wᵀ + b)ᵀ·x
    Tensor y = with_bias ? cr::addmm(b.detach(), x, w.detach().t()) : cr::mm(x, w.detach().t());
    const std::vector<double> expected = values(cr::mm(y.t(), x) * 2.0);
    std::vector<double> got = values(w.grad());
    ASSERT_EQ(got.size(), expected.size());
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i], 1e-12) << i;
    EXPECT_TRUE(w.grad().is_contiguous());
    run();  // a second backward adds into the kept buffer
    got = values(w.grad());
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], 2 * expected[i], 1e-12) << i;
  }
}

}  // namespace
