#include "chainrule/data/mnist.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>

#include "chainrule/core/factories.h"
#include "chainrule/data/idx.h"
#include "core/tensor_internal.h"

namespace cr::data {

namespace {

// "<root>/<name>.gz" if present, else "<root>/<name>".
std::string find_file(const char* op, const std::string& root, const std::string& name, const SourceLocation& loc) {
  namespace fs = std::filesystem;
  const fs::path base = fs::path(root) / name;
  std::error_code ec;
  for (const fs::path& candidate : {fs::path(base.string() + ".gz"), base})
    if (fs::is_regular_file(candidate, ec)) return candidate.string();
  std::string hint = std::string(op) == "FashionMNIST" ? " (Debian and Ubuntu: apt-get install dataset-fashion-mnist)" : "";
  throw_error(op, "found neither " + base.string() + ".gz nor " + base.string() + hint, loc);
}

std::string dims_string(const std::vector<std::int64_t>& dims) {
  std::string s = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

}  // namespace

MNIST::MNIST(const std::string& root, bool train, double mean, double std_dev, SourceLocation loc)
    : MNIST("MNIST", root, train, mean, std_dev, loc) {}

MNIST::MNIST(const char* op, const std::string& root, bool train, double mean, double std_dev, const SourceLocation& loc)
    : mean_(mean), std_(std_dev) {
  if (!(std_dev > 0) || !std::isfinite(std_dev) || !std::isfinite(mean))
    throw_error(op, "normalisation needs a finite mean and a positive std, got mean " + std::to_string(mean) +
                        " and std " + std::to_string(std_dev),
                loc);
  const std::string split = train ? "train" : "t10k";
  const std::string images_path = find_file(op, root, split + "-images-idx3-ubyte", loc);
  const std::string labels_path = find_file(op, root, split + "-labels-idx1-ubyte", loc);
  IdxArray images = read_idx(images_path, loc);
  IdxArray labels = read_idx(labels_path, loc);
  if (images.dims.size() != 3)
    throw_error(op, images_path + ": expected images [count, rows, cols], got dims " + dims_string(images.dims), loc);
  if (labels.dims.size() != 1)
    throw_error(op, labels_path + ": expected labels [count], got dims " + dims_string(labels.dims), loc);
  if (images.dims[0] != labels.dims[0])
    throw_error(op,
                "label count " + std::to_string(labels.dims[0]) + " (" + labels_path + ") differs from image count " +
                    std::to_string(images.dims[0]) + " (" + images_path + ")",
                loc);
  count_ = images.dims[0];
  rows_ = images.dims[1];
  cols_ = images.dims[2];
  images_ = std::move(images.data);
  labels_ = std::move(labels.data);
  for (int v = 0; v < 256; ++v) lookup_[v] = static_cast<float>((v / 255.0 - mean_) / std_);
}

Batch MNIST::get_batch(const std::vector<std::int64_t>& indices, SourceLocation loc) const {
  check_indices(indices, loc);
  const auto b = static_cast<std::int64_t>(indices.size());
  const std::int64_t pixels = rows_ * cols_;
  Tensor data = cr::detail::make_tensor({b, 1, rows_, cols_}, kFloat32);
  Tensor target = cr::detail::make_tensor({b}, kInt64);
  float* out = data.data_ptr<float>();
  std::int64_t* labels = target.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < b; ++i) {
    const std::uint8_t* src = images_.data() + indices[i] * pixels;
    float* dst = out + i * pixels;
    for (std::int64_t p = 0; p < pixels; ++p) dst[p] = lookup_[src[p]];
    labels[i] = labels_[indices[i]];
  }
  return {data, target};
}

FashionMNIST::FashionMNIST(const std::string& root, bool train, double mean, double std_dev, SourceLocation loc)
    : MNIST("FashionMNIST", root, train, mean, std_dev, loc) {}

}  // namespace cr::data
