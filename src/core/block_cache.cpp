#include "core/block_cache.h"

#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace cr::detail {

namespace {

constexpr std::size_t kPage = 4096;

std::size_t rounded(std::size_t bytes) { return (bytes + kPage - 1) / kPage * kPage; }

struct BlockCache {
  std::mutex mutex;
  std::unordered_map<std::size_t, std::vector<void*>> free_blocks;  // by rounded size
  std::size_t cached_bytes = 0;

  ~BlockCache() { clear(); }
  void clear() {
    for (auto& [size, blocks] : free_blocks)
      for (void* block : blocks) std::free(block);
    free_blocks.clear();
    cached_bytes = 0;
  }
};

BlockCache& cache() {
  static BlockCache instance;  // lives until exit: storages freed later still find it
  return instance;
}

}  // namespace

void* acquire_block(std::size_t bytes) {
  const std::size_t size = rounded(bytes);
  {
    BlockCache& c = cache();
    std::lock_guard lock(c.mutex);
    auto it = c.free_blocks.find(size);
    if (it != c.free_blocks.end() && !it->second.empty()) {
      void* block = it->second.back();
      it->second.pop_back();
      c.cached_bytes -= size;
      return block;
    }
  }
  void* block = std::aligned_alloc(64, size);
  if (!block) throw std::bad_alloc();
  return block;
}

void release_block(void* block, std::size_t bytes) {
  const std::size_t size = rounded(bytes);
  BlockCache& c = cache();
  {
    std::lock_guard lock(c.mutex);
    if (c.cached_bytes + size <= kMaxCachedBytes) {
      c.free_blocks[size].push_back(block);
      c.cached_bytes += size;
      return;
    }
  }
  std::free(block);
}

void clear_block_cache() {
  BlockCache& c = cache();
  std::lock_guard lock(c.mutex);
  c.clear();
}

std::size_t cached_block_bytes() {
  BlockCache& c = cache();
  std::lock_guard lock(c.mutex);
  return c.cached_bytes;
}

}  // namespace cr::detail
