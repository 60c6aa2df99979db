#pragma once
// DataLoader: iterates over a dataset in batches, with range-for:
//
//   cr::data::DataLoader loader(std::move(train_set),
//       cr::data::DataLoaderOptions(128).shuffle(true).seed(1).drop_last(true));
//   for (int epoch = 0; epoch < 10; ++epoch)
//     for (cr::data::Batch& batch : loader) { ... batch.data, batch.target ... }
//
// Each range-for (each begin()) is one epoch. Its order comes from its own
// generator, seeded by (seed, epoch number): reproducible, different in every
// epoch, independent of the global cr::manual_seed. A background thread builds
// the next batches (a bounded queue of `prefetch` of them) while the current
// one is used; an exception thrown there is rethrown by the loop. Leaving the
// loop early (break, exception) stops and joins that thread.

#include <concepts>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>

#include "chainrule/data/dataset.h"
#include "chainrule/data/transforms.h"

namespace cr::data {

/// Applied by the loader's thread to each batch's data, e.g.
///   [](const Tensor& x, Generator& g) { return random_horizontal_flip(random_crop(x, 4, g), g); }
using Augment = std::function<Tensor(const Tensor& data, Generator& gen)>;

/// LibTorch-style options: DataLoaderOptions(64).shuffle(true).seed(7).
class DataLoaderOptions {
 public:
  DataLoaderOptions(std::int64_t batch_size = 1) : batch_size_(batch_size) {}  // NOLINT: implicit, as in LibTorch

  DataLoaderOptions& batch_size(std::int64_t v) { batch_size_ = v; return *this; }
  /// Visit samples in a new random order every epoch.
  DataLoaderOptions& shuffle(bool v) { shuffle_ = v; return *this; }
  DataLoaderOptions& seed(std::uint64_t v) { seed_ = v; return *this; }
  /// Skip the last batch when it would be smaller than batch_size.
  DataLoaderOptions& drop_last(bool v) { drop_last_ = v; return *this; }
  DataLoaderOptions& augment(Augment v) { augment_ = std::move(v); return *this; }
  /// Batches prepared ahead of the one in use (at least 1).
  DataLoaderOptions& prefetch(std::int64_t v) { prefetch_ = v; return *this; }

  std::int64_t batch_size() const { return batch_size_; }
  bool shuffle() const { return shuffle_; }
  std::uint64_t seed() const { return seed_; }
  bool drop_last() const { return drop_last_; }
  const Augment& augment() const { return augment_; }
  std::int64_t prefetch() const { return prefetch_; }

 private:
  std::int64_t batch_size_;
  bool shuffle_ = false;
  std::uint64_t seed_ = 0;
  bool drop_last_ = false;
  Augment augment_;
  std::int64_t prefetch_ = 2;
};

namespace detail {
class Epoch;
}

class DataLoader {
 public:
  struct Sentinel {};

  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;
    using pointer = Batch*;
    using reference = Batch&;

    Iterator() = default;
    /// The current batch; valid until the iterator advances.
    Batch& operator*() const;
    Batch* operator->() const { return &**this; }
    /// Waits for the next batch; rethrows an exception from the loader's thread.
    Iterator& operator++();
    void operator++(int) { ++*this; }
    friend bool operator==(const Iterator& it, Sentinel) { return it.done(); }

   private:
    friend class DataLoader;
    explicit Iterator(std::shared_ptr<detail::Epoch> epoch) : epoch_(std::move(epoch)) {}
    bool done() const;
    std::shared_ptr<detail::Epoch> epoch_;
  };

  DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options = {}, CR_LOC);
  /// Takes the dataset (move it in: MNIST holds 47 MB).
  template <class D>
    requires std::derived_from<D, Dataset>
  DataLoader(D dataset, DataLoaderOptions options = {}, CR_LOC)
      : DataLoader(std::make_shared<const D>(std::move(dataset)), std::move(options), loc) {}

  /// Starts the next epoch and waits for its first batch.
  Iterator begin();
  Sentinel end() const { return {}; }

  /// Batches per epoch.
  std::int64_t size() const;
  /// The number the next begin() gives its epoch (0 at first); set it to resume
  /// a run with the same order it would have had.
  std::int64_t epoch() const { return next_epoch_; }
  void set_epoch(std::int64_t epoch) { next_epoch_ = epoch; }

  const Dataset& dataset() const { return *dataset_; }
  const DataLoaderOptions& options() const { return options_; }

 private:
  std::shared_ptr<const Dataset> dataset_;
  DataLoaderOptions options_;
  std::int64_t next_epoch_ = 0;
  SourceLocation loc_;
};

}  // namespace cr::data
