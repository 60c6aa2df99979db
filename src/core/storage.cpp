#include "chainrule/core/storage.h"

#include <cstdint>
#include <cstdlib>
#include <new>

#include "core/block_cache.h"

namespace cr {

std::shared_ptr<Storage> Storage::allocate(std::size_t nbytes) {
  auto storage = std::make_shared<Storage>();
  storage->nbytes_ = nbytes;
  if (nbytes <= kInlineBytes) {
    const auto address = reinterpret_cast<std::uintptr_t>(storage->inline_);
    storage->data_ = storage->inline_ + ((kAlignment - address % kAlignment) % kAlignment);
    return storage;
  }
  if (nbytes >= detail::kCachedBlockMin) {
    storage->data_ = detail::acquire_block(nbytes);
    storage->cached_ = true;
    return storage;
  }
  // Round up: aligned_alloc wants a multiple of the alignment.
  std::size_t rounded = (nbytes + kAlignment - 1) / kAlignment * kAlignment;
  storage->data_ = std::aligned_alloc(kAlignment, rounded);
  if (!storage->data_) throw std::bad_alloc();
  storage->heap_owned_ = true;
  return storage;
}

std::shared_ptr<Storage> Storage::wrap(void* data, std::size_t nbytes,
                                       std::function<void(void*)> deleter) {
  auto storage = std::make_shared<Storage>();
  storage->data_ = data;
  storage->nbytes_ = nbytes;
  storage->deleter_ = std::move(deleter);
  return storage;
}

Storage::~Storage() {
  if (cached_) detail::release_block(data_, nbytes_);
  else if (heap_owned_) std::free(data_);
  else if (deleter_) deleter_(data_);
}

}  // namespace cr
