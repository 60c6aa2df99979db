// Storage: alignment, the version counter and the reuse of large blocks.

#include <gtest/gtest.h>

#include "chainrule/chainrule.h"
#include "core/block_cache.h"

namespace {

TEST(Storage, LargeBlocksAreReusedNotReturnedToTheSystem) {
  cr::detail::clear_block_cache();
  const std::int64_t n = 100000;  // 400 KB of float32: above the cache threshold
  void* first = nullptr;
  {
    cr::Tensor t = cr::empty({n});
    first = t.raw_data();
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(first) % 64, 0u);
  }
  EXPECT_GE(cr::detail::cached_block_bytes(), static_cast<std::size_t>(n * 4));
  cr::Tensor again = cr::empty({n});
  EXPECT_EQ(again.raw_data(), first);  // same size: the cached block comes back
  EXPECT_EQ(cr::detail::cached_block_bytes(), 0u);
}

TEST(Storage, CacheIsBounded) {
  cr::detail::clear_block_cache();
  {
    std::vector<cr::Tensor> many;
    for (int i = 0; i < 40; ++i) many.push_back(cr::empty({std::int64_t{2} << 20}));  // 8 MB each
  }
  EXPECT_LE(cr::detail::cached_block_bytes(), cr::detail::kMaxCachedBytes);
  cr::detail::clear_block_cache();
  EXPECT_EQ(cr::detail::cached_block_bytes(), 0u);
}

TEST(Storage, SmallTensorsLiveInlineAndAligned) {
  for (int n = 1; n <= 16; ++n)
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(cr::empty({n}).raw_data()) % 64, 0u) << n;
}

}  // namespace
