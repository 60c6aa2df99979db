#pragma once
// Storage: a refcounted, 64-byte-aligned buffer with a version counter.
// Views share one Storage; every in-place write bumps its version, which is
// how autograd notices that a tensor it saved for backward was modified.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

namespace cr {

class Storage {
 public:
  static constexpr std::size_t kAlignment = 64;

  /// A fresh buffer of `nbytes` (contents uninitialised).
  static std::shared_ptr<Storage> allocate(std::size_t nbytes);
  /// Wraps memory the caller owns; `deleter` (may be empty) runs when the last view dies.
  static std::shared_ptr<Storage> wrap(void* data, std::size_t nbytes,
                                       std::function<void(void*)> deleter);

  Storage() = default;
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage();

  void* data() const { return data_; }
  std::size_t nbytes() const { return nbytes_; }
  std::uint64_t version() const { return version_; }
  void bump_version() { ++version_; }

 private:
  // Small tensors (scalars, biases) live inside the Storage object itself:
  // one allocation instead of two on the hottest path of the engine. The
  // buffer is over-sized and aligned by hand: an alignas(64) member would send
  // every Storage through the allocator's slow aligned path.
  static constexpr std::size_t kInlineBytes = 64;

  void* data_ = nullptr;
  std::size_t nbytes_ = 0;
  std::uint64_t version_ = 0;
  bool heap_owned_ = false;
  bool cached_ = false;  // from (and back to) the large-block cache
  std::function<void(void*)> deleter_;
  std::byte inline_[kInlineBytes + kAlignment];
};

}  // namespace cr
