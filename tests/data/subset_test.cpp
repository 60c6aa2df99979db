#include <gtest/gtest.h>

#include "chainrule/chainrule.h"
#include "chainrule/data.h"
#include "support/tensor_testing.h"

namespace {

TEST(Subset, ExposesOnlyTheFirstSamples) {
  auto full = std::make_shared<cr::data::TensorDataset>(cr::arange(0, 10, 1, cr::kFloat32).reshape({10, 1}),
                                                       cr::arange(10));
  cr::data::Subset first(full, 4);
  EXPECT_EQ(first.size(), 4);
  cr::data::Batch b = first.get_batch({3, 0});
  EXPECT_EQ(cr::testing::values(b.target), (std::vector<double>{3, 0}));
  cr::testing::expect_error([&] { (void)first.get_batch({4}); }, "get_batch", "4");
  cr::testing::expect_error([&] { cr::data::Subset too_many(full, 11); }, "Subset", "11");
}

}  // namespace
