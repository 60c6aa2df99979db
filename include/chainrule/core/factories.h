#pragma once
// Functions that make new tensors. Random ones draw from one global generator
// that cr::manual_seed resets, so a seeded program is reproducible.

#include <cstdint>
#include <functional>
#include <vector>

#include "chainrule/core/tensor.h"

namespace cr {

/// dtype and requires_grad of a new tensor, spelled as LibTorch spells it:
/// cr::zeros({2, 3}, cr::TensorOptions().dtype(cr::kFloat64).requires_grad(true)).
class TensorOptions {
 public:
  TensorOptions() = default;
  TensorOptions(DType dtype) : dtype_(dtype) {}  // NOLINT: implicit, as in LibTorch
  TensorOptions dtype(DType dtype) const {
    TensorOptions copy = *this;
    copy.dtype_ = dtype;
    return copy;
  }
  TensorOptions requires_grad(bool requires_grad) const {
    TensorOptions copy = *this;
    copy.requires_grad_ = requires_grad;
    return copy;
  }
  DType dtype() const { return dtype_; }
  bool requires_grad() const { return requires_grad_; }

 private:
  DType dtype_ = kFloat32;
  bool requires_grad_ = false;
};

/// Uninitialised contents.
Tensor empty(const Shape& shape, TensorOptions options = {}, CR_LOC);
Tensor zeros(const Shape& shape, TensorOptions options = {}, CR_LOC);
Tensor ones(const Shape& shape, TensorOptions options = {}, CR_LOC);
Tensor full(const Shape& shape, double value, TensorOptions options = {}, CR_LOC);
Tensor zeros_like(const Tensor& t, CR_LOC);
Tensor ones_like(const Tensor& t, CR_LOC);
Tensor full_like(const Tensor& t, double value, CR_LOC);
Tensor empty_like(const Tensor& t, CR_LOC);
/// start, start+step, ... up to but excluding end. int64 unless options say otherwise.
Tensor arange(double end, TensorOptions options = kInt64, CR_LOC);
Tensor arange(double start, double end, double step = 1.0, TensorOptions options = kInt64,
              CR_LOC);
/// `steps` evenly spaced values from start to end inclusive.
Tensor linspace(double start, double end, std::int64_t steps, TensorOptions options = {},
                CR_LOC);
Tensor eye(std::int64_t n, TensorOptions options = {}, CR_LOC);

/// Uniform on [0, 1).
Tensor rand(const Shape& shape, TensorOptions options = {}, CR_LOC);
/// Standard normal.
Tensor randn(const Shape& shape, TensorOptions options = {}, CR_LOC);
/// Uniform integers in [low, high), int64 by default.
Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape,
               TensorOptions options = kInt64, CR_LOC);
/// A random permutation of 0..n-1 (int64).
Tensor randperm(std::int64_t n, CR_LOC);
/// Reseeds the global generator every random factory draws from.
void manual_seed(std::uint64_t seed);

/// A tensor holding a copy of `values` with `shape` (1-D of values.size() if empty).
template <class T>
Tensor tensor(const std::vector<T>& values, const Shape& shape = {}, TensorOptions options = dtype_of<T>(), CR_LOC);
Tensor tensor(std::initializer_list<double> values, TensorOptions options = {}, CR_LOC);
/// A zero-dimensional tensor.
Tensor scalar_tensor(double value, TensorOptions options = {}, CR_LOC);

/// Wraps memory the caller owns, without copying. `deleter` runs when the
/// last view dies; without one the caller must outlive the tensor.
Tensor from_blob(void* data, const Shape& shape, DType dtype = kFloat32,
                 std::function<void(void*)> deleter = {}, CR_LOC);

}  // namespace cr
