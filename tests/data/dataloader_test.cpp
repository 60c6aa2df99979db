// TensorDataset, DataLoader (order, reproducibility, drop_last, prefetch
// thread shutdown, worker exceptions) and the image augmentations.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <numeric>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "chainrule/data.h"
#include "support/tensor_testing.h"

namespace cr::data {
namespace {

using cr::testing::expect_error;
using cr::testing::values;

// Samples i = 0..n-1 with data [i, 10 i] and target i.
TensorDataset numbered(std::int64_t n) {
  const Tensor i = arange(0, static_cast<double>(n), 1, kFloat32);
  const Tensor data = stack({i, mul(i, 10.0)}, 1);
  return TensorDataset(data, arange(n));
}

// The targets of every batch of one epoch, in order.
std::vector<std::vector<std::int64_t>> epoch_targets(DataLoader& loader) {
  std::vector<std::vector<std::int64_t>> out;
  for (Batch& batch : loader) {
    std::vector<std::int64_t> t;
    for (double v : values(batch.target)) t.push_back(static_cast<std::int64_t>(v));
    out.push_back(t);
  }
  return out;
}

std::vector<std::int64_t> flat(const std::vector<std::vector<std::int64_t>>& batches) {
  std::vector<std::int64_t> all;
  for (const auto& b : batches) all.insert(all.end(), b.begin(), b.end());
  return all;
}

TEST(TensorDataset, IndexesAlongDimZero) {
  TensorDataset ds = numbered(5);
  EXPECT_EQ(ds.size(), 5);
  const Batch b = ds.get_batch({3, 1, 3});
  EXPECT_EQ(b.data.sizes(), Shape({3, 2}));
  EXPECT_EQ(values(b.data), (std::vector<double>{3, 30, 1, 10, 3, 30}));
  EXPECT_EQ(values(b.target), (std::vector<double>{3, 1, 3}));
  const Example e = ds.get(4);
  EXPECT_EQ(e.data.sizes(), Shape({2}));
  EXPECT_EQ(e.target.item<std::int64_t>(), 4);

  TensorDataset no_target(ones({4, 3}));
  EXPECT_FALSE(no_target.get_batch({0}).target.defined());

  Tensor x = ones({3}, kFloat64).requires_grad_();
  TensorDataset detached(x);
  EXPECT_FALSE(detached.get_batch({0, 1}).data.requires_grad());
}

TEST(TensorDataset, Errors) {
  expect_error([] { TensorDataset ds(Tensor{}); }, "TensorDataset", "undefined");
  expect_error([] { TensorDataset ds(scalar_tensor(1)); }, "TensorDataset", "needs a dim 0");
  expect_error([] { TensorDataset ds(ones({3, 2}), arange(4)); }, "TensorDataset", "different numbers of samples");
  TensorDataset ds = numbered(3);
  expect_error([&] { ds.get_batch({0, 5}); }, "get_batch", "index 5 at position 1 is out of range");
}

TEST(DataLoader, InOrderWithoutShuffle) {
  DataLoader loader(numbered(10), DataLoaderOptions(4));
  EXPECT_EQ(loader.size(), 3);
  const auto batches = epoch_targets(loader);
  EXPECT_EQ(batches, (std::vector<std::vector<std::int64_t>>{{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9}}));
  for (Batch& batch : loader) {  // data and target stay paired
    const auto d = values(batch.data);
    const auto t = values(batch.target);
    for (std::size_t i = 0; i < t.size(); ++i) EXPECT_EQ(d[2 * i + 1], 10 * t[i]);
  }
}

TEST(DataLoader, ShuffledEpochCoversEverySampleOnce) {
  DataLoader loader(numbered(50), DataLoaderOptions(7).shuffle(true).seed(3));
  EXPECT_EQ(loader.size(), 8);
  for (int epoch = 0; epoch < 3; ++epoch) {
    const auto batches = epoch_targets(loader);
    ASSERT_EQ(batches.size(), 8u);
    for (std::size_t b = 0; b < 7; ++b) EXPECT_EQ(batches[b].size(), 7u);
    EXPECT_EQ(batches[7].size(), 1u);  // the partial last batch
    auto all = flat(batches);
    EXPECT_EQ(std::set<std::int64_t>(all.begin(), all.end()).size(), 50u);
    EXPECT_EQ(*std::min_element(all.begin(), all.end()), 0);
    EXPECT_EQ(*std::max_element(all.begin(), all.end()), 49);
  }
}

TEST(DataLoader, SeededOrderIsReproducibleAndChangesEachEpoch) {
  auto options = DataLoaderOptions(8).shuffle(true).seed(42);
  DataLoader a(numbered(40), options), b(numbered(40), options);
  const auto a0 = flat(epoch_targets(a)), a1 = flat(epoch_targets(a));
  const auto b0 = flat(epoch_targets(b)), b1 = flat(epoch_targets(b));
  EXPECT_EQ(a0, b0);
  EXPECT_EQ(a1, b1);
  EXPECT_NE(a0, a1);
  std::vector<std::int64_t> sorted(40);
  std::iota(sorted.begin(), sorted.end(), 0);
  EXPECT_NE(a0, sorted);

  DataLoader c(numbered(40), DataLoaderOptions(8).shuffle(true).seed(43));
  EXPECT_NE(flat(epoch_targets(c)), a0);

  // The global generator plays no part.
  manual_seed(1);
  DataLoader d(numbered(40), options);
  manual_seed(2);
  EXPECT_EQ(flat(epoch_targets(d)), a0);

  // Resuming at epoch 1 replays epoch 1.
  DataLoader e(numbered(40), options);
  e.set_epoch(1);
  EXPECT_EQ(flat(epoch_targets(e)), a1);
  EXPECT_EQ(e.epoch(), 2);
}

TEST(DataLoader, DropLast) {
  DataLoader loader(numbered(50), DataLoaderOptions(7).shuffle(true).drop_last(true));
  EXPECT_EQ(loader.size(), 7);
  const auto batches = epoch_targets(loader);
  ASSERT_EQ(batches.size(), 7u);
  for (const auto& b : batches) EXPECT_EQ(b.size(), 7u);
  DataLoader exact(numbered(14), DataLoaderOptions(7).drop_last(true));
  EXPECT_EQ(epoch_targets(exact).size(), 2u);
  DataLoader too_small(numbered(3), DataLoaderOptions(7).drop_last(true));
  EXPECT_EQ(too_small.size(), 0);
  EXPECT_TRUE(epoch_targets(too_small).empty());
  DataLoader empty(TensorDataset(ones({0, 2})), DataLoaderOptions(4));
  EXPECT_TRUE(epoch_targets(empty).empty());
}

// Counts the batches it has been asked for; can be told to fail at one.
class CountingDataset : public Dataset {
 public:
  explicit CountingDataset(std::int64_t n, std::int64_t fail_at = -1) : n_(n), fail_at_(fail_at) {}
  std::int64_t size() const override { return n_; }
  Batch get_batch(const std::vector<std::int64_t>& indices, SourceLocation loc = SourceLocation::current()) const override {
    check_indices(indices, loc);
    if (calls_++ == fail_at_) throw_error("get_batch", "the disk is on fire", loc);
    std::vector<std::int64_t> copy = indices;
    return {tensor(copy, {static_cast<std::int64_t>(copy.size())}, kInt64).to(kFloat32), tensor(copy)};
  }
  std::int64_t calls() const { return calls_; }

