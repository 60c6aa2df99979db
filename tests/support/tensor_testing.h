#pragma once
// Small helpers shared by the tests.

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "chainrule/chainrule.h"

namespace cr::testing {

/// The elements of `t` in row-major order, as doubles (any dtype, any strides).
inline std::vector<double> values(const Tensor& t) {
  Tensor c = t.detach().to(kFloat64).contiguous();
  const double* p = c.data_ptr<double>();
  return std::vector<double>(p, p + c.numel());
}

/// A float64 leaf requiring grad, with values drawn from randn.
inline Tensor leaf(const Shape& shape) {
  return randn(shape, kFloat64).requires_grad_();
}

/// A non-contiguous float64 leaf of `shape`: a transposed view of a bigger tensor.
inline Tensor strided_leaf(const Shape& shape) {
  Shape reversed;
  for (int i = shape.size() - 1; i >= 0; --i) reversed.push_back(shape[i]);
  Tensor base = randn(reversed, kFloat64);
  Shape perm;
  for (int i = shape.size() - 1; i >= 0; --i) perm.push_back(i);
  Tensor view = base.permute(perm);
  view.requires_grad_();  // a leaf view: gradcheck perturbs it in place
  return view;
}

/// Expects `fn` to throw a cr::Error whose message starts with `op`.
template <class F>
void expect_error(F&& fn, const std::string& op, const std::string& fragment = "") {
  try {
    fn();
    ADD_FAILURE() << "expected a cr::Error from " << op;
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind(op + ":", 0), 0u) << what;
    if (!fragment.empty()) EXPECT_NE(what.find(fragment), std::string::npos) << what;
    EXPECT_NE(what.find("_test.cpp:"), std::string::npos) << "no caller location in: " << what;
  }
}

/// Fails the test with the first mismatch gradcheck / gradgradcheck finds.
inline void expect_gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                             const std::vector<Tensor>& inputs) {
  auto result = autograd::gradcheck(fn, inputs);
  EXPECT_TRUE(result.ok) << result.message;
}
inline void expect_gradgradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                                 const std::vector<Tensor>& inputs) {
  auto result = autograd::gradgradcheck(fn, inputs);
  EXPECT_TRUE(result.ok) << "second order: " << result.message;
}

}  // namespace cr::testing

// The statement throws a cr::Error starting with "op:" that names the caller's file:line.
#define EXPECT_OP_ERROR(op, ...) ::cr::testing::expect_error([&] { __VA_ARGS__; }, op)

// Fails the test with the first mismatch; more context can be streamed in:
//   EXPECT_GRADCHECK(f, inputs) << "shape " << shape;
#define EXPECT_GRADCHECK(fn, inputs)                                                       \
  for (auto result_ = ::cr::autograd::gradcheck((fn), (inputs)); !result_.ok; result_.ok = true) \
  ADD_FAILURE() << result_.message << " "

#define EXPECT_GRADGRADCHECK(fn, inputs)                                                       \
  for (auto result_ = ::cr::autograd::gradgradcheck((fn), (inputs)); !result_.ok; result_.ok = true) \
  ADD_FAILURE() << "second order: " << result_.message << " "
