#pragma once
// A cache of large, 64-byte-aligned buffers for reuse.
//
// A training step allocates the same sizes every iteration. glibc hands large
// blocks (≥ 128 KiB) straight back to the kernel, so without a cache every
// step pays to fault the same pages in again (5–10% of a CNN step here).
// Blocks are matched by size rounded to the page; the cache holds at most
// kMaxCachedBytes and frees beyond that.

#include <cstddef>

namespace cr::detail {

/// Buffers below this size go to malloc directly, which already reuses them.
inline constexpr std::size_t kCachedBlockMin = 64 * 1024;
inline constexpr std::size_t kMaxCachedBytes = std::size_t{256} << 20;

/// A buffer of at least `bytes`, aligned to 64; `bytes` must be >= kCachedBlockMin.
void* acquire_block(std::size_t bytes);
/// Returns a buffer from acquire_block (with the same `bytes`) for reuse.
void release_block(void* block, std::size_t bytes);
/// Frees every cached buffer (tests; a program about to change its working set).
void clear_block_cache();
/// Bytes currently held in the cache.
std::size_t cached_block_bytes();

}  // namespace cr::detail
