// batch_norm and layer_norm: values against references composed from public
// ops, running-stat updates, eval mode, gradients (fused and composed paths,
// first and second order), errors.

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "chainrule/chainrule.h"
#include "chainrule/nn/functional.h"
#include "support/tensor_testing.h"

namespace {

namespace F = cr::nn::functional;
using cr::Tensor;
using cr::testing::expect_error;
using cr::testing::leaf;
using cr::testing::strided_leaf;
using cr::testing::values;
using Inputs = std::vector<Tensor>;

void expect_close(const Tensor& got, const Tensor& want, double tol) {
  ASSERT_EQ(got.sizes(), want.sizes());
  const std::vector<double> a = values(got), b = values(want);
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], tol) << "at " << i;
}

std::vector<std::int64_t> channel_dims(std::int64_t ndim) {
  std::vector<std::int64_t> dims{0};
  for (std::int64_t d = 2; d < ndim; ++d) dims.push_back(d);
  return dims;
}

cr::Shape channel_shape(std::int64_t c, std::int64_t ndim) {
  cr::Shape s;
  s.resize(static_cast<int>(ndim), 1);
  s[1] = c;
  return s;
}

// (x − mean)/sqrt(var + eps)·w + b with the given per-channel statistics.
Tensor reference_normalize(const Tensor& x, const Tensor& mean, const Tensor& var, const Tensor& w, const Tensor& b,
                           double eps) {
  const cr::Shape cs = channel_shape(x.sizes()[1], x.dim());
  Tensor y = (x - mean.reshape(cs)) / (var.reshape(cs) + eps).sqrt();
  if (w.defined()) y = y * w.reshape(cs);
  if (b.defined()) y = y + b.reshape(cs);
  return y;
}

Tensor f64(const cr::Shape& shape) { return cr::randn(shape, cr::kFloat64); }

// ---- batch_norm ------------------------------------------------------------

TEST(BatchNorm, TrainingNormalisesWithBatchStatistics) {
  cr::manual_seed(1);
  for (const cr::Shape& shape : {cr::Shape{6, 4}, cr::Shape{4, 3, 5}, cr::Shape{3, 2, 4, 5}}) {
    Tensor x = f64(shape) * 2.0 + 0.5;
    const std::int64_t c = shape[1];
    Tensor w = f64({c}), b = f64({c});
    const auto dims = channel_dims(x.dim());
    Tensor want = reference_normalize(x, x.mean(dims), x.var(dims, /*unbiased=*/false), w, b, 1e-5);
    expect_close(F::batch_norm(x, {}, {}, w, b, /*training=*/true), want, 1e-12);
    // Without affine parameters: plain normalisation, zero mean and unit variance per channel.
    Tensor y = F::batch_norm(x, {}, {}, {}, {}, true, 0.1, 0.0);
    expect_close(y.mean(dims), cr::zeros({c}, cr::kFloat64), 1e-12);
    expect_close(y.var(dims, false), cr::ones({c}, cr::kFloat64), 1e-10);
  }
}

TEST(BatchNorm, TrainingUpdatesRunningStatsWithUnbiasedVariance) {
  cr::manual_seed(2);
  Tensor x = f64({5, 3, 4}) * 3.0 + 1.0;
  Tensor rm = cr::tensor({0.5, -1.0, 2.0}, cr::kFloat64), rv = cr::tensor({1.0, 2.0, 0.5}, cr::kFloat64);
  const Tensor rm0 = rm.clone(), rv0 = rv.clone();
  const std::uint64_t version = rm.version();
  const double momentum = 0.3;
  F::batch_norm(x, rm, rv, {}, {}, /*training=*/true, momentum);
  const auto dims = channel_dims(3);
  expect_close(rm, rm0 * (1 - momentum) + x.mean(dims) * momentum, 1e-12);
  expect_close(rv, rv0 * (1 - momentum) + x.var(dims, /*unbiased=*/true) * momentum, 1e-12);
  EXPECT_GT(rm.version(), version);
  EXPECT_FALSE(rm.requires_grad());
}

