#include "chainrule/core/shape.h"

#include <algorithm>
#include <sstream>

#include "chainrule/core/error.h"

namespace cr {

namespace {
void check_rank(std::size_t ndim) {
  if (ndim > static_cast<std::size_t>(kMaxDims))
    throw_error("shape",
                "tensors have at most " + std::to_string(kMaxDims) + " dims, got " +
                    std::to_string(ndim),
                SourceLocation::current());
}
}  // namespace

Shape::Shape(std::initializer_list<std::int64_t> dims) {
  check_rank(dims.size());
  std::copy(dims.begin(), dims.end(), dims_);
  ndim_ = static_cast<int>(dims.size());
}

Shape::Shape(std::span<const std::int64_t> dims) {
  check_rank(dims.size());
  std::copy(dims.begin(), dims.end(), dims_);
  ndim_ = static_cast<int>(dims.size());
}

void Shape::push_back(std::int64_t d) {
  check_rank(ndim_ + 1);
  dims_[ndim_++] = d;
}

void Shape::insert(int pos, std::int64_t d) {
  check_rank(ndim_ + 1);
  for (int i = ndim_; i > pos; --i) dims_[i] = dims_[i - 1];
  dims_[pos] = d;
  ++ndim_;
}

void Shape::erase(int pos) {
  for (int i = pos; i + 1 < ndim_; ++i) dims_[i] = dims_[i + 1];
  --ndim_;
}

void Shape::resize(int ndim, std::int64_t fill) {
  check_rank(ndim);
  for (int i = ndim_; i < ndim; ++i) dims_[i] = fill;
  ndim_ = ndim;
}

std::int64_t Shape::numel() const {
  std::int64_t n = 1;
  for (int i = 0; i < ndim_; ++i) n *= dims_[i];
  return n;
}

std::string Shape::str() const {
  std::ostringstream os;
  os << *this;
  return os.str();
}

bool operator==(const Shape& a, const Shape& b) {
  return a.ndim_ == b.ndim_ && std::equal(a.begin(), a.end(), b.begin());
}

std::ostream& operator<<(std::ostream& os, const Shape& shape) {
  os << '[';
  for (int i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  return os << ']';
}

Shape contiguous_strides(const Shape& sizes) {
  Shape strides;
  strides.resize(sizes.size());
  std::int64_t stride = 1;
  for (int i = sizes.size() - 1; i >= 0; --i) {
    strides[i] = stride;
    stride *= std::max<std::int64_t>(sizes[i], 1);
  }
  return strides;
}

}  // namespace cr
