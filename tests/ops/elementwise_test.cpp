#include <gtest/gtest.h>

#include "chainrule/chainrule.h"

namespace {

TEST(Elementwise, AddBroadcasts) {
  cr::Tensor a = cr::ones({2, 3});
  cr::Tensor b = cr::tensor({1.0, 2.0, 3.0});
  cr::Tensor c = a + b;
  EXPECT_EQ(c.sizes(), (cr::Shape{2, 3}));
  EXPECT_FLOAT_EQ(c.data_ptr<float>()[5], 4.0f);
}

}  // namespace
