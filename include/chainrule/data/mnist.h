#pragma once
// MNIST and Fashion-MNIST from their four IDX files (gzipped or raw):
//   train-images-idx3-ubyte[.gz]  train-labels-idx1-ubyte[.gz]
//   t10k-images-idx3-ubyte[.gz]   t10k-labels-idx1-ubyte[.gz]
// Images stay in memory as bytes (60000 x 784 of them is 47 MB; as float32 it
// would be 188 MB) and become normalised float32 only batch by batch.

#include <cstdint>
#include <string>
#include <vector>

#include "chainrule/data/dataset.h"

namespace cr::data {

class MNIST : public Dataset {
 public:
  /// The usual MNIST normalisation constants (mean and std of the training pixels in [0, 1]).
  static constexpr double kMean = 0.1307;
  static constexpr double kStd = 0.3081;

  /// Reads the training (or test) split from `root`. Pixels become
  /// (x / 255 - mean) / std.
  explicit MNIST(const std::string& root, bool train = true, double mean = kMean, double std_dev = kStd, CR_LOC);

  std::int64_t size() const override { return count_; }
  /// {float32 images [B, 1, rows, cols] normalised, int64 labels [B]}.
  Batch get_batch(const std::vector<std::int64_t>& indices, CR_LOC) const override;

  std::int64_t rows() const { return rows_; }
  std::int64_t cols() const { return cols_; }
  double mean() const { return mean_; }
  double std() const { return std_; }
  /// The raw pixels, row-major [size(), rows, cols], and labels [size()].
  const std::vector<std::uint8_t>& raw_images() const { return images_; }
  const std::vector<std::uint8_t>& raw_labels() const { return labels_; }

 protected:
  MNIST(const char* op, const std::string& root, bool train, double mean, double std_dev, const SourceLocation& loc);

 private:
  std::int64_t count_ = 0, rows_ = 0, cols_ = 0;
  double mean_ = 0, std_ = 1;
  std::vector<std::uint8_t> images_;
  std::vector<std::uint8_t> labels_;
  float lookup_[256] = {};  // normalised value of each byte
};

/// Zalando's Fashion-MNIST: 28x28 greyscale clothes in 10 classes. The default
/// root is where Debian's dataset-fashion-mnist package installs it.
class FashionMNIST : public MNIST {
 public:
  static constexpr const char* kDefaultRoot = "/usr/share/datasets/fashion-mnist";
  static constexpr double kMean = 0.2860;
  static constexpr double kStd = 0.3530;

  explicit FashionMNIST(const std::string& root = kDefaultRoot, bool train = true, double mean = kMean,
                        double std_dev = kStd, CR_LOC);
};

}  // namespace cr::data
