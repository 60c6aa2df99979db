// cat, stack, split, split_with_sizes: values, layouts, gradients, errors.

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "chainrule/chainrule.h"
#include "support/tensor_testing.h"

namespace {

using cr::Tensor;

// The elements of `t` in row-major order, as doubles (any dtype, any strides).
using cr::testing::values;

Tensor f64(const std::vector<double>& v, const cr::Shape& shape) {
  return cr::tensor<double>(v, shape, cr::kFloat64);
}

// A float64 leaf of `shape` that is a transposed view of a bigger tensor's data.
Tensor transposed_leaf(const cr::Shape& shape) {
  cr::Shape reversed;
  for (int i = shape.size() - 1; i >= 0; --i) reversed.push_back(shape[i]);
  cr::Shape perm;
  for (int i = shape.size() - 1; i >= 0; --i) perm.push_back(i);
  Tensor view = cr::randn(reversed, cr::kFloat64).permute(perm);
  EXPECT_FALSE(view.is_contiguous());
  view.requires_grad_();
  return view;
}

// A float64 leaf whose last dim has stride 2 (every other column of a wider tensor).
Tensor strided_leaf(std::int64_t rows, std::int64_t cols) {
  Tensor view = cr::randn({rows, 2 * cols}, cr::kFloat64).slice(1, 0, 2 * cols, 2);
  EXPECT_FALSE(view.is_contiguous());
  view.requires_grad_();
  return view;
}

using cr::testing::expect_error;
using cr::testing::expect_gradcheck;
using cr::testing::expect_gradgradcheck;

// ---- cat ------------------------------------------------------------------------

TEST(Cat, JoinsAlongDimZero) {
  Tensor a = cr::tensor({1.0, 2.0, 3.0, 4.0}).reshape({2, 2});
  Tensor b = cr::tensor({5.0, 6.0}).reshape({1, 2});
  Tensor c = cr::cat({a, b}, 0);
  EXPECT_EQ(c.sizes(), (cr::Shape{3, 2}));
  EXPECT_EQ(c.dtype(), cr::kFloat32);
  EXPECT_EQ(values(c), (std::vector<double>{1, 2, 3, 4, 5, 6}));
}

TEST(Cat, JoinsAlongInnerDimAndNegativeDim) {
  Tensor a = cr::tensor({1.0, 2.0, 3.0, 4.0}).reshape({2, 2});
  Tensor b = cr::tensor({5.0, 6.0, 7.0, 8.0, 9.0, 10.0}).reshape({2, 3});
  const std::vector<double> expected{1, 2, 5, 6, 7, 3, 4, 8, 9, 10};
  Tensor c = cr::cat({a, b}, 1);
  EXPECT_EQ(c.sizes(), (cr::Shape{2, 5}));
  EXPECT_EQ(values(c), expected);
  EXPECT_EQ(values(cr::cat({a, b}, -1)), expected);
}

TEST(Cat, MiddleDimOfThreeDims) {
  Tensor a = cr::arange(0, 8, 1, cr::kFloat64).reshape({2, 2, 2});
  Tensor b = cr::arange(100, 104, 1, cr::kFloat64).reshape({2, 1, 2});
  Tensor c = cr::cat({a, b}, -2);
  EXPECT_EQ(c.sizes(), (cr::Shape{2, 3, 2}));
  EXPECT_EQ(values(c), (std::vector<double>{0, 1, 2, 3, 100, 101, 4, 5, 6, 7, 102, 103}));
}

TEST(Cat, NonContiguousInputs) {
  // a.t() = [[0, 2], [1, 3]]; every other column of [[10..15], [16..21]] = [[10, 12, 14], [16, 18, 20]].
  Tensor a = cr::arange(0, 4, 1, cr::kFloat32).reshape({2, 2}).t();
  Tensor b = cr::arange(10, 22, 1, cr::kFloat32).reshape({2, 6}).slice(1, 0, 6, 2);
  ASSERT_FALSE(a.is_contiguous());
  ASSERT_FALSE(b.is_contiguous());
  EXPECT_EQ(values(cr::cat({a, b}, 1)), (std::vector<double>{0, 2, 10, 12, 14, 1, 3, 16, 18, 20}));
  EXPECT_EQ(values(cr::cat({a, a}, 0)), (std::vector<double>{0, 2, 1, 3, 0, 2, 1, 3}));
}

TEST(Cat, Int64AndFloat64KeepTheirDtype) {
  Tensor a = cr::tensor<std::int64_t>({1, 2, 3}, {3});
  Tensor b = cr::tensor<std::int64_t>({-4}, {1});
  Tensor c = cr::cat({a, b});
  EXPECT_EQ(c.dtype(), cr::kInt64);
  EXPECT_EQ(c.sizes(), (cr::Shape{4}));
  const std::int64_t* p = c.data_ptr<std::int64_t>();
  EXPECT_EQ(std::vector<std::int64_t>(p, p + 4), (std::vector<std::int64_t>{1, 2, 3, -4}));

  Tensor d = cr::cat({f64({0.5}, {1}), f64({1e-300, 2.25}, {2})});
  EXPECT_EQ(d.dtype(), cr::kFloat64);
  EXPECT_EQ(values(d), (std::vector<double>{0.5, 1e-300, 2.25}));
}

TEST(Cat, EmptyEntriesAndSingleEntry) {
  Tensor a = cr::ones({2, 0});
  Tensor b = cr::full({2, 2}, 3.0);
  Tensor c = cr::cat({a, b, a}, 1);
  EXPECT_EQ(c.sizes(), (cr::Shape{2, 2}));
  EXPECT_EQ(values(c), (std::vector<double>{3, 3, 3, 3}));
  Tensor single = cr::cat({b});
  EXPECT_FALSE(single.is_same(b));  // a new tensor, as PyTorch returns
  EXPECT_EQ(values(single), values(b));
}

TEST(Cat, LargeInputCopiesEveryBlock) {
  // Above the parallel grain: the row-block copy is split across threads.
  Tensor a = cr::arange(0, 300 * 200, 1, cr::kFloat32).reshape({300, 200});
  Tensor b = cr::arange(0, 300 * 100, 1, cr::kFloat32).reshape({300, 100}).neg();
  Tensor c = cr::cat({a, b}, 1);
  ASSERT_EQ(c.sizes(), (cr::Shape{300, 300}));
  const float* p = c.data_ptr<float>();
  for (std::int64_t r = 0; r < 300; r += 37) {
    EXPECT_EQ(p[r * 300 + 0], static_cast<float>(r * 200));
    EXPECT_EQ(p[r * 300 + 199], static_cast<float>(r * 200 + 199));
    EXPECT_EQ(p[r * 300 + 200], -static_cast<float>(r * 100));
    EXPECT_EQ(p[r * 300 + 299], -static_cast<float>(r * 100 + 99));
  }
}

TEST(Cat, BackwardHandsEachInputItsSlice) {
  Tensor a = cr::zeros({2, 2}, cr::TensorOptions().requires_grad(true));
  Tensor b = cr::zeros({2, 1});  // no grad wanted
  Tensor c = cr::zeros({2, 3}, cr::TensorOptions().requires_grad(true));
  Tensor w = cr::arange(0, 12, 1, cr::kFloat32).reshape({2, 6});
  Tensor y = cr::cat({a, b, c}, 1);
  ASSERT_TRUE(y.requires_grad());
  EXPECT_STREQ(y.grad_fn()->name(), "CatBackward");
  (y * w).sum().backward();
  EXPECT_EQ(values(a.grad()), (std::vector<double>{0, 1, 6, 7}));
  EXPECT_FALSE(b.grad().defined());
  EXPECT_EQ(values(c.grad()), (std::vector<double>{3, 4, 5, 9, 10, 11}));
}

TEST(Cat, NoHistoryUnderNoGrad) {
  Tensor a = cr::ones({2}, cr::TensorOptions().requires_grad(true));
  cr::NoGradGuard guard;
  EXPECT_FALSE(cr::cat({a, a}).requires_grad());
}

TEST(Cat, Gradcheck) {
  Tensor a = transposed_leaf({3, 2});
  Tensor b = strided_leaf(3, 4);
  Tensor c = cr::randn({3, 1}, cr::kFloat64).requires_grad_();
  auto along_cols = [](const std::vector<Tensor>& in) { return cr::cat(in, -1); };
  expect_gradcheck(along_cols, {a, b, c});
  expect_gradgradcheck(along_cols, {a, b, c});
  Tensor d = transposed_leaf({2, 3});
  auto along_rows = [](const std::vector<Tensor>& in) { return cr::cat({in[0], in[1], in[0]}, 0); };
  expect_gradcheck(along_rows, {d, strided_leaf(2, 3)});
}

TEST(Cat, Errors) {
  expect_error([] { cr::cat({}); }, "cat", "non-empty");
  expect_error([] { cr::cat({cr::ones({2, 3}), cr::ones({3, 3})}, 1); }, "cat", "[3, 3]");
  expect_error([] { cr::cat({cr::ones({2, 3}), cr::ones({2, 3, 1})}, 0); }, "cat", "[2, 3, 1]");
  expect_error([] { cr::cat({cr::ones({2}), cr::ones({2}, cr::kFloat64)}); }, "cat", "float64");
  expect_error([] { cr::cat({cr::ones({2}), cr::ones({2})}, 1); }, "cat", "dim 1");
  expect_error([] { cr::cat({cr::ones({2}), cr::ones({2})}, -2); }, "cat", "dim -2");
  expect_error([] { cr::cat({cr::scalar_tensor(1.0), cr::scalar_tensor(2.0)}); }, "cat", "zero-dim");
  expect_error([] { cr::cat({cr::ones({2}), Tensor()}); }, "cat");
}

// ---- stack ------------------------------------------------------------------------

TEST(Stack, NewLeadingInnerAndTrailingDims) {
  Tensor a = cr::tensor({1.0, 2.0, 3.0, 4.0}).reshape({2, 2});
  Tensor b = cr::tensor({5.0, 6.0, 7.0, 8.0}).reshape({2, 2});
  Tensor s0 = cr::stack({a, b});
  EXPECT_EQ(s0.sizes(), (cr::Shape{2, 2, 2}));
  EXPECT_EQ(values(s0), (std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8}));
  Tensor s1 = cr::stack({a, b}, 1);
  EXPECT_EQ(s1.sizes(), (cr::Shape{2, 2, 2}));
  EXPECT_EQ(values(s1), (std::vector<double>{1, 2, 5, 6, 3, 4, 7, 8}));
  Tensor s2 = cr::stack({a, b}, -1);
  EXPECT_EQ(s2.sizes(), (cr::Shape{2, 2, 2}));
  EXPECT_EQ(values(s2), (std::vector<double>{1, 5, 2, 6, 3, 7, 4, 8}));
  EXPECT_EQ(values(cr::stack({a, b}, 2)), values(s2));
}

