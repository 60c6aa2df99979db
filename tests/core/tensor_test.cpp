#include <gtest/gtest.h>

#include <sstream>

#include "chainrule/chainrule.h"

namespace {

TEST(Tensor, FactoriesHaveShapeAndDtype) {
  cr::Tensor z = cr::zeros({2, 3});
  EXPECT_EQ(z.sizes(), (cr::Shape{2, 3}));
  EXPECT_EQ(z.dtype(), cr::kFloat32);
  EXPECT_TRUE(z.is_contiguous());
  EXPECT_EQ(z.numel(), 6);
  cr::Tensor o = cr::ones({4}, cr::kFloat64);
  EXPECT_EQ(o.data_ptr<double>()[3], 1.0);
}

}  // namespace