TEST(BatchNorm, RunningStatsUpdateUnderGradRecordingWithoutHistory) {
  cr::manual_seed(3);
  Tensor x = leaf({4, 2});
  Tensor rm = cr::zeros({2}, cr::kFloat64), rv = cr::ones({2}, cr::kFloat64);
  Tensor y = F::batch_norm(x, rm, rv, {}, {}, true);
  EXPECT_TRUE(y.requires_grad());
  EXPECT_FALSE(rm.requires_grad());
  EXPECT_TRUE(rm.is_leaf());
  y.sum().backward();  // the running-stat writes did not disturb what backward saved
  EXPECT_TRUE(x.grad().defined());
}

TEST(BatchNorm, EvalUsesRunningStatsAndLeavesThemAlone) {
  cr::manual_seed(4);
  Tensor x = f64({3, 2, 2, 3});
  Tensor rm = cr::tensor({0.3, -0.2}, cr::kFloat64), rv = cr::tensor({1.5, 0.25}, cr::kFloat64);
  Tensor w = f64({2}), b = f64({2});
  Tensor y = F::batch_norm(x, rm, rv, w, b, /*training=*/false, 0.1, 1e-3);
  expect_close(y, reference_normalize(x, rm, rv, w, b, 1e-3), 1e-12);
  expect_close(rm, cr::tensor({0.3, -0.2}, cr::kFloat64), 0.0);
  expect_close(rv, cr::tensor({1.5, 0.25}, cr::kFloat64), 0.0);
}

TEST(BatchNorm, Float32StaysAccurateWithLargeMeanAndNonContiguousInput) {
  cr::manual_seed(5);
  Tensor base = cr::randn({3, 4, 16, 8}) + 1e4f;  // a mean far above the spread
  Tensor x = base.transpose(2, 3);                 // non-contiguous [3, 4, 8, 16]
  Tensor y = F::batch_norm(x, {}, {}, {}, {}, true, 0.1, 0.0);
  Tensor x64 = x.to(cr::kFloat64);
  const auto dims = channel_dims(4);
  Tensor want = reference_normalize(x64, x64.mean(dims), x64.var(dims, false), {}, {}, 0.0);
  expect_close(y, want, 2e-3);
}

TEST(BatchNorm, Float32BackwardMatchesFloat64) {
  cr::manual_seed(6);
  Tensor x64 = f64({8, 3, 6, 5}), w64 = f64({3}), b64 = f64({3}), g64 = f64({8, 3, 6, 5});
  for (bool training : {true, false}) {
    Tensor rm = cr::tensor({0.1, 0.2, -0.3}, cr::kFloat64), rv = cr::tensor({0.9, 1.1, 2.0}, cr::kFloat64);
    std::vector<Tensor> grads64, grads32;
    for (cr::DType dtype : {cr::kFloat64, cr::kFloat32}) {
      Tensor x = x64.to(dtype).detach().requires_grad_(), w = w64.to(dtype).detach().requires_grad_(),
             b = b64.to(dtype).detach().requires_grad_();
      Tensor y = F::batch_norm(x, rm.to(dtype), rv.to(dtype), w, b, training);
      auto grads = cr::autograd::grad({y}, {x, w, b}, {g64.to(dtype)});
      (dtype == cr::kFloat64 ? grads64 : grads32) = grads;
    }
    for (int i = 0; i < 3; ++i) expect_close(grads32[i], grads64[i], 2e-4 * (i == 0 ? 1 : 100));
  }
}

struct NormCase {
  bool training, affine, strided;
};

Inputs batch_norm_inputs(const cr::Shape& shape, const NormCase& c) {
  Tensor x = c.strided ? strided_leaf(shape) : leaf(shape);
  Tensor w, b;
  if (c.affine) {
    w = leaf({shape[1]});
    b = leaf({shape[1]});
  }
  return {x, w, b};
}

TEST(BatchNorm, GradcheckAndGradgradcheck) {
  cr::manual_seed(7);
  const Tensor rm = cr::tensor({0.2, -0.4, 0.1}, cr::kFloat64), rv = cr::tensor({0.5, 1.3, 2.0}, cr::kFloat64);
  for (const cr::Shape& shape : {cr::Shape{5, 3}, cr::Shape{3, 3, 4}, cr::Shape{2, 3, 2, 3}})
    for (bool training : {true, false})
      for (bool affine : {true, false})
        for (bool strided : {false, true}) {
          const NormCase c{training, affine, strided};
          Inputs in = batch_norm_inputs(shape, c);
          auto f = [&](const Inputs& v) {
            // Training draws on batch statistics only; clones keep rm/rv fixed across calls.
            return F::batch_norm(v[0], training ? Tensor() : rm, training ? Tensor() : rv, v[1], v[2], training, 0.1,
                                 1e-3);
          };
          EXPECT_GRADCHECK(f, in) << shape << " training " << training << " affine " << affine << " strided " << strided;
          EXPECT_GRADGRADCHECK(f, in) << shape << " training " << training << " affine " << affine << " strided "
                                      << strided;
        }
}