TEST(Stack, ScalarsAndNonContiguous) {
  Tensor s = cr::stack({cr::scalar_tensor(1.0), cr::scalar_tensor(2.0), cr::scalar_tensor(3.0)});
  EXPECT_EQ(s.sizes(), (cr::Shape{3}));
  EXPECT_EQ(values(s), (std::vector<double>{1, 2, 3}));
  Tensor t = cr::arange(0, 4, 1, cr::kInt64).reshape({2, 2}).t();  // [[0, 2], [1, 3]]
  Tensor u = cr::stack({t, t}, 1);
  EXPECT_EQ(u.dtype(), cr::kInt64);
  EXPECT_EQ(values(u), (std::vector<double>{0, 2, 0, 2, 1, 3, 1, 3}));
}

TEST(Stack, Gradcheck) {
  Tensor a = transposed_leaf({2, 3});
  Tensor b = strided_leaf(2, 3);
  auto fn = [](const std::vector<Tensor>& in) { return cr::stack(in, 1); };
  expect_gradcheck(fn, {a, b});
  expect_gradgradcheck(fn, {a, b});
  expect_gradcheck([](const std::vector<Tensor>& in) { return cr::stack({in[0], in[0] * 2.0}, -1); }, {a});
}

TEST(Stack, Errors) {
  expect_error([] { cr::stack({}); }, "stack", "non-empty");
  expect_error([] { cr::stack({cr::ones({2, 3}), cr::ones({3, 2})}); }, "stack", "[3, 2]");
  expect_error([] { cr::stack({cr::ones({2}), cr::ones({2}, cr::kInt64)}); }, "stack", "int64");
  expect_error([] { cr::stack({cr::ones({2}), cr::ones({2})}, 2); }, "stack", "dim 2");
}

