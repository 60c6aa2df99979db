#include <gtest/gtest.h>

#include "chainrule/chainrule.h"

namespace {

TEST(Engine, MulGradient) {
  cr::Tensor x = cr::tensor({2.0, 3.0}).requires_grad_();
  cr::Tensor y = (x * x).sum();
  y.backward();
  EXPECT_DOUBLE_EQ(x.grad().data_ptr<float>()[0], 4.0);
  EXPECT_DOUBLE_EQ(x.grad().data_ptr<float>()[1], 6.0);
}

}  // namespace
