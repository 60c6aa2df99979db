// IDX files (raw and gzipped), every way one can be malformed, and the
// MNIST / Fashion-MNIST datasets built on them.

#include <zlib.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "chainrule/data.h"
#include "support/temp_dir.h"
#include "support/tensor_testing.h"

namespace cr::data {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;
using cr::testing::expect_error;
using cr::testing::values;

using cr::testing::TempDir;

void write_raw(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

void write_gz(const std::string& path, const Bytes& bytes) {
  gzFile f = gzopen(path.c_str(), "wb9");
  ASSERT_NE(f, nullptr);
  if (!bytes.empty()) ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
  ASSERT_EQ(gzclose(f), Z_OK);
}

Bytes read_raw(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

// An IDX file: magic 00 00 <type> <ndims>, big-endian dims, payload.
Bytes idx(const std::vector<std::uint32_t>& dims, const Bytes& payload, std::uint8_t type = 0x08) {
  Bytes b = {0, 0, type, static_cast<std::uint8_t>(dims.size())};
  for (std::uint32_t d : dims)
    for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<std::uint8_t>(d >> shift));
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

Bytes iota_bytes(std::size_t n, std::uint8_t start = 0) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(start + i);
  return b;
}

// Writes `bytes` raw and gzipped and expects read_idx to fail on both with `fragment`.
void expect_both_fail(const TempDir& dir, const Bytes& bytes, const std::string& fragment) {
  for (bool gz : {false, true}) {
    const std::string path = dir / (gz ? "bad.gz" : "bad");
    if (gz) write_gz(path, bytes);
    else write_raw(path, bytes);
    SCOPED_TRACE(gz ? "gzipped" : "raw");
    expect_error([&] { read_idx(path); }, "read_idx", fragment);
    expect_error([&] { read_idx(path); }, "read_idx", path);  // names the file
  }
}

TEST(Idx, ReadsRawAndGzippedFilesExactly) {
  TempDir dir;
  const Bytes images = idx({2, 3, 2}, iota_bytes(12, 250));  // wraps past 255: 250..255, 0..5
  const Bytes labels = idx({4}, {9, 0, 3, 255});
  write_raw(dir / "images", images);
  write_gz(dir / "images.gz", images);
  write_gz(dir / "labels.gz", labels);
  for (const std::string name : {"images", "images.gz"}) {
    const IdxArray a = read_idx(dir / name);
    EXPECT_EQ(a.dims, (std::vector<std::int64_t>{2, 3, 2})) << name;
    EXPECT_EQ(a.data, iota_bytes(12, 250)) << name;
  }
  const IdxArray l = read_idx(dir / "labels.gz");
  EXPECT_EQ(l.dims, (std::vector<std::int64_t>{4}));
  EXPECT_EQ(l.data, (Bytes{9, 0, 3, 255}));
  // The gzip magic decides, not the name.
  write_gz(dir / "no_suffix", labels);
  EXPECT_EQ(read_idx(dir / "no_suffix").data, (Bytes{9, 0, 3, 255}));
}

TEST(Idx, ReadsALargeGzippedFileAcrossChunks) {
  TempDir dir;
  Bytes payload(5'000'000);  // more than one 4 MiB read
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<std::uint8_t>((i * 7919) >> 3);
  write_gz(dir / "big.gz", idx({5000, 1000}, payload));
  const IdxArray a = read_idx(dir / "big.gz");
  EXPECT_EQ(a.dims, (std::vector<std::int64_t>{5000, 1000}));
  EXPECT_EQ(a.data, payload);
}

TEST(Idx, EmptyDimsHoldNoData) {
  TempDir dir;
  write_gz(dir / "empty.gz", idx({0, 28, 28}, {}));
  const IdxArray a = read_idx(dir / "empty.gz");
  EXPECT_EQ(a.dims, (std::vector<std::int64_t>{0, 28, 28}));
  EXPECT_TRUE(a.data.empty());
}

TEST(Idx, MissingFileOrDirectory) {
  TempDir dir;
  expect_error([&] { read_idx(dir / "nope.gz"); }, "read_idx", "no such file");
  expect_error([&] { read_idx(dir.str()); }, "read_idx", "not a regular file");
}

TEST(Idx, WrongMagic) {
  TempDir dir;
  Bytes b = idx({2}, {1, 2});
  b[0] = 0x12;
  expect_both_fail(dir, b, "wrong magic 0x12 0x00 0x08 0x01");
  expect_both_fail(dir, idx({}, {}), "wrong magic");  // zero dims
  expect_both_fail(dir, {'P', 'K', 3, 4, 0, 0, 0, 0}, "not an IDX file");
}

TEST(Idx, UnsupportedTypeCode) {
  TempDir dir;
  expect_both_fail(dir, idx({1}, {0, 0, 0, 0}, 0x0D), "unsupported type code 0x0d (float32)");
  expect_both_fail(dir, idx({1}, {0}, 0x42), "unsupported type code 0x42");
}

TEST(Idx, HostileDimsAreRejectedBeforeAllocating) {
  TempDir dir;
  // The product overflows 64 bits.
  expect_both_fail(dir, idx({0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, {1, 2, 3}), "describe more than 4294967296 bytes");
  // No overflow, but past the bound.
  expect_both_fail(dir, idx({65536, 65537}, {1, 2, 3}), "describe more than");
  // At the bound, yet the file holds three bytes: truncated, without reading gigabytes.
  expect_both_fail(dir, idx({65536, 65536}, {1, 2, 3}), "need 4294967296 bytes of data, the file holds 3");
}

TEST(Idx, TruncatedHeaderOrData) {
  TempDir dir;
  expect_both_fail(dir, {0, 0}, "ends inside the 4-byte IDX magic");
  expect_both_fail(dir, {0, 0, 8, 3, 0, 0, 0, 2, 0, 0}, "ends inside the header's 3 dims");
  expect_both_fail(dir, idx({2, 5}, iota_bytes(7)), "need 10 bytes of data, the file holds 7");
}

TEST(Idx, TrailingGarbage) {
  TempDir dir;
  expect_both_fail(dir, idx({2, 2}, iota_bytes(6)), "trailing garbage: 2 bytes after the data of dims [2, 2]");
}

TEST(Idx, DamagedGzipStream) {
  TempDir dir;
  Bytes payload(4000);
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<std::uint8_t>(i * i % 251);
  write_gz(dir / "good.gz", idx({4000}, payload));
  const Bytes gz = read_raw(dir / "good.gz");

  Bytes cut(gz.begin(), gz.begin() + static_cast<std::ptrdiff_t>(gz.size() / 2));
  write_raw(dir / "cut.gz", cut);
  expect_error([&] { read_idx(dir / "cut.gz"); }, "read_idx", "truncated");

  Bytes corrupt = gz;
  for (std::size_t i = 20; i < 60; ++i) corrupt[i] ^= 0x5A;
  write_raw(dir / "corrupt.gz", corrupt);
  expect_error([&] { read_idx(dir / "corrupt.gz"); }, "read_idx", "corrupt gzip data");
}

// ---- MNIST ------------------------------------------------------------------------

// Writes a tiny MNIST-layout split into `dir`: 3 images of 2x2 and their labels.
void write_tiny_split(const TempDir& dir, const std::string& split, bool gz, std::uint32_t label_count = 3) {
  const Bytes images = idx({3, 2, 2}, {0, 255, 51, 102, 1, 2, 3, 4, 10, 20, 30, 40});
  const Bytes labels = idx({label_count}, iota_bytes(label_count, 7));
  if (gz) {
    write_gz(dir / (split + "-images-idx3-ubyte.gz"), images);
    write_gz(dir / (split + "-labels-idx1-ubyte.gz"), labels);
  } else {
    write_raw(dir / (split + "-images-idx3-ubyte"), images);
    write_raw(dir / (split + "-labels-idx1-ubyte"), labels);
  }
}

TEST(MNIST, BatchesAreNormalisedFloatImagesAndInt64Labels) {
  TempDir dir;
  write_tiny_split(dir, "train", /*gz=*/true);
  write_tiny_split(dir, "t10k", /*gz=*/false);
  const double mean = 0.5, std_dev = 0.25;
  MNIST train(dir.str(), true, mean, std_dev);
  EXPECT_EQ(train.size(), 3);
  EXPECT_EQ(train.rows(), 2);
  EXPECT_EQ(train.cols(), 2);
  const Batch batch = train.get_batch({2, 0});
  EXPECT_EQ(batch.data.sizes(), Shape({2, 1, 2, 2}));
  EXPECT_EQ(batch.data.dtype(), kFloat32);
  EXPECT_EQ(batch.target.sizes(), Shape({2}));
  EXPECT_EQ(batch.target.dtype(), kInt64);
  std::vector<double> expected;
  for (int v : {10, 20, 30, 40, 0, 255, 51, 102}) expected.push_back(static_cast<float>((v / 255.0 - mean) / std_dev));
  EXPECT_EQ(values(batch.data), expected);
  EXPECT_EQ(values(batch.target), (std::vector<double>{9, 7}));

  MNIST test(dir.str(), false);  // raw files, default constants
  const Example one = test.get(1);
  EXPECT_EQ(one.data.sizes(), Shape({1, 2, 2}));
  EXPECT_FLOAT_EQ(static_cast<float>(values(one.data)[0]), static_cast<float>((1 / 255.0 - MNIST::kMean) / MNIST::kStd));
  EXPECT_EQ(one.target.item<std::int64_t>(), 8);

  const Batch none = train.get_batch({});
  EXPECT_EQ(none.data.sizes(), Shape({0, 1, 2, 2}));
  EXPECT_EQ(none.target.sizes(), Shape({0}));
}

TEST(MNIST, Errors) {
  TempDir dir;
  expect_error([&] { MNIST m(dir.str()); }, "MNIST", "found neither");
  expect_error([&] { FashionMNIST m(dir.str()); }, "FashionMNIST", "apt-get install dataset-fashion-mnist");
  write_tiny_split(dir, "train", true, /*label_count=*/4);
  expect_error([&] { MNIST m(dir.str()); }, "MNIST", "label count 4");
  write_tiny_split(dir, "train", true);
  expect_error([&] { MNIST m(dir.str(), true, 0.5, 0.0); }, "MNIST", "positive std");
  MNIST m(dir.str());
  expect_error([&] { m.get_batch({0, 3}); }, "get_batch", "index 3 at position 1 is out of range for a dataset of 3");
  expect_error([&] { m.get_batch({-1}); }, "get_batch", "index -1");
  // Images need three dims.
  write_gz(dir / "train-images-idx3-ubyte.gz", idx({3, 4}, iota_bytes(12)));
  expect_error([&] { MNIST bad(dir.str()); }, "MNIST", "expected images [count, rows, cols], got dims [3, 4]");
  // A damaged file's error comes from the reader, naming the file.
  write_raw(dir / "train-labels-idx1-ubyte.gz", idx({3}, iota_bytes(5)));
  expect_error([&] { MNIST bad(dir.str()); }, "read_idx", "train-");
}

TEST(FashionMNIST, InstalledDataset) {
  const std::string root = FashionMNIST::kDefaultRoot;
  if (!fs::exists(fs::path(root) / "train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "Fashion-MNIST is not installed at " << root
                 << " (Debian/Ubuntu: apt-get install dataset-fashion-mnist)";
  FashionMNIST train;
  FashionMNIST test(root, /*train=*/false);
  EXPECT_EQ(train.size(), 60000);
  EXPECT_EQ(test.size(), 10000);
  EXPECT_EQ(train.rows(), 28);
  EXPECT_EQ(train.cols(), 28);
  EXPECT_EQ(train.raw_labels()[0], 9);  // ankle boot, in both splits
  EXPECT_EQ(test.raw_labels()[0], 9);
  for (const MNIST* split : {static_cast<const MNIST*>(&train), static_cast<const MNIST*>(&test)}) {
    std::vector<std::int64_t> per_class(10, 0);
    for (std::uint8_t l : split->raw_labels()) {
      ASSERT_LE(l, 9);
      ++per_class[l];
    }
    for (std::int64_t c : per_class) EXPECT_EQ(c, split->size() / 10);  // balanced classes
  }
  // The default normalisation constants are this data's pixel mean and std.
  double sum = 0, sum_sq = 0;
  std::uint8_t lo = 255, hi = 0;
  for (std::uint8_t p : train.raw_images()) {
    const double x = p / 255.0;
    sum += x;
    sum_sq += x * x;
    lo = std::min(lo, p);
    hi = std::max(hi, p);
  }
  const double n = static_cast<double>(train.raw_images().size());
  EXPECT_EQ(lo, 0);
  EXPECT_EQ(hi, 255);
  EXPECT_NEAR(sum / n, FashionMNIST::kMean, 5e-4);
  EXPECT_NEAR(std::sqrt(sum_sq / n - (sum / n) * (sum / n)), FashionMNIST::kStd, 5e-4);

  const Batch batch = train.get_batch({0, 59999});
  EXPECT_EQ(batch.data.sizes(), Shape({2, 1, 28, 28}));
  EXPECT_EQ(values(batch.target)[0], 9);
  double vmin = 1e9, vmax = -1e9;
  for (double v : values(batch.data)) vmin = std::min(vmin, v), vmax = std::max(vmax, v);
  EXPECT_NEAR(vmin, (0 - FashionMNIST::kMean) / FashionMNIST::kStd, 1e-5);
  EXPECT_LE(vmax, (1 - FashionMNIST::kMean) / FashionMNIST::kStd + 1e-5);
  EXPECT_GT(vmax, 1.0);
}

}  // namespace
}  // namespace cr::data
