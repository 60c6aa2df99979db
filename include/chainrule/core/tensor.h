#pragma once
// cr::Tensor: a cheap, shared handle to an n-dimensional array and its
// autograd history. Copies are shallow; clone() is deep.
//
// Every method that can fail or that records an autograd node takes a
// defaulted std::source_location as its last parameter: errors name the
// caller's file:line, and graph nodes remember where they were created.

#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "chainrule/core/dtype.h"
#include "chainrule/core/error.h"
#include "chainrule/core/shape.h"
#include "chainrule/core/tensor_impl.h"

namespace cr {

namespace autograd {
class Node;
}

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  /// True when both handles point to the same tensor (not merely equal values).
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }

  // ---- metadata ---------------------------------------------------------
  const Shape& sizes() const { return impl_->sizes; }
  const Shape& shape() const { return impl_->sizes; }
  const Shape& strides() const { return impl_->strides; }
  std::int64_t size(std::int64_t dim, CR_LOC) const;
  std::int64_t stride(std::int64_t dim, CR_LOC) const;
  std::int64_t dim() const { return impl_->sizes.size(); }
  std::int64_t numel() const { return impl_->sizes.numel(); }
  DType dtype() const { return impl_->dtype; }
  std::int64_t storage_offset() const { return impl_->offset; }
  bool is_contiguous() const;
  std::size_t element_size() const { return cr::element_size(impl_->dtype); }

  /// Pointer to the first element; T must match dtype().
  template <class T>
  T* data_ptr(CR_LOC) const;
  void* raw_data() const;
  /// The value of a one-element tensor, converted to T.
  template <class T>
  T item(CR_LOC) const;
  Storage& storage() const { return *impl_->storage; }
  /// The storage's version counter: bumped by every in-place write.
  std::uint64_t version() const { return impl_->storage->version(); }

  // ---- autograd ---------------------------------------------------------
  Tensor& requires_grad_(bool requires_grad = true, CR_LOC);
  bool requires_grad() const { return impl_ && impl_->requires_grad; }
  /// A leaf was made by the user, not by an op that recorded history.
  bool is_leaf() const { return impl_->grad_fn == nullptr; }
  /// The accumulated gradient (undefined until a backward reaches this tensor).
  Tensor grad() const;
  /// Replaces the accumulated gradient (an undefined Tensor clears it).
  void set_grad(const Tensor& grad);
  const std::shared_ptr<autograd::Node>& grad_fn() const { return impl_->grad_fn; }
  std::uint32_t output_nr() const { return impl_->output_nr; }
  /// A tensor sharing this one's data, with no history and no requires_grad.
  Tensor detach() const;
  Tensor& detach_();
  /// Points this tensor at `source`'s data, shape and dtype, keeping its own
  /// identity (handles, requires_grad, grad). What Module::to and checkpoint
  /// loading use so that every handle to a parameter stays valid.
  void set_data(const Tensor& source, CR_LOC);
  /// Makes backward store the gradient of this non-leaf in grad().
  void retain_grad(CR_LOC);
  bool retains_grad() const { return impl_->retains_grad; }
  /// Runs backpropagation from this tensor. A non-scalar needs `gradient`.
  void backward(const Tensor& gradient = {}, bool retain_graph = false,
                bool create_graph = false, CR_LOC) const;
  /// Calls `hook` with this tensor's gradient whenever one is computed; a
  /// defined return value replaces the gradient. Returns a handle for remove_hook.
  int register_hook(GradHook hook, CR_LOC);
  void remove_hook(int handle);

  // ---- copies and conversion -------------------------------------------
  Tensor contiguous(CR_LOC) const;
  Tensor clone(CR_LOC) const;
  Tensor to(DType dtype, CR_LOC) const;

  // ---- views (no copy) --------------------------------------------------
  Tensor view(const Shape& shape, CR_LOC) const;
  /// A view when the layout allows it, a copy otherwise. One dim may be -1.
  Tensor reshape(const Shape& shape, CR_LOC) const;
  Tensor permute(const Shape& dims, CR_LOC) const;
  Tensor transpose(std::int64_t dim0, std::int64_t dim1, CR_LOC) const;
  Tensor t(CR_LOC) const;
  Tensor unsqueeze(std::int64_t dim, CR_LOC) const;
  Tensor squeeze(CR_LOC) const;
  Tensor squeeze(std::int64_t dim, CR_LOC) const;
  Tensor expand(const Shape& shape, CR_LOC) const;
  Tensor expand_as(const Tensor& other, CR_LOC) const;
  Tensor flatten(std::int64_t start_dim = 0, std::int64_t end_dim = -1, CR_LOC) const;
  Tensor narrow(std::int64_t dim, std::int64_t start, std::int64_t length, CR_LOC) const;
  Tensor slice(std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step = 1,
               CR_LOC) const;
  Tensor select(std::int64_t dim, std::int64_t index, CR_LOC) const;

  // ---- elementwise ------------------------------------------------------
  Tensor neg(CR_LOC) const;
  Tensor exp(CR_LOC) const;
  Tensor log(CR_LOC) const;
  Tensor sqrt(CR_LOC) const;
  Tensor rsqrt(CR_LOC) const;
  Tensor abs(CR_LOC) const;
  Tensor sin(CR_LOC) const;
  Tensor cos(CR_LOC) const;
  Tensor tanh(CR_LOC) const;
  Tensor sigmoid(CR_LOC) const;
  Tensor relu(CR_LOC) const;
  Tensor leaky_relu(double negative_slope = 0.01, CR_LOC) const;
  Tensor gelu(CR_LOC) const;
  Tensor softplus(double beta = 1.0, double threshold = 20.0, CR_LOC) const;
  Tensor clamp(double min, double max, CR_LOC) const;
  Tensor pow(double exponent, CR_LOC) const;
  Tensor pow(const Tensor& exponent, CR_LOC) const;
  Tensor maximum(const Tensor& other, CR_LOC) const;
  Tensor minimum(const Tensor& other, CR_LOC) const;
  Tensor eq(const Tensor& other, CR_LOC) const;
  Tensor ne(const Tensor& other, CR_LOC) const;
  Tensor lt(const Tensor& other, CR_LOC) const;
  Tensor le(const Tensor& other, CR_LOC) const;
  Tensor gt(const Tensor& other, CR_LOC) const;
  Tensor ge(const Tensor& other, CR_LOC) const;
  Tensor eq(double other, CR_LOC) const;
  Tensor ne(double other, CR_LOC) const;
  Tensor lt(double other, CR_LOC) const;
  Tensor le(double other, CR_LOC) const;
  Tensor gt(double other, CR_LOC) const;
  Tensor ge(double other, CR_LOC) const;
  Tensor masked_fill(const Tensor& mask, double value, CR_LOC) const;

  // ---- reductions -------------------------------------------------------
  Tensor sum(CR_LOC) const;
  Tensor sum(std::int64_t dim, bool keepdim = false, CR_LOC) const;
  Tensor sum(const std::vector<std::int64_t>& dims, bool keepdim = false, CR_LOC) const;
  Tensor mean(CR_LOC) const;
  Tensor mean(std::int64_t dim, bool keepdim = false, CR_LOC) const;
  Tensor mean(const std::vector<std::int64_t>& dims, bool keepdim = false, CR_LOC) const;
  /// Variance; `unbiased` divides by N-1 as PyTorch's default does.
  Tensor var(bool unbiased = true, CR_LOC) const;
  Tensor var(const std::vector<std::int64_t>& dims, bool unbiased = true, bool keepdim = false,
             CR_LOC) const;
  Tensor std(bool unbiased = true, CR_LOC) const;
  Tensor std(const std::vector<std::int64_t>& dims, bool unbiased = true, bool keepdim = false,
             CR_LOC) const;
  // Without these, x.var({1}) would bind {1} to `bool unbiased` (a standard
  // conversion beats vector's constructor) and silently reduce every element.
  Tensor var(std::initializer_list<std::int64_t> dims, bool unbiased = true, bool keepdim = false,
             CR_LOC) const;
  Tensor std(std::initializer_list<std::int64_t> dims, bool unbiased = true, bool keepdim = false,
             CR_LOC) const;
  Tensor max(CR_LOC) const;
  /// (values, indices) along `dim`.
  std::tuple<Tensor, Tensor> max(std::int64_t dim, bool keepdim = false, CR_LOC) const;
  Tensor min(CR_LOC) const;
  std::tuple<Tensor, Tensor> min(std::int64_t dim, bool keepdim = false, CR_LOC) const;
  /// Index of the largest element of the flattened tensor.
  Tensor argmax(CR_LOC) const;
  Tensor argmax(std::int64_t dim, bool keepdim = false, CR_LOC) const;
  Tensor logsumexp(const std::vector<std::int64_t>& dims, bool keepdim = false, CR_LOC) const;
  Tensor softmax(std::int64_t dim, CR_LOC) const;
  Tensor log_softmax(std::int64_t dim, CR_LOC) const;

  // ---- linear algebra and indexing ---------------------------------------
  Tensor matmul(const Tensor& other, CR_LOC) const;
  Tensor mm(const Tensor& other, CR_LOC) const;
  Tensor index_select(std::int64_t dim, const Tensor& index, CR_LOC) const;
  Tensor gather(std::int64_t dim, const Tensor& index, CR_LOC) const;
  Tensor scatter_add(std::int64_t dim, const Tensor& index, const Tensor& src, CR_LOC) const;
  Tensor index_add(std::int64_t dim, const Tensor& index, const Tensor& source, CR_LOC) const;
  std::vector<Tensor> split(std::int64_t split_size, std::int64_t dim = 0, CR_LOC) const;

  // ---- in-place (each bumps the storage version) --------------------------
  Tensor& add_(const Tensor& other, double alpha = 1.0, CR_LOC);
  Tensor& add_(double other, CR_LOC);
  Tensor& sub_(const Tensor& other, double alpha = 1.0, CR_LOC);
  Tensor& sub_(double other, CR_LOC);
  Tensor& mul_(const Tensor& other, CR_LOC);
  Tensor& mul_(double other, CR_LOC);
  Tensor& div_(const Tensor& other, CR_LOC);
  Tensor& div_(double other, CR_LOC);
  Tensor& clamp_(double min, double max, CR_LOC);
  Tensor& zero_(CR_LOC);
  Tensor& fill_(double value, CR_LOC);
  Tensor& copy_(const Tensor& src, CR_LOC);

  std::string to_string() const;

 private:
  std::shared_ptr<TensorImpl> impl_;
};

/// Prints like PyTorch: values, then size, dtype and grad_fn or requires_grad.
std::ostream& operator<<(std::ostream& os, const Tensor& t);

}  // namespace cr
