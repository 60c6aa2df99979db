#pragma once
// Shape: the sizes (or strides) of a tensor, kept inline (at most kMaxDims),
// because every tensor has two and allocating them would dominate small ops.

#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <span>
#include <string>
#include <vector>

namespace cr {

inline constexpr int kMaxDims = 8;

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<std::int64_t> dims);
  Shape(std::span<const std::int64_t> dims);
  Shape(const std::vector<std::int64_t>& dims) : Shape(std::span<const std::int64_t>(dims)) {}

  int size() const { return ndim_; }
  bool empty() const { return ndim_ == 0; }
  std::int64_t operator[](int i) const { return dims_[i]; }
  std::int64_t& operator[](int i) { return dims_[i]; }
  const std::int64_t* begin() const { return dims_; }
  const std::int64_t* end() const { return dims_ + ndim_; }
  std::int64_t* begin() { return dims_; }
  std::int64_t* end() { return dims_ + ndim_; }
  std::int64_t back() const { return dims_[ndim_ - 1]; }

  void push_back(std::int64_t d);
  void insert(int pos, std::int64_t d);
  void erase(int pos);
  void resize(int ndim, std::int64_t fill = 0);

  /// Product of the dims; 1 for a scalar shape.
  std::int64_t numel() const;
  std::vector<std::int64_t> vec() const { return {begin(), end()}; }
  std::string str() const;  // "[2, 3]"

  friend bool operator==(const Shape& a, const Shape& b);
  friend bool operator!=(const Shape& a, const Shape& b) { return !(a == b); }

 private:
  std::int64_t dims_[kMaxDims] = {};
  int ndim_ = 0;
};

std::ostream& operator<<(std::ostream& os, const Shape& shape);

/// Row-major strides of a contiguous tensor of `sizes`.
Shape contiguous_strides(const Shape& sizes);

}  // namespace cr
