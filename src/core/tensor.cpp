// Tensor metadata, element access, copies and conversion.

#include "chainrule/core/tensor.h"

#include "backend/cpu/loops.h"
#include "chainrule/autograd/record.h"
#include "core/tensor_internal.h"

namespace cr {

namespace detail {

Tensor make_tensor(const Shape& sizes, DType dtype) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = Storage::allocate(static_cast<std::size_t>(sizes.numel()) * element_size(dtype));
  impl->sizes = sizes;
  impl->strides = contiguous_strides(sizes);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor make_view(const Tensor& base, const Shape& sizes, const Shape& strides, std::int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.impl()->storage;
  impl->sizes = sizes;
  impl->strides = strides;
  impl->offset = offset;
  impl->dtype = base.dtype();
  impl->is_view = true;
  return Tensor(std::move(impl));
}

std::int64_t wrap_dim(std::int64_t dim, std::int64_t ndim, const char* op, const SourceLocation& loc) {
  const std::int64_t bound = ndim == 0 ? 1 : ndim;  // a scalar accepts dim 0 and -1
  if (dim < -bound || dim >= bound)
    throw_error(op,
                "dim " + std::to_string(dim) + " is out of range for a tensor of " +
                    std::to_string(ndim) + " dims",
                loc);
  return dim < 0 ? dim + bound : dim;
}

bool is_exclusive_buffer(const Tensor& t) {
  return t.defined() && t.impl_ptr().use_count() == 1 && t.impl()->storage.use_count() == 1 && !t.requires_grad() &&
         t.storage_offset() == 0 && t.is_contiguous() &&
         t.storage().nbytes() == static_cast<std::size_t>(t.numel()) * t.element_size();
}

std::string describe(const Tensor& t) {
  if (!t.defined()) return "undefined";
  return t.sizes().str() + " " + std::string(dtype_name(t.dtype()));
}

void check_defined(const Tensor& t, const char* op, const SourceLocation& loc) {
  if (!t.defined()) throw_error(op, "got an undefined tensor", loc);
}

void check_floating(const Tensor& t, const char* op, const SourceLocation& loc) {
  check_defined(t, op, loc);
  if (!is_floating(t.dtype()))
    throw_error(op, "expected a float32 or float64 tensor, got " + describe(t), loc);
}

void check_same_dtype(const Tensor& a, const Tensor& b, const char* op, const SourceLocation& loc) {
  if (a.dtype() != b.dtype())
    throw_error(op, "dtype mismatch: " + describe(a) + " and " + describe(b), loc);
}

}  // namespace detail

std::int64_t Tensor::size(std::int64_t dim, SourceLocation loc) const {
  return sizes()[static_cast<int>(detail::wrap_dim(dim, this->dim(), "size", loc))];
}

std::int64_t Tensor::stride(std::int64_t dim, SourceLocation loc) const {
  return strides()[static_cast<int>(detail::wrap_dim(dim, this->dim(), "stride", loc))];
}

bool Tensor::is_contiguous() const {
  if (numel() == 0) return true;  // nothing to lay out, as in PyTorch
  std::int64_t expected = 1;
  for (int d = impl_->sizes.size() - 1; d >= 0; --d) {
    const std::int64_t size = impl_->sizes[d];
    if (size == 1) continue;
    if (impl_->strides[d] != expected) return false;
    expected *= size;
  }
  return true;
}

void* Tensor::raw_data() const {
  return static_cast<char*>(impl_->storage->data()) +
         impl_->offset * static_cast<std::int64_t>(cr::element_size(impl_->dtype));
}

template <class T>
T* Tensor::data_ptr(SourceLocation loc) const {
  detail::check_defined(*this, "data_ptr", loc);
  if (dtype() != dtype_of<T>())
    throw_error("data_ptr",
                "asked for " + std::string(dtype_name(dtype_of<T>())) + " data of a " +
                    detail::describe(*this) + " tensor",
                loc);
  return static_cast<T*>(raw_data());
}

template <class T>
T Tensor::item(SourceLocation loc) const {
  detail::check_defined(*this, "item", loc);
  if (numel() != 1)
    throw_error("item", "needs a tensor with one element, got " + detail::describe(*this), loc);
  return dispatch_all(dtype(), [&]<class S>() { return static_cast<T>(*static_cast<S*>(raw_data())); });
}

template float* Tensor::data_ptr<float>(SourceLocation) const;
template double* Tensor::data_ptr<double>(SourceLocation) const;
template std::int64_t* Tensor::data_ptr<std::int64_t>(SourceLocation) const;
template bool* Tensor::data_ptr<bool>(SourceLocation) const;
template float Tensor::item<float>(SourceLocation) const;
template double Tensor::item<double>(SourceLocation) const;
template std::int64_t Tensor::item<std::int64_t>(SourceLocation) const;
template int Tensor::item<int>(SourceLocation) const;
template bool Tensor::item<bool>(SourceLocation) const;

Tensor Tensor::contiguous(SourceLocation loc) const {
  detail::check_defined(*this, "contiguous", loc);
  if (is_contiguous()) return *this;
  return clone(loc);
}

Tensor Tensor::clone(SourceLocation loc) const {
  detail::check_defined(*this, "clone", loc);
  Tensor out = detail::make_tensor(sizes(), dtype());
  cpu::copy_into(out, *this);
  if (autograd::needs_grad(*this))
    autograd::record("CloneBackward", loc, {this}, out,
                     [](autograd::Node&, const Tensor& g) { return autograd::GradList{g}; });
  return out;
}

Tensor Tensor::to(DType target, SourceLocation loc) const {
  detail::check_defined(*this, "to", loc);
  if (target == dtype()) return *this;
  if (requires_grad() && autograd::is_grad_enabled() && !is_floating(target))
    throw_error("to", "cannot convert a tensor that requires grad to " +
                          std::string(dtype_name(target)) + " (gradients need a float dtype)",
                loc);
  Tensor out = detail::make_tensor(sizes(), target);
  cpu::copy_into(out, *this);
  if (autograd::needs_grad(*this)) {
    out.impl()->requires_grad = true;
    autograd::record("ToCopyBackward", loc, {this}, out,
                     [source = dtype()](autograd::Node&, const Tensor& g) {
                       return autograd::GradList{g.to(source)};
                     });
  }
  return out;
}

}  // namespace cr