 private:
  std::int64_t n_, fail_at_;
  mutable std::atomic<std::int64_t> calls_{0};
};

TEST(DataLoader, EarlyBreakStopsTheWorker) {
  auto dataset = std::make_shared<CountingDataset>(1000);
  DataLoader loader(dataset, DataLoaderOptions(1).prefetch(2));
  EXPECT_EQ(loader.size(), 1000);
  int seen = 0;
  for (Batch& batch : loader) {
    EXPECT_EQ(values(batch.target)[0], seen);
    if (++seen == 3) break;
  }
  // The worker is joined when the loop's iterator dies: at most the batches
  // used, the queue's two and one in hand were ever made, and no more come.
  const std::int64_t made = dataset->calls();
  EXPECT_LE(made, 3 + 2 + 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(dataset->calls(), made);
  // The next epoch starts afresh.
  seen = 0;
  for (Batch& batch : loader) {
    EXPECT_EQ(values(batch.target)[0], seen);
    if (++seen == 2) break;
  }
  EXPECT_EQ(seen, 2);
}

TEST(DataLoader, DestroyedMidEpochWithoutHanging) {
  auto dataset = std::make_shared<CountingDataset>(500);
  auto loader = std::make_unique<DataLoader>(dataset, DataLoaderOptions(2).prefetch(1));
  auto it = loader->begin();
  ++it;
  loader.reset();  // the iterator keeps its epoch alive
  EXPECT_EQ(values(it->target), (std::vector<double>{2, 3}));
  it = {};  // and its end joins the worker
  const std::int64_t made = dataset->calls();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(dataset->calls(), made);
}

TEST(DataLoader, WorkerExceptionReachesTheLoop) {
  DataLoader loader(std::make_shared<CountingDataset>(20, /*fail_at=*/3), DataLoaderOptions(2));
  int seen = 0;
  try {
    for (Batch& batch : loader) {
      (void)batch;
      ++seen;
    }
    ADD_FAILURE() << "the worker's exception was lost";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the disk is on fire"), std::string::npos) << e.what();
  }
  EXPECT_EQ(seen, 3);  // the batches made before the failure still arrive

  // A failure in the very first batch surfaces from begin().
  DataLoader first(std::make_shared<CountingDataset>(4, 0), DataLoaderOptions(2));
  EXPECT_THROW(first.begin(), Error);

  // And one in the augmentation function.
  DataLoader augmenting(numbered(8), DataLoaderOptions(2).augment([](const Tensor& x, Generator&) -> Tensor {
    if (x.size(0) > 0) throw std::runtime_error("augment failed");
    return x;
  }));
  EXPECT_THROW(epoch_targets(augmenting), std::runtime_error);
}

TEST(DataLoader, AugmentationIsAppliedAndSeeded) {
  Tensor images = rand({12, 1, 4, 4});
  auto augment = [](const Tensor& x, Generator& g) { return random_crop(x, 1, g); };
  auto run = [&](std::uint64_t seed, int epochs) {
    DataLoader loader(TensorDataset(images, arange(12)), DataLoaderOptions(5).seed(seed).augment(augment));
    std::vector<double> out;
    for (int e = 0; e < epochs; ++e) {
      out.clear();
      for (Batch& b : loader) {
        EXPECT_EQ(b.data.sizes(), Shape({b.target.size(0), 1, 4, 4}));
        for (double v : values(b.data)) out.push_back(v);
      }
    }
    return out;
  };
  const auto a = run(5, 1);
  EXPECT_NE(a, values(images));  // something was shifted
  EXPECT_EQ(a, run(5, 1));
  EXPECT_NE(a, run(6, 1));
  EXPECT_NE(a, run(5, 2));  // new draws each epoch
}

TEST(DataLoader, Errors) {
  expect_error([] { DataLoader l(numbered(4), DataLoaderOptions(0)); }, "DataLoader", "batch_size must be at least 1, got 0");
  expect_error([] { DataLoader l(numbered(4), DataLoaderOptions(2).prefetch(0)); }, "DataLoader", "prefetch");
  expect_error([] { DataLoader l(std::shared_ptr<const Dataset>{}); }, "DataLoader", "null dataset");
}

// ---- augmentations ------------------------------------------------------------------

TEST(Transforms, HflipMirrorsEachRow) {
  Tensor x = arange(0, 12, 1, kFloat32).reshape({1, 2, 2, 3});
  EXPECT_EQ(values(hflip(x)), (std::vector<double>{2, 1, 0, 5, 4, 3, 8, 7, 6, 11, 10, 9}));
  Tensor y = randn({3, 2, 5, 4}, kFloat64).transpose(2, 3);  // non-contiguous, float64
  EXPECT_EQ(values(hflip(hflip(y))), values(y));
  EXPECT_EQ(hflip(y).dtype(), kFloat64);
}

TEST(Transforms, RandomFlipIsSeededAndItsOwnInverse) {
  Tensor x = randn({16, 3, 4, 5});
  Generator g1(7), g2(7);
  const Tensor once = random_horizontal_flip(x, g1);
  EXPECT_EQ(values(random_horizontal_flip(once, g2)), values(x));  // same draws undo it
  Generator g3(7);
  EXPECT_EQ(values(random_horizontal_flip(x, g3)), values(once));
  // Some images flipped, some not.
  int flipped = 0;
  for (int i = 0; i < 16; ++i) flipped += values(once.select(0, i)) == values(hflip(x).select(0, i));
  EXPECT_GT(flipped, 0);
  EXPECT_LT(flipped, 16);
  Generator g(1);
  EXPECT_EQ(values(random_horizontal_flip(x, g, 0.0)), values(x));
  EXPECT_EQ(values(random_horizontal_flip(x, g, 1.0)), values(hflip(x)));
}

TEST(Transforms, RandomCropShiftsWithZeroPadding) {
  const std::int64_t b = 20, c = 2, h = 5, w = 6, pad = 2;
  Tensor x = arange(1, 1 + b * c * h * w, 1, kFloat32).reshape({b, c, h, w});  // no zeros inside
  Generator gen(11);
  const Tensor y = random_crop(x, pad, gen);
  EXPECT_EQ(y.sizes(), x.sizes());
  const auto xv = values(x), yv = values(y);
  std::set<std::pair<std::int64_t, std::int64_t>> shifts;
  for (std::int64_t i = 0; i < b; ++i) {
    // Exactly one shift (dy, dx) within the padding explains the whole image.
    int matches = 0;
    for (std::int64_t dy = -pad; dy <= pad; ++dy)
      for (std::int64_t dx = -pad; dx <= pad; ++dx) {
        bool ok = true;
        for (std::int64_t ch = 0; ch < c && ok; ++ch)
          for (std::int64_t r = 0; r < h && ok; ++r)
            for (std::int64_t col = 0; col < w && ok; ++col) {
              const std::int64_t sr = r + dy, sc = col + dx;
              const double expected =
                  (sr < 0 || sr >= h || sc < 0 || sc >= w) ? 0.0 : xv[((i * c + ch) * h + sr) * w + sc];
              ok = yv[((i * c + ch) * h + r) * w + col] == expected;
            }
        if (ok) ++matches, shifts.insert({dy, dx});
      }
    EXPECT_EQ(matches, 1) << "image " << i;
  }
  EXPECT_GT(shifts.size(), 5u);  // the offsets vary
  Generator again(11), other(12);
  EXPECT_EQ(values(random_crop(x, pad, again)), yv);
  EXPECT_NE(values(random_crop(x, pad, other)), yv);
  Generator g(0);
  EXPECT_EQ(values(random_crop(x, 0, g)), xv);
  // Padding beyond the image can shift it out entirely; the shape holds.
  EXPECT_EQ(random_crop(x, 10, g).sizes(), x.sizes());
}

TEST(Transforms, Errors) {
  Generator g(0);
  expect_error([&] { hflip(ones({2, 3, 4})); }, "hflip", "expected an image batch [B, C, H, W]");
  expect_error([&] { random_crop(ones({1, 1, 2, 2}, kInt64), 1, g); }, "random_crop", "int64");
  expect_error([&] { random_crop(ones({1, 1, 2, 2}), -1, g); }, "random_crop", "padding must be >= 0");
  expect_error([&] { random_horizontal_flip(ones({1, 1, 2, 2}), g, 1.5); }, "random_horizontal_flip", "p must lie");
  expect_error([&] { hflip(ones({1, 1, 2, 2}).requires_grad_()); }, "hflip", "requires grad");
}

}  // namespace
}  // namespace cr::data
