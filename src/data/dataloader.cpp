// One Epoch per range-for: it owns the worker thread that builds batches into
// a bounded queue. The iterators share it; when the last one goes (the loop
// ended, broke, or threw) the Epoch stops its worker and joins it.

#include "chainrule/data/dataloader.h"

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <numeric>
#include <random>
#include <string>
#include <thread>
#include <utility>

#include "data/random.h"

namespace cr::data {

namespace detail {

class Epoch {
 public:
  Epoch(std::shared_ptr<const Dataset> dataset, const DataLoaderOptions& options, std::int64_t epoch,
        std::int64_t batches, const SourceLocation& loc)
      : dataset_(std::move(dataset)), options_(options), batches_(batches), loc_(loc) {
    const std::int64_t n = dataset_->size();
    order_.resize(static_cast<std::size_t>(n));
    std::iota(order_.begin(), order_.end(), std::int64_t{0});
    const auto seed = options_.seed();
    const auto e = static_cast<std::uint64_t>(epoch);
    // Separate streams for the order and the augmentations, both fixed by (seed, epoch).
    std::seed_seq order_seed{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32),
                             static_cast<std::uint32_t>(e), static_cast<std::uint32_t>(e >> 32), 0u};
    std::seed_seq augment_seed{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32),
                               static_cast<std::uint32_t>(e), static_cast<std::uint32_t>(e >> 32), 1u};
    augment_gen_.seed(augment_seed);
    if (options_.shuffle()) {
      Generator order_gen(order_seed);
      shuffle(order_, order_gen);
    }
    worker_ = std::thread([this] { run(); });
  }

  ~Epoch() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    not_full_.notify_all();
    worker_.join();
  }

  Epoch(const Epoch&) = delete;
  Epoch& operator=(const Epoch&) = delete;

  // Moves the next batch into current(); false at the end of the epoch.
  bool advance() {
    std::unique_lock<std::mutex> lock(mutex_);
    not_empty_.wait(lock, [this] { return !queue_.empty() || finished_; });
    if (!queue_.empty()) {
      current_ = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      not_full_.notify_one();
      return true;
    }
    done_ = true;
    current_ = {};
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
    return false;
  }

  Batch& current() { return current_; }
  bool done() const { return done_; }

 private:
  void run() {
    try {
      const std::int64_t n = dataset_->size();
      const std::int64_t bs = options_.batch_size();
      for (std::int64_t b = 0; b < batches_; ++b) {
        const std::int64_t begin = b * bs;
        const std::int64_t end = std::min(begin + bs, n);
        std::vector<std::int64_t> indices(order_.begin() + begin, order_.begin() + end);
        Batch batch = dataset_->get_batch(indices, loc_);
        if (options_.augment()) batch.data = options_.augment()(batch.data, augment_gen_);
        std::unique_lock<std::mutex> lock(mutex_);
        not_full_.wait(lock, [this] { return stop_ || static_cast<std::int64_t>(queue_.size()) < options_.prefetch(); });
        if (stop_) break;
        queue_.push_back(std::move(batch));
        lock.unlock();
        not_empty_.notify_one();
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      error_ = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      finished_ = true;
    }
    not_empty_.notify_all();
  }

  std::shared_ptr<const Dataset> dataset_;
  DataLoaderOptions options_;
  std::int64_t batches_;
  SourceLocation loc_;
  std::vector<std::int64_t> order_;
  Generator augment_gen_;

  std::mutex mutex_;
  std::condition_variable not_full_, not_empty_;
  std::deque<Batch> queue_;
  bool stop_ = false;
  bool finished_ = false;
  std::exception_ptr error_;

  // Touched by the consuming thread only.
  Batch current_;
  bool done_ = false;

  std::thread worker_;  // last: starts after every member it uses exists
};

}  // namespace detail

Batch& DataLoader::Iterator::operator*() const {
  if (!epoch_ || epoch_->done())
    throw_error("DataLoader", "dereferenced an iterator past the end of the epoch", SourceLocation::current());
  return epoch_->current();
}

DataLoader::Iterator& DataLoader::Iterator::operator++() {
  if (epoch_ && !epoch_->done()) epoch_->advance();
  return *this;
}

bool DataLoader::Iterator::done() const { return !epoch_ || epoch_->done(); }

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options, SourceLocation loc)
    : dataset_(std::move(dataset)), options_(std::move(options)), loc_(loc) {
  if (!dataset_) throw_error("DataLoader", "got a null dataset", loc);
  if (options_.batch_size() < 1)
    throw_error("DataLoader", "batch_size must be at least 1, got " + std::to_string(options_.batch_size()), loc);
  if (options_.prefetch() < 1)
    throw_error("DataLoader", "prefetch must be at least 1, got " + std::to_string(options_.prefetch()), loc);
}

std::int64_t DataLoader::size() const {
  const std::int64_t n = dataset_->size();
  const std::int64_t bs = options_.batch_size();
  return options_.drop_last() ? n / bs : (n + bs - 1) / bs;
}

DataLoader::Iterator DataLoader::begin() {
  auto epoch = std::make_shared<detail::Epoch>(dataset_, options_, next_epoch_++, size(), loc_);
  epoch->advance();
  return Iterator(std::move(epoch));
}

}  // namespace cr::data
