// Tensors: factories, metadata, views without copies, conversion, printing.

#include <gtest/gtest.h>

#include <sstream>

#include "chainrule/chainrule.h"
#include "support/tensor_testing.h"

namespace {

using cr::Tensor;
using cr::testing::expect_error;
using cr::testing::values;

TEST(Factories, ShapesDtypesAndValues) {
  Tensor z = cr::zeros({2, 3});
  EXPECT_EQ(z.sizes(), (cr::Shape{2, 3}));
  EXPECT_EQ(z.strides(), (cr::Shape{3, 1}));
  EXPECT_EQ(z.dtype(), cr::kFloat32);
  EXPECT_EQ(z.numel(), 6);
  EXPECT_EQ(values(z), std::vector<double>(6, 0.0));
  EXPECT_EQ(values(cr::ones({2}, cr::kInt64)), (std::vector<double>{1, 1}));
  EXPECT_EQ(values(cr::full({2}, 2.5, cr::kFloat64)), (std::vector<double>{2.5, 2.5}));
  EXPECT_EQ(cr::empty({4, 0}).numel(), 0);
  EXPECT_EQ(values(cr::arange(3)), (std::vector<double>{0, 1, 2}));
  EXPECT_EQ(values(cr::arange(1, 2, 0.25, cr::kFloat32)), (std::vector<double>{1, 1.25, 1.5, 1.75}));
  EXPECT_EQ(values(cr::linspace(0, 1, 5)), (std::vector<double>{0, 0.25, 0.5, 0.75, 1}));
  EXPECT_EQ(values(cr::eye(2)), (std::vector<double>{1, 0, 0, 1}));
  EXPECT_EQ(cr::scalar_tensor(3.0).dim(), 0);
  EXPECT_EQ(cr::scalar_tensor(3.0).item<float>(), 3.0f);
  Tensor t = cr::tensor(std::vector<std::int64_t>{1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(t.dtype(), cr::kInt64);
  EXPECT_EQ(t.sizes(), (cr::Shape{2, 3}));
  EXPECT_EQ(values(cr::zeros_like(t)), std::vector<double>(6, 0.0));
  EXPECT_EQ(cr::ones({1}, cr::TensorOptions().dtype(cr::kFloat64).requires_grad(true)).requires_grad(), true);
}

TEST(Factories, StorageIs64ByteAligned) {
  for (std::int64_t n : {1, 17, 1000, 100000})
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(cr::empty({n}).raw_data()) % 64, 0u) << n;
}

TEST(Factories, RandomAreReproducibleWithManualSeed) {
  cr::manual_seed(42);
  Tensor a = cr::randn({100}), u = cr::rand({100}), i = cr::randint(0, 10, {100});
  cr::manual_seed(42);
  Tensor b = cr::randn({100}), v = cr::rand({100}), j = cr::randint(0, 10, {100});
  EXPECT_EQ(values(a), values(b));
  EXPECT_EQ(values(u), values(v));
  EXPECT_EQ(values(i), values(j));
  EXPECT_NE(values(a), values(cr::randn({100})));
}

TEST(Factories, RandomDistributionsLookRight) {
  cr::manual_seed(1);
  auto n = values(cr::randn({20000}, cr::kFloat64));
  double mean = 0, sq = 0;
  for (double v : n) mean += v / n.size();
  for (double v : n) sq += (v - mean) * (v - mean) / n.size();
  EXPECT_NEAR(mean, 0.0, 0.03);
  EXPECT_NEAR(sq, 1.0, 0.05);
  for (double v : values(cr::rand({1000}))) {
    EXPECT_GE(v, 0.0);
    EXPECT_LT(v, 1.0);
  }
  for (double v : values(cr::randint(-3, 3, {1000}))) {
    EXPECT_GE(v, -3);
    EXPECT_LT(v, 3);
  }
  auto perm = values(cr::randperm(10));
  std::sort(perm.begin(), perm.end());
  EXPECT_EQ(perm, values(cr::arange(10)));
}

TEST(Factories, BadArgumentsAreErrors) {
  expect_error([] { (void)cr::zeros({2, -1}); }, "full", "negative");
  expect_error([] { (void)cr::arange(0, 5, -1); }, "arange");
  expect_error([] { (void)cr::randint(5, 5, {2}); }, "randint");
  expect_error([] { (void)cr::tensor(std::vector<float>{1, 2, 3}, {2, 2}); }, "tensor", "[2, 2]");
  expect_error([] { (void)cr::ones({1}, cr::TensorOptions(cr::kInt64).requires_grad(true)); }, "full", "float");
}

TEST(Factories, FromBlobSharesMemoryAndRunsTheDeleter) {
  static int deleted = 0;
  float* data = new float[4]{1, 2, 3, 4};
  {
    Tensor t = cr::from_blob(data, {2, 2}, cr::kFloat32, [](void* p) {
      delete[] static_cast<float*>(p);
      ++deleted;
    });
    data[3] = 9;
    EXPECT_EQ(values(t), (std::vector<double>{1, 2, 3, 9}));
    Tensor view = t.t();  // keeps the memory alive after t goes
    t = Tensor();
    EXPECT_EQ(deleted, 0);
  }
  EXPECT_EQ(deleted, 1);
}

TEST(TensorData, ItemAndDataPtrCheckTheirArguments) {
  Tensor x = cr::tensor({1.5});
  EXPECT_EQ(x.item<double>(), 1.5);
  EXPECT_EQ(x.item<std::int64_t>(), 1);
  expect_error([&] { (void)x.data_ptr<double>(); }, "data_ptr", "float32");
  expect_error([] { (void)cr::ones({2}).item<float>(); }, "item", "one element");
  expect_error([] { (void)cr::ones({2}).size(2); }, "size", "out of range");
}

TEST(Views, ShareStorageWithoutCopying) {
  Tensor x = cr::arange(0, 6, 1, cr::kFloat32);
  Tensor m = x.view({2, 3});
  EXPECT_EQ(m.raw_data(), x.raw_data());
  Tensor t = m.t();
  EXPECT_EQ(t.sizes(), (cr::Shape{3, 2}));
  EXPECT_EQ(t.strides(), (cr::Shape{1, 3}));
  EXPECT_FALSE(t.is_contiguous());
  EXPECT_EQ(values(t), (std::vector<double>{0, 3, 1, 4, 2, 5}));
  m.select(1, 2).fill_(-1);  // writes through to x
  EXPECT_EQ(values(x), (std::vector<double>{0, 1, -1, 3, 4, -1}));
}

TEST(Views, ShapeOps) {
  Tensor x = cr::arange(0, 24, 1, cr::kFloat32).reshape({2, 3, 4});
  EXPECT_EQ(x.permute({2, 0, 1}).sizes(), (cr::Shape{4, 2, 3}));
  EXPECT_EQ(values(x.permute({2, 0, 1}).select(0, 1).select(0, 1)), (std::vector<double>{13, 17, 21}));
  EXPECT_EQ(x.transpose(0, 2).sizes(), (cr::Shape{4, 3, 2}));
  EXPECT_EQ(x.unsqueeze(1).sizes(), (cr::Shape{2, 1, 3, 4}));
  EXPECT_EQ(x.unsqueeze(-1).sizes(), (cr::Shape{2, 3, 4, 1}));
  EXPECT_EQ(x.unsqueeze(1).squeeze().sizes(), (cr::Shape{2, 3, 4}));
  EXPECT_EQ(x.unsqueeze(0).squeeze(0).sizes(), (cr::Shape{2, 3, 4}));
  EXPECT_EQ(x.squeeze(1).sizes(), (cr::Shape{2, 3, 4}));  // size 3: unchanged
  EXPECT_EQ(x.flatten().sizes(), (cr::Shape{24}));
  EXPECT_EQ(x.flatten(1).sizes(), (cr::Shape{2, 12}));
  EXPECT_EQ(x.reshape({-1, 4}).sizes(), (cr::Shape{6, 4}));
  EXPECT_EQ(values(x.narrow(2, 1, 2).select(0, 0).select(0, 0)), (std::vector<double>{1, 2}));
  EXPECT_EQ(values(x.slice(2, 0, 4, 3).select(0, 1).select(0, 2)), (std::vector<double>{20, 23}));
  EXPECT_EQ(values(x.slice(0, -1, 2).select(1, 0).select(1, 0)), (std::vector<double>{12}));
  Tensor row = cr::tensor({1.0, 2.0});
  Tensor e = row.expand({3, 2});
  EXPECT_EQ(e.strides(), (cr::Shape{0, 1}));
  EXPECT_EQ(values(e), (std::vector<double>{1, 2, 1, 2, 1, 2}));
  EXPECT_EQ(row.unsqueeze(1).expand({-1, 4}).sizes(), (cr::Shape{2, 4}));
}

TEST(Views, ReshapeOfNonContiguousCopies) {
  Tensor x = cr::arange(0, 6, 1, cr::kFloat32).reshape({2, 3}).t();
  Tensor r = x.reshape({6});
  EXPECT_EQ(values(r), (std::vector<double>{0, 3, 1, 4, 2, 5}));
  EXPECT_NE(r.raw_data(), x.raw_data());
  expect_error([&] { (void)x.view({6}); }, "view", "reshape");
}

TEST(Views, BadArgumentsAreErrors) {
  Tensor x = cr::ones({2, 3});
  expect_error([&] { (void)x.reshape({4, 2}); }, "reshape", "[4, 2]");
  expect_error([&] { (void)x.reshape({-1, -1}); }, "reshape", "-1");
  expect_error([&] { (void)x.permute({0, 0}); }, "permute", "repeats");
  expect_error([&] { (void)x.permute({0}); }, "permute");
  expect_error([&] { (void)x.transpose(0, 2); }, "transpose", "out of range");
  expect_error([&] { (void)x.expand({4, 3}); }, "expand", "[4, 3]");
  expect_error([&] { (void)x.narrow(1, 2, 2); }, "narrow", "out of bounds");
  expect_error([&] { (void)x.select(0, 2); }, "select", "index 2");
  expect_error([&] { (void)x.slice(1, 0, 3, 0); }, "slice", "step");
  expect_error([&] { (void)cr::ones({2, 2, 2}).t(); }, "t", "2 dims");
}

TEST(Views, GradientsFlowBackThroughViews) {
  cr::manual_seed(3);
  auto f = [](const std::vector<Tensor>& in) {
    Tensor x = in[0];
    return x.reshape({4, 3}).t().unsqueeze(0).expand({2, 3, 4}).slice(2, 1, 4, 2).select(1, 2).flatten() *
           x.permute({1, 0}).narrow(0, 1, 2).narrow(1, 0, 2).reshape({4}).unsqueeze(1).squeeze();
  };
  EXPECT_GRADCHECK(f, std::vector<Tensor>{cr::testing::leaf({3, 4})});
  EXPECT_GRADGRADCHECK(f, std::vector<Tensor>{cr::testing::leaf({3, 4})});
  EXPECT_GRADCHECK(f, std::vector<Tensor>{cr::testing::strided_leaf({3, 4})});
}

TEST(Conversion, ContiguousCloneTo) {
  Tensor x = cr::arange(0, 4, 1, cr::kFloat32).reshape({2, 2});
  EXPECT_TRUE(x.contiguous().is_same(x));
  Tensor c = x.t().contiguous();
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_EQ(values(c), (std::vector<double>{0, 2, 1, 3}));
  Tensor k = x.clone();
  k.fill_(7);
  EXPECT_EQ(values(x), (std::vector<double>{0, 1, 2, 3}));
  Tensor d = cr::tensor({1.7, -1.7}).to(cr::kInt64);
  EXPECT_EQ(values(d), (std::vector<double>{1, -1}));
  EXPECT_EQ(values(cr::tensor({0.0, 2.0}).to(cr::kBool)), (std::vector<double>{0, 1}));
  EXPECT_EQ(x.to(cr::kFloat64).dtype(), cr::kFloat64);
}

TEST(Printing, LooksLikePyTorch) {
  std::ostringstream os;
  os << cr::tensor({1.0, 2.5, -3.0}).reshape({1, 3});
  EXPECT_EQ(os.str(), "tensor([[1.0000, 2.5000, -3.0000]], size=[1, 3], dtype=float32)");
  Tensor x = cr::ones({2}).requires_grad_();
  EXPECT_EQ(x.to_string(), "tensor([1.0000, 1.0000], size=[2], dtype=float32, requires_grad=True)");
  EXPECT_EQ((x * 2.0).to_string(), "tensor([2.0000, 2.0000], size=[2], dtype=float32, grad_fn=<MulBackward>)");
  EXPECT_EQ(cr::arange(3).to_string(), "tensor([0, 1, 2], size=[3], dtype=int64)");
  EXPECT_EQ(cr::arange(2).gt(0.5).to_string(), "tensor([False, True], size=[2], dtype=bool)");
  EXPECT_EQ(cr::scalar_tensor(2.0).to_string(), "tensor(2.0000, size=[], dtype=float32)");
  std::string big = cr::zeros({2000}).to_string();
  EXPECT_NE(big.find("..."), std::string::npos);
  EXPECT_LT(big.size(), 200u);
}

TEST(Shapes, TooManyDimsIsAnError) {
  EXPECT_THROW((void)cr::Shape({1, 1, 1, 1, 1, 1, 1, 1, 1}), cr::Error);
}

}  // namespace