TEST(BatchNorm, FusedAndComposedBackwardAgree) {
  cr::manual_seed(8);
  for (bool training : {true, false}) {
    Tensor x = leaf({4, 3, 5}), w = leaf({3}), b = leaf({3}), g = f64({4, 3, 5});
    Tensor rm = cr::tensor({0.1, 0.2, 0.3}, cr::kFloat64), rv = cr::tensor({1.0, 2.0, 3.0}, cr::kFloat64);
    Tensor y = F::batch_norm(x, rm, rv, w, b, training);
    auto fused = cr::autograd::grad({y}, {x, w, b}, {g}, /*retain_graph=*/true, /*create_graph=*/false);
    auto composed = cr::autograd::grad({y}, {x, w, b}, {g}, true, /*create_graph=*/true);
    for (int i = 0; i < 3; ++i) {
      expect_close(fused[i], composed[i], 1e-12);
      EXPECT_FALSE(fused[i].requires_grad());
      // db = Σg does not depend on the inputs; dx and dw do.
      EXPECT_EQ(composed[i].requires_grad(), i < 2) << i;
    }
  }
}

TEST(BatchNorm, Errors) {
  Tensor x = cr::randn({4, 3, 2});
  Tensor c3 = cr::ones({3});
  expect_error([&] { F::batch_norm(cr::randn({4}), {}, {}, {}, {}, true); }, "batch_norm", "[N, C]");
  expect_error([&] { F::batch_norm(x, {}, {}, cr::ones({4}), {}, true); }, "batch_norm", "weight must be 1-D of 3");
  expect_error([&] { F::batch_norm(x, {}, {}, {}, cr::ones({2, 3}), true); }, "batch_norm", "bias");
  expect_error([&] { F::batch_norm(x, cr::zeros({2}), cr::ones({2}), {}, {}, true); }, "batch_norm", "running_mean");
  expect_error([&] { F::batch_norm(x, {}, {}, cr::ones({3}, cr::kFloat64), {}, true); }, "batch_norm",
               "dtype mismatch");
  expect_error([&] { F::batch_norm(x, c3, {}, {}, {}, true); }, "batch_norm", "both");
  expect_error([&] { F::batch_norm(x, {}, {}, {}, {}, /*training=*/false); }, "batch_norm", "evaluation mode");
  expect_error([&] { F::batch_norm(cr::randn({1, 3}), {}, {}, {}, {}, true); }, "batch_norm",
               "more than 1 value per channel");
  expect_error([&] { F::batch_norm(x, {}, {}, {}, {}, true, 0.1, -1.0); }, "batch_norm", "eps");
  expect_error([&] { F::batch_norm(cr::arange(6).reshape({2, 3}), {}, {}, {}, {}, true); }, "batch_norm", "int64");
  // An eval-mode input with one value per channel is fine.
  EXPECT_EQ(F::batch_norm(cr::randn({1, 3}), cr::zeros({3}), c3).sizes(), cr::Shape({1, 3}));
}

// ---- layer_norm ------------------------------------------------------------

Tensor reference_layer_norm(const Tensor& x, int k, const Tensor& w, const Tensor& b, double eps) {
  std::vector<std::int64_t> dims;
  for (int i = 0; i < k; ++i) dims.push_back(x.dim() - k + i);
  Tensor y = (x - x.mean(dims, true)) / (x.var(dims, false, true) + eps).sqrt();
  if (w.defined()) y = y * w;
  if (b.defined()) y = y + b;
  return y;
}