// ---- split ------------------------------------------------------------------------

TEST(Split, ChunksWithSmallerLastAreViews) {
  Tensor x = cr::arange(0, 10, 1, cr::kFloat32).reshape({5, 2});
  std::vector<Tensor> parts = cr::split(x, 2);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].sizes(), (cr::Shape{2, 2}));
  EXPECT_EQ(parts[2].sizes(), (cr::Shape{1, 2}));
  EXPECT_EQ(values(parts[0]), (std::vector<double>{0, 1, 2, 3}));
  EXPECT_EQ(values(parts[1]), (std::vector<double>{4, 5, 6, 7}));
  EXPECT_EQ(values(parts[2]), (std::vector<double>{8, 9}));
  // Views: a write through one shows in x.
  parts[1].fill_(-1.0);
  EXPECT_EQ(values(x), (std::vector<double>{0, 1, 2, 3, -1, -1, -1, -1, 8, 9}));
}

TEST(Split, NegativeDimAndMethodForm) {
  Tensor x = cr::arange(0, 6, 1, cr::kFloat32).reshape({2, 3});
  std::vector<Tensor> parts = x.split(2, -1);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(values(parts[0]), (std::vector<double>{0, 1, 3, 4}));
  EXPECT_EQ(values(parts[1]), (std::vector<double>{2, 5}));
  EXPECT_EQ(x.split(3, 1).size(), 1u);
  EXPECT_EQ(x.split(10, 1).size(), 1u);
  EXPECT_EQ(cr::split(cr::ones({0, 2}), 3).size(), 1u);  // as PyTorch: one empty chunk
}

