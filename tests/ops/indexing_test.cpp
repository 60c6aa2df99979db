// index_select, index_add, gather, scatter_add, embedding: values, layouts,
// accumulation of repeated indices, gradients, errors.

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "chainrule/chainrule.h"
#include "support/tensor_testing.h"

namespace {

using cr::Tensor;

using cr::testing::values;

Tensor longs(const std::vector<std::int64_t>& v, const cr::Shape& shape = {}) {
  return cr::tensor<std::int64_t>(v, shape);
}

// A float64 leaf of `shape` that is a transposed view of a bigger tensor's data.
Tensor transposed_leaf(const cr::Shape& shape) {
  cr::Shape reversed, perm;
  for (int i = shape.size() - 1; i >= 0; --i) {
    reversed.push_back(shape[i]);
    perm.push_back(i);
  }
  Tensor view = cr::randn(reversed, cr::kFloat64).permute(perm);
  EXPECT_FALSE(view.is_contiguous());
  view.requires_grad_();
  return view;
}

using cr::testing::expect_error;
using cr::testing::expect_gradcheck;
using cr::testing::expect_gradgradcheck;

// ---- index_select -----------------------------------------------------------------

TEST(IndexSelect, RowsAndColumnsWithRepeats) {
  Tensor x = cr::arange(0, 12, 1, cr::kFloat32).reshape({3, 4});
  Tensor rows = cr::index_select(x, 0, longs({2, 0, 2}));
  EXPECT_EQ(rows.sizes(), (cr::Shape{3, 4}));
  EXPECT_EQ(values(rows), (std::vector<double>{8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11}));
  Tensor cols = x.index_select(-1, longs({3, 1}));
  EXPECT_EQ(cols.sizes(), (cr::Shape{3, 2}));
  EXPECT_EQ(values(cols), (std::vector<double>{3, 1, 7, 5, 11, 9}));
  EXPECT_EQ(values(x.index_select(1, longs({3, 1}))), values(cols));
}

TEST(IndexSelect, MiddleDimScalarAndEmptyIndex) {
  Tensor x = cr::arange(0, 12, 1, cr::kFloat64).reshape({2, 3, 2});
  Tensor y = x.index_select(1, longs({2, 2, 0}));
  EXPECT_EQ(y.sizes(), (cr::Shape{2, 3, 2}));
  EXPECT_EQ(values(y), (std::vector<double>{4, 5, 4, 5, 0, 1, 10, 11, 10, 11, 6, 7}));
  Tensor z = x.index_select(0, cr::scalar_tensor(1.0, cr::kInt64));
  EXPECT_EQ(z.sizes(), (cr::Shape{1, 3, 2}));
  EXPECT_EQ(values(z), (std::vector<double>{6, 7, 8, 9, 10, 11}));
  EXPECT_EQ(x.index_select(2, longs({}, {0})).sizes(), (cr::Shape{2, 3, 0}));
}

TEST(IndexSelect, Int64AndNonContiguousInputs) {
  Tensor x = cr::arange(0, 6, 1, cr::kInt64).reshape({2, 3}).t();  // [[0, 3], [1, 4], [2, 5]]
  ASSERT_FALSE(x.is_contiguous());
  Tensor index = longs({2, 9, 0, 9}).slice(0, 0, 4, 2);  // [2, 0], stride 2
  ASSERT_FALSE(index.is_contiguous());
  Tensor y = x.index_select(0, index);
  EXPECT_EQ(y.dtype(), cr::kInt64);
  EXPECT_EQ(values(y), (std::vector<double>{2, 5, 0, 3}));
  EXPECT_EQ(values(x.index_select(1, index.slice(0, 1, 2))), (std::vector<double>{0, 1, 2}));
}

TEST(IndexSelect, LargeRowsAndElements) {
  // Above the parallel grain, along dim 0 (whole rows) and along the last dim.
  cr::manual_seed(3);
  Tensor x = cr::randn({500, 130});
  Tensor index = cr::randint(0, 500, {400});
  Tensor y = x.index_select(0, index);
  Tensor cols = cr::randint(0, 130, {300});
  Tensor z = x.index_select(1, cols);
  const float* px = x.data_ptr<float>();
  const float* py = y.data_ptr<float>();
  const float* pz = z.data_ptr<float>();
  const std::int64_t* pi = index.data_ptr<std::int64_t>();
  const std::int64_t* pc = cols.data_ptr<std::int64_t>();
  for (std::int64_t r = 0; r < 400; ++r)
    for (std::int64_t c = 0; c < 130; ++c) ASSERT_EQ(py[r * 130 + c], px[pi[r] * 130 + c]);
  for (std::int64_t r = 0; r < 500; ++r)
    for (std::int64_t c = 0; c < 300; ++c) ASSERT_EQ(pz[r * 300 + c], px[r * 130 + pc[c]]);
  // The same picks through a transposed (non-contiguous) view.
  Tensor zt = x.t().index_select(0, cols);
  EXPECT_EQ(values(zt), values(z.t()));
}

TEST(IndexSelect, RepeatedIndicesAccumulateGradient) {
  Tensor x = cr::zeros({3, 2}, cr::TensorOptions().requires_grad(true));
  Tensor y = x.index_select(0, longs({1, 1, 2, 1}));
  EXPECT_STREQ(y.grad_fn()->name(), "IndexSelectBackward");
  (y * cr::tensor({1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0}).reshape({4, 2})).sum().backward();
  EXPECT_EQ(values(x.grad()), (std::vector<double>{0, 0, 1 + 3 + 7, 2 + 4 + 8, 5, 6}));
}

TEST(IndexSelect, Gradcheck) {
  Tensor x = transposed_leaf({4, 3});
  Tensor rows = longs({3, 0, 3, 1, 3});
  auto along0 = [rows](const std::vector<Tensor>& in) { return in[0].index_select(0, rows); };
  expect_gradcheck(along0, {x});
  expect_gradgradcheck(along0, {x});
  auto along1 = [](const std::vector<Tensor>& in) { return cr::index_select(in[0], -1, longs({2, 2, 0})); };
  expect_gradcheck(along1, {x});
  expect_gradgradcheck(along1, {x});
}

TEST(IndexSelect, Errors) {
  Tensor x = cr::ones({3, 4});
  expect_error([&] { x.index_select(0, longs({0, 5})); }, "index_select", "index 5 is out of range for dim 0 with size 3");
  expect_error([&] { x.index_select(1, longs({-1})); }, "index_select", "index -1");
  expect_error([&] { x.index_select(0, cr::tensor({0.0, 1.0})); }, "index_select", "int64");
  expect_error([&] { x.index_select(0, longs({0, 1}, {1, 2})); }, "index_select", "1-D");
  expect_error([&] { x.index_select(2, longs({0})); }, "index_select", "dim 2");
  expect_error([&] { cr::scalar_tensor(1.0).index_select(0, longs({0})); }, "index_select", "0-dim");
}

// ---- index_add ----------------------------------------------------------------------

TEST(IndexAdd, AddsSlicesOutOfPlace) {
  Tensor x = cr::ones({3, 2});
  Tensor src = cr::tensor({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}).reshape({3, 2});
  Tensor y = cr::index_add(x, 0, longs({2, 0, 2}), src);
  EXPECT_EQ(values(y), (std::vector<double>{4, 5, 1, 1, 7, 9}));
  EXPECT_EQ(values(x), (std::vector<double>{1, 1, 1, 1, 1, 1}));  // untouched
  Tensor z = x.t().index_add(-1, longs({1}), cr::full({2, 1}, 10.0));
  EXPECT_EQ(values(z), (std::vector<double>{1, 11, 1, 1, 11, 1}));
}

TEST(IndexAdd, Gradcheck) {
  Tensor x = transposed_leaf({4, 3});
  Tensor src = transposed_leaf({2, 3});
  auto fn = [](const std::vector<Tensor>& in) { return cr::index_add(in[0], 0, longs({3, 3}), in[1]); };
  expect_gradcheck(fn, {x, src});
  expect_gradgradcheck(fn, {x, src});
}

TEST(IndexAdd, Errors) {
  Tensor x = cr::ones({3, 2});
  expect_error([&] { cr::index_add(x, 0, longs({0}), cr::ones({2, 2})); }, "index_add", "[2, 2]");
  expect_error([&] { cr::index_add(x, 0, longs({0, 1}), cr::ones({2, 3})); }, "index_add", "[2, 3]");
  expect_error([&] { cr::index_add(x, 0, longs({3}), cr::ones({1, 2})); }, "index_add", "index 3");
  expect_error([&] { cr::index_add(x, 0, longs({0}), cr::ones({1, 2}, cr::kFloat64)); }, "index_add");
}

// ---- gather -------------------------------------------------------------------------

TEST(Gather, AlongEachDim) {
  Tensor t = cr::tensor({1.0, 2.0, 3.0, 4.0}).reshape({2, 2});
  Tensor y = cr::gather(t, 1, longs({0, 0, 1, 0}, {2, 2}));
  EXPECT_EQ(values(y), (std::vector<double>{1, 1, 4, 3}));
  Tensor z = t.gather(0, longs({1, 0, 1}, {1, 3}).slice(1, 0, 2));  // [[1, 0]]
  EXPECT_EQ(z.sizes(), (cr::Shape{1, 2}));
  EXPECT_EQ(values(z), (std::vector<double>{3, 2}));
  EXPECT_EQ(values(t.gather(-1, longs({1, 1}, {2, 1}))), (std::vector<double>{2, 4}));
}

TEST(Gather, SmallerIndexNonContiguousAndInt64) {
  Tensor x = cr::arange(0, 12, 1, cr::kInt64).reshape({3, 4}).t();  // [4, 3]: x[i][j] = 4j + i
  Tensor index = longs({2, 0, 1, 1}, {2, 2}).t();                   // [[2, 1], [0, 1]]
  Tensor y = x.gather(1, index);
  EXPECT_EQ(y.dtype(), cr::kInt64);
  EXPECT_EQ(values(y), (std::vector<double>{8, 4, 1, 5}));
  Tensor w = x.gather(0, index);  // rows picked per column: x[2][0], x[1][1], x[0][0], x[1][1]
  EXPECT_EQ(values(w), (std::vector<double>{2, 5, 0, 5}));
}

TEST(Gather, LargeMatchesLoop) {
  cr::manual_seed(5);
  Tensor x = cr::randn({300, 150}, cr::kFloat64);
  Tensor index = cr::randint(0, 150, {300, 200});
  Tensor y = x.gather(1, index);
  const double* px = x.data_ptr<double>();
  const double* py = y.data_ptr<double>();
  const std::int64_t* pi = index.data_ptr<std::int64_t>();
  for (std::int64_t r = 0; r < 300; ++r)
    for (std::int64_t c = 0; c < 200; ++c) ASSERT_EQ(py[r * 200 + c], px[r * 150 + pi[r * 200 + c]]);
}

TEST(Gather, RepeatedIndicesAccumulateGradient) {
  Tensor x = cr::zeros({2, 3}, cr::TensorOptions().requires_grad(true));
  Tensor y = x.gather(1, longs({2, 2, 2, 0, 1, 0}, {2, 3}));
  EXPECT_STREQ(y.grad_fn()->name(), "GatherBackward");
  (y * cr::tensor({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}).reshape({2, 3})).sum().backward();
  EXPECT_EQ(values(x.grad()), (std::vector<double>{0, 0, 6, 10, 5, 0}));
}

TEST(Gather, Gradcheck) {
  Tensor x = transposed_leaf({4, 3});
  Tensor index = longs({0, 2, 2, 1, 0, 0}, {3, 2});  // smaller than x along dim 1
  auto along1 = [index](const std::vector<Tensor>& in) { return in[0].gather(1, index); };
  expect_gradcheck(along1, {x});
  expect_gradgradcheck(along1, {x});
  auto along0 = [](const std::vector<Tensor>& in) {
    return cr::gather(in[0], -2, longs({3, 3, 0, 1, 3, 2, 2, 2, 2}, {3, 3}).t());
  };
  expect_gradcheck(along0, {x});
  expect_gradgradcheck(along0, {x});
}

TEST(Gather, Errors) {
  Tensor x = cr::ones({2, 3});
  expect_error([&] { x.gather(1, longs({0, 3}, {2, 1})); }, "gather", "index 3 is out of range for dim 1 with size 3");
  expect_error([&] { x.gather(0, longs({-2}, {1, 1})); }, "gather", "index -2");
  expect_error([&] { x.gather(1, longs({0, 1})); }, "gather", "[2]");
  expect_error([&] { x.gather(1, longs({0, 0, 0}, {3, 1})); }, "gather", "[3, 1]");
  expect_error([&] { x.gather(1, cr::zeros({2, 1}, cr::kFloat64)); }, "gather", "int64");
  expect_error([&] { x.gather(-3, longs({0}, {1, 1})); }, "gather", "dim -3");
}

// ---- scatter_add --------------------------------------------------------------------

TEST(ScatterAdd, PyTorchDocExample) {
  // As in PyTorch's docs: src is bigger than the index, so only the part of
  // src the index covers (row 0, columns 0..3) is read.
  Tensor src = cr::arange(1, 11, 1, cr::kFloat32).reshape({2, 5});
  Tensor index = longs({0, 1, 2, 0}, {1, 4});
  Tensor y = cr::scatter_add(cr::zeros({3, 5}), 0, index, src);
  EXPECT_EQ(values(y), (std::vector<double>{1, 0, 0, 4, 0,  //
                                            0, 2, 0, 0, 0,  //
                                            0, 0, 3, 0, 0}));
}

TEST(ScatterAdd, RepeatedIndicesAccumulateOutOfPlace) {
  Tensor x = cr::ones({2, 3});
  Tensor src = cr::tensor({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}).reshape({2, 3});
  Tensor y = x.scatter_add(-1, longs({2, 2, 0, 1, 1, 1}, {2, 3}), src);
  EXPECT_EQ(values(y), (std::vector<double>{1 + 3, 1, 1 + 1 + 2, 1, 1 + 4 + 5 + 6, 1}));
  EXPECT_EQ(values(x), (std::vector<double>{1, 1, 1, 1, 1, 1}));
}

TEST(ScatterAdd, NonContiguousInt64) {
  Tensor x = cr::zeros({3, 2}, cr::kInt64).t();  // [2, 3], transposed
  Tensor src = cr::arange(1, 7, 1, cr::kInt64).reshape({3, 2}).t();  // [[1, 3, 5], [2, 4, 6]]
  Tensor index = longs({1, 0, 1, 1, 1, 0}, {3, 2}).t();             // [[1, 1, 1], [0, 1, 0]]
  Tensor y = x.scatter_add(0, index, src);
  EXPECT_EQ(y.dtype(), cr::kInt64);
  EXPECT_EQ(values(y), (std::vector<double>{2, 0, 6, 1, 3 + 4, 5}));
}

TEST(ScatterAdd, LargeMatchesLoop) {
  // Along dim 1 the rows split across threads; along dim 0 they must not.
  cr::manual_seed(7);
  Tensor src = cr::randn({300, 200}, cr::kFloat64);
  for (std::int64_t dim : {0, 1}) {
    Tensor index = cr::randint(0, 40, {300, 200});
    Tensor y = cr::zeros({300, 200}, cr::kFloat64).scatter_add(dim, index, src);
    std::vector<double> expected(300 * 200, 0.0);
    const double* ps = src.data_ptr<double>();
    const std::int64_t* pi = index.data_ptr<std::int64_t>();
    for (std::int64_t r = 0; r < 300; ++r)
      for (std::int64_t c = 0; c < 200; ++c) {
        const std::int64_t at = dim == 0 ? pi[r * 200 + c] * 200 + c : r * 200 + pi[r * 200 + c];
        expected[at] += ps[r * 200 + c];
      }
    std::vector<double> got = values(y);
    for (std::size_t i = 0; i < expected.size(); ++i) ASSERT_NEAR(got[i], expected[i], 1e-9) << "dim " << dim;
  }
}

TEST(ScatterAdd, BackwardGathersForSrc) {
  Tensor x = cr::zeros({2, 3}, cr::TensorOptions().requires_grad(true));
  Tensor src = cr::zeros({2, 2}, cr::TensorOptions().requires_grad(true));
  Tensor y = x.scatter_add(1, longs({2, 2, 0, 1}, {2, 2}), src);
  EXPECT_STREQ(y.grad_fn()->name(), "ScatterAddBackward");
  (y * cr::tensor({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}).reshape({2, 3})).sum().backward();
  EXPECT_EQ(values(x.grad()), (std::vector<double>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(values(src.grad()), (std::vector<double>{3, 3, 4, 5}));
}

TEST(ScatterAdd, Gradcheck) {
  Tensor x = transposed_leaf({3, 4});
  Tensor src = transposed_leaf({3, 3});  // larger than the index along dim 0
  Tensor index = longs({1, 1, 3, 0, 3, 3}, {2, 3});
  auto fn = [index](const std::vector<Tensor>& in) { return in[0].scatter_add(1, index, in[1]); };
  expect_gradcheck(fn, {x, src});
  expect_gradgradcheck(fn, {x, src});
  auto along0 = [](const std::vector<Tensor>& in) {
    return cr::scatter_add(in[0], 0, longs({2, 2, 2, 0, 1, 2}, {2, 3}), in[1]);
  };
  expect_gradcheck(along0, {x, src});
  expect_gradgradcheck(along0, {x, src});
}

TEST(ScatterAdd, Errors) {
  Tensor x = cr::zeros({2, 3});
  expect_error([&] { x.scatter_add(1, longs({3}, {1, 1}), cr::ones({1, 1})); }, "scatter_add",
               "index 3 is out of range for dim 1 with size 3");
  expect_error([&] { x.scatter_add(1, longs({0, 0}, {1, 2}), cr::ones({1, 1})); }, "scatter_add", "[1, 1]");
  expect_error([&] { x.scatter_add(0, longs({0, 0, 0, 0}, {1, 4}), cr::ones({1, 4})); }, "scatter_add", "[1, 4]");
  expect_error([&] { x.scatter_add(0, longs({0}, {1, 1}), cr::ones({1, 1}, cr::kFloat64)); }, "scatter_add");
  expect_error([&] { x.scatter_add(0, cr::zeros({1, 1}), cr::ones({1, 1})); }, "scatter_add", "int64");
  expect_error([&] { x.scatter_add(0, longs({0}), cr::ones({1})); }, "scatter_add", "[1]");
}

// ---- embedding ----------------------------------------------------------------------

TEST(Embedding, LooksUpRowsForAnyIndexShape) {
  Tensor weight = cr::arange(0, 12, 1, cr::kFloat32).reshape({4, 3});
  Tensor y = cr::embedding(weight, longs({0, 3, 3, 1}, {2, 2}));
  EXPECT_EQ(y.sizes(), (cr::Shape{2, 2, 3}));
  EXPECT_EQ(values(y), (std::vector<double>{0, 1, 2, 9, 10, 11, 9, 10, 11, 3, 4, 5}));
  Tensor one = cr::embedding(weight, cr::scalar_tensor(2.0, cr::kInt64));
  EXPECT_EQ(one.sizes(), (cr::Shape{3}));
  EXPECT_EQ(values(one), (std::vector<double>{6, 7, 8}));
  EXPECT_EQ(cr::embedding(weight, longs({}, {0, 5})).sizes(), (cr::Shape{0, 5, 3}));
}

TEST(Embedding, NonContiguousWeightAndIndices) {
  Tensor weight = cr::arange(0, 6, 1, cr::kFloat64).reshape({2, 3}).t();  // [[0, 3], [1, 4], [2, 5]]
  Tensor indices = longs({2, 1, 0, 0}, {2, 2}).t();                      // [[2, 0], [1, 0]]
  Tensor y = cr::embedding(weight, indices);
  EXPECT_EQ(y.sizes(), (cr::Shape{2, 2, 2}));
  EXPECT_EQ(values(y), (std::vector<double>{2, 5, 0, 3, 1, 4, 0, 3}));
}

TEST(Embedding, LargeTableCopiesRows) {
  cr::manual_seed(11);
  Tensor weight = cr::randn({1000, 64});
  Tensor indices = cr::randint(0, 1000, {40, 50});
  Tensor y = cr::embedding(weight, indices);
  ASSERT_EQ(y.sizes(), (cr::Shape{40, 50, 64}));
  const float* pw = weight.data_ptr<float>();
  const float* py = y.data_ptr<float>();
  const std::int64_t* pi = indices.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < 2000; ++i)
    for (std::int64_t c = 0; c < 64; ++c) ASSERT_EQ(py[i * 64 + c], pw[pi[i] * 64 + c]);
}

TEST(Embedding, RepeatedIndicesSumGradientRows) {
  Tensor weight = cr::zeros({3, 2}, cr::TensorOptions().requires_grad(true));
  Tensor y = cr::embedding(weight, longs({0, 2, 0, 0}, {2, 2}));
  EXPECT_STREQ(y.grad_fn()->name(), "EmbeddingBackward");
  (y * cr::arange(1, 9, 1, cr::kFloat32).reshape({2, 2, 2})).sum().backward();
  EXPECT_EQ(values(weight.grad()), (std::vector<double>{1 + 5 + 7, 2 + 6 + 8, 0, 0, 3, 4}));
}

TEST(Embedding, Gradcheck) {
  Tensor weight = transposed_leaf({5, 3});
  auto fn = [](const std::vector<Tensor>& in) { return cr::embedding(in[0], longs({4, 0, 4, 2, 4, 1}, {3, 2})); };
  expect_gradcheck(fn, {weight});
  expect_gradgradcheck(fn, {weight});
}

TEST(Embedding, Errors) {
  Tensor weight = cr::ones({4, 3});
  expect_error([&] { cr::embedding(weight, longs({1, 4})); }, "embedding", "index 4 is out of range for dim 0 with size 4");
  expect_error([&] { cr::embedding(weight, longs({-1})); }, "embedding", "index -1");
  expect_error([&] { cr::embedding(weight, cr::tensor({1.0})); }, "embedding", "int64");
  expect_error([&] { cr::embedding(cr::ones({4}), longs({1})); }, "embedding", "2-D");
}

}  // namespace