TEST(LayerNorm, MatchesReference) {
  cr::manual_seed(9);
  Tensor x = f64({3, 4, 5}) * 3.0 - 2.0;
  Tensor w1 = f64({5}), b1 = f64({5}), w2 = f64({4, 5}), b2 = f64({4, 5});
  expect_close(F::layer_norm(x, {5}, w1, b1), reference_layer_norm(x, 1, w1, b1, 1e-5), 1e-12);
  expect_close(F::layer_norm(x, {4, 5}, w2, b2, 1e-3), reference_layer_norm(x, 2, w2, b2, 1e-3), 1e-12);
  expect_close(F::layer_norm(x, {3, 4, 5}), reference_layer_norm(x, 3, {}, {}, 1e-5), 1e-12);
  expect_close(F::layer_norm(x, {5}, w1), reference_layer_norm(x, 1, w1, {}, 1e-5), 1e-12);
  expect_close(F::layer_norm(x, {5}, {}, b1), reference_layer_norm(x, 1, {}, b1, 1e-5), 1e-12);
  // float32, large offset, non-contiguous.
  Tensor x32 = (cr::randn({6, 7}) + 5e3f).t();
  expect_close(F::layer_norm(x32, {6}, {}, {}, 0.0), reference_layer_norm(x32.to(cr::kFloat64), 1, {}, {}, 0.0), 2e-3);
}

TEST(LayerNorm, GradcheckAndGradgradcheck) {
  cr::manual_seed(10);
  const cr::Shape shape{3, 2, 4};
  for (int k : {1, 2})
    for (bool affine : {true, false})
      for (bool strided : {false, true}) {
        const cr::Shape norm = k == 1 ? cr::Shape{4} : cr::Shape{2, 4};
        Tensor x = strided ? strided_leaf(shape) : leaf(shape);
        Tensor w = affine ? leaf(norm) : Tensor(), b = affine ? leaf(norm) : Tensor();
        auto f = [&](const Inputs& v) { return F::layer_norm(v[0], norm, v[1], v[2], 1e-3); };
        EXPECT_GRADCHECK(f, (Inputs{x, w, b})) << "k " << k << " affine " << affine << " strided " << strided;
        EXPECT_GRADGRADCHECK(f, (Inputs{x, w, b})) << "k " << k << " affine " << affine << " strided " << strided;
      }
}

TEST(LayerNorm, FusedAndComposedBackwardAgree) {
  cr::manual_seed(11);
  Tensor x = leaf({5, 2, 6}), w = leaf({6}), b = leaf({6}), g = f64({5, 2, 6});
  Tensor y = F::layer_norm(x, {6}, w, b);
  auto fused = cr::autograd::grad({y}, {x, w, b}, {g}, true, false);
  auto composed = cr::autograd::grad({y}, {x, w, b}, {g}, true, true);
  for (int i = 0; i < 3; ++i) expect_close(fused[i], composed[i], 1e-12);
  // And in float32 the fused kernel agrees with float64 to float precision.
  Tensor x32 = x.detach().to(cr::kFloat32).requires_grad_(), w32 = w.detach().to(cr::kFloat32).requires_grad_();
  auto g32 = cr::autograd::grad({F::layer_norm(x32, {6}, w32)}, {x32, w32}, {g.to(cr::kFloat32)});
  auto g64 = cr::autograd::grad({F::layer_norm(x, {6}, w)}, {x, w}, {g});
  expect_close(g32[0], g64[0], 1e-4);
  expect_close(g32[1], g64[1], 1e-4);
}

TEST(LayerNorm, Errors) {
  Tensor x = cr::randn({2, 3, 4});
  expect_error([&] { F::layer_norm(x, {3}); }, "layer_norm", "trailing dims");
  expect_error([&] { F::layer_norm(x, {}); }, "layer_norm", "non-empty");
  expect_error([&] { F::layer_norm(x, {1, 2, 3, 4}); }, "layer_norm", "[1, 2, 3, 4]");
  expect_error([&] { F::layer_norm(x, {4}, cr::ones({3})); }, "layer_norm", "weight must have normalized_shape");
  expect_error([&] { F::layer_norm(x, {4}, {}, cr::ones({4, 1})); }, "layer_norm", "bias");
  expect_error([&] { F::layer_norm(x, {4}, cr::ones({4}, cr::kFloat64)); }, "layer_norm", "dtype mismatch");
  expect_error([&] { F::layer_norm(x, {4}, {}, {}, -1e-5); }, "layer_norm", "eps");
  expect_error([&] { F::layer_norm(cr::arange(4), {4}); }, "layer_norm", "int64");
}

}  // namespace