TEST(Split, WithSizes) {
  Tensor x = cr::arange(0, 12, 1, cr::kFloat32).reshape({6, 2}).slice(1, 0, 1);  // [6, 1], stride 2
  ASSERT_FALSE(x.is_contiguous());
  std::vector<Tensor> parts = cr::split_with_sizes(x, {1, 0, 3, 2});
  ASSERT_EQ(parts.size(), 4u);
  EXPECT_EQ(values(parts[0]), (std::vector<double>{0}));
  EXPECT_EQ(parts[1].sizes(), (cr::Shape{0, 1}));
  EXPECT_EQ(values(parts[2]), (std::vector<double>{2, 4, 6}));
  EXPECT_EQ(values(parts[3]), (std::vector<double>{8, 10}));
}

TEST(Split, Gradcheck) {
  Tensor x = transposed_leaf({5, 3});
  cr::autograd::DifferentiableFn chunks = [](const std::vector<Tensor>& in) { return cr::split(in[0], 2, 0); };
  auto result = cr::autograd::gradcheck(chunks, {x});
  EXPECT_TRUE(result.ok) << result.message;
  cr::autograd::DifferentiableFn sized = [](const std::vector<Tensor>& in) {
    return cr::split_with_sizes(in[0], {2, 1}, -1);
  };
  result = cr::autograd::gradcheck(sized, {x});
  EXPECT_TRUE(result.ok) << result.message;
  // Parts used unevenly: each gradient lands in its own rows.
  expect_gradgradcheck(
      [](const std::vector<Tensor>& in) {
        auto p = in[0].split(2, 0);
        return cr::cat({p[2] * p[2], p[0] * 3.0}, 0);
      },
      {x});
}

TEST(Split, BackwardOfUnusedPartIsZero) {
  Tensor x = cr::ones({4, 2}, cr::TensorOptions().requires_grad(true));
  auto parts = x.split(2);
  (parts[1] * 5.0).sum().backward();
  EXPECT_EQ(values(x.grad()), (std::vector<double>{0, 0, 0, 0, 5, 5, 5, 5}));
}

TEST(Split, Errors) {
  expect_error([] { cr::split(cr::ones({4}), 0); }, "split", "split_size");
  expect_error([] { cr::split(cr::ones({4}), -1); }, "split", "-1");
  expect_error([] { cr::split(cr::scalar_tensor(1.0), 1); }, "split", "0-dim");
  expect_error([] { cr::split(cr::ones({4}), 1, 1); }, "split", "dim 1");
  expect_error([] { cr::split_with_sizes(cr::ones({4}), {1, 2}); }, "split_with_sizes", "sum to 4");
  expect_error([] { cr::split_with_sizes(cr::ones({4}), {5, -1}); }, "split_with_sizes", "non-negative");
}

}  // namespace
