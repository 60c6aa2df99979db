// float32 convolutions wide enough for oneDNN (≥ 16 channels per group, a
// kernel larger than 1×1) run its kernels, with reorders into and out of its
// blocked layouts. Their values and all three gradients must agree with the
// float64 im2col path on every geometry, including channel counts oneDNN pads
// to a multiple of 16; the same must hold with the oneDNN path switched off.

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "backend/cpu/onednn_conv.h"
#include "chainrule/backend/cpu/blas.h"
#include "chainrule/chainrule.h"
#include "chainrule/nn/functional.h"
#include "support/conv_case.h"
#include "support/tensor_testing.h"

namespace {

namespace F = cr::nn::functional;
using cr::Tensor;
using cr::testing::values;

using WideCase = cr::testing::ConvCase;
using cr::testing::describe;

// got and expected agree to float32's accuracy on sums of a few hundred products.
void expect_close(const std::vector<double>& got, const std::vector<double>& expected, const std::string& what) {
  ASSERT_EQ(got.size(), expected.size()) << what;
  for (std::size_t i = 0; i < expected.size(); ++i)
    ASSERT_NEAR(got[i], expected[i], 2e-4 * (1 + std::abs(expected[i]))) << what << " at " << i;
}

const std::vector<WideCase> kWideCases = {
    {2, 16, 9, 9, 16, 3, 3, 1, 1, 1, 1, true},
    {2, 20, 7, 8, 24, 3, 3, 2, 1, 1, 1, true},                 // channels padded to 32; odd extents at stride 2
    {1, 32, 10, 9, 16, 3, 2, {2, 1}, {1, 0}, {2, 1}, 1, false},  // rectangular kernel, mixed stride and dilation
    {2, 32, 6, 6, 32, 3, 3, 1, 1, 1, 2, true},                 // two groups of 16
    {1, 16, 5, 5, 17, 5, 5, 1, 2, 1, 1, true},                 // kernel as large as the padded input
    {3, 16, 7, 7, 16, 3, 3, 3, 0, 1, 1, false},                // stride larger than the kernel
    {2, 64, 4, 4, 32, 3, 3, 1, 1, 1, 1, true},                 // a small plane, as in a ResNet's last stage
};

// Turns the oneDNN path on or off for a scope, then back to what it was.
class OneDnnSwitch {
 public:
  explicit OneDnnSwitch(bool on) : before_(cr::cpu::onednn_convolution_enabled()) {
    cr::cpu::set_onednn_convolution_enabled(on);
  }
  ~OneDnnSwitch() { cr::cpu::set_onednn_convolution_enabled(before_); }
  OneDnnSwitch(const OneDnnSwitch&) = delete;
  OneDnnSwitch& operator=(const OneDnnSwitch&) = delete;

 private:
  bool before_;
};

// Random float64 operands for a case; weights scaled so outputs stay O(1).
struct Operands {
  Tensor x, w, b;
};
Operands random_operands(const WideCase& c) {
  return {cr::randn({c.n, c.c_in, c.h, c.w}, cr::kFloat64),
          cr::randn({c.c_out, c.c_in / c.groups, c.kh, c.kw}, cr::kFloat64) * 0.2,
          cr::randn({c.c_out}, cr::kFloat64)};
}

cr::cpu::Conv2dShape cpu_shape(const WideCase& c, const Tensor& y) {
  cr::cpu::Conv2dShape s;
  s.n = c.n, s.c_in = c.c_in, s.h = c.h, s.w = c.w, s.c_out = c.c_out, s.kh = c.kh, s.kw = c.kw;
  s.stride_h = c.stride.h, s.stride_w = c.stride.w, s.pad_h = c.padding.h, s.pad_w = c.padding.w;
  s.dil_h = c.dilation.h, s.dil_w = c.dilation.w, s.groups = c.groups;
  s.h_out = y.sizes()[2], s.w_out = y.sizes()[3];
  return s;
}

// y and the gradients of Σ y·g with respect to x, w and b, in `dtype`.
std::vector<std::vector<double>> run(const WideCase& c, const Tensor& x, const Tensor& w, const Tensor& b,
                                     const Tensor& g, cr::DType dtype) {
  Tensor xk = x.to(dtype).detach().requires_grad_(), wk = w.to(dtype).detach().requires_grad_();
  Tensor bk = c.bias ? b.to(dtype).detach().requires_grad_() : Tensor();
  Tensor y = F::conv2d(xk, wk, bk, c.stride, c.padding, c.dilation, c.groups);
  (y * g.to(dtype)).sum().backward();
  std::vector<std::vector<double>> out{values(y), values(xk.grad()), values(wk.grad())};
  if (c.bias) out.push_back(values(bk.grad()));
  return out;
}

void expect_wide_cases_match_float64() {
  cr::manual_seed(21);
  for (const WideCase& c : kWideCases) {
    const auto [x, w, b] = random_operands(c);
    Tensor y = F::conv2d(x, w, b, c.stride, c.padding, c.dilation, c.groups);
    Tensor g = cr::randn(y.sizes(), cr::kFloat64);
    const auto expected = run(c, x, w, b, g, cr::kFloat64), got = run(c, x, w, b, g, cr::kFloat32);
    const char* names[] = {"output", "grad input", "grad weight", "grad bias"};
    for (std::size_t t = 0; t < expected.size(); ++t) expect_close(got[t], expected[t], describe(c) + " " + names[t]);
  }
}

TEST(Conv2dOneDnn, WideConvolutionsMatchFloat64) { expect_wide_cases_match_float64(); }

TEST(Conv2dOneDnn, Im2colPathMatchesWhenOneDnnIsOff) {
  const OneDnnSwitch off(false);
  expect_wide_cases_match_float64();
}

// The backward pass asks oneDNN for whichever gradients are needed: each
// subset of (input, weight, bias) must come out right, alone or together
// (the bias gradient is summed by oneDNN only alongside the weight's).
TEST(Conv2dOneDnn, EverySubsetOfGradients) {
  cr::manual_seed(22);
  const WideCase c{2, 16, 6, 7, 32, 3, 3, 1, 1, 1, 1, true};
  const auto [x, w, b] = random_operands(c);
  Tensor g = cr::randn({c.n, c.c_out, c.h, c.w}, cr::kFloat64);
  for (int mask = 1; mask < 8; ++mask) {
    std::vector<std::vector<double>> grads[2];
    for (int k = 0; k < 2; ++k) {
      const cr::DType dtype = k == 0 ? cr::kFloat64 : cr::kFloat32;
      Tensor operands[3] = {x.to(dtype).detach(), w.to(dtype).detach(), b.to(dtype).detach()};
      for (int i = 0; i < 3; ++i)
        if (mask & (1 << i)) operands[i].requires_grad_();
      (F::conv2d(operands[0], operands[1], operands[2], c.stride, c.padding) * g.to(dtype)).sum().backward();
      for (int i = 0; i < 3; ++i) {
        ASSERT_EQ(operands[i].grad().defined(), (mask & (1 << i)) != 0) << "mask " << mask;
        if (operands[i].grad().defined()) grads[k].push_back(values(operands[i].grad()));
      }
    }
    for (std::size_t t = 0; t < grads[0].size(); ++t)
      expect_close(grads[1][t], grads[0][t], "mask " + std::to_string(mask) + " gradient " + std::to_string(t));
  }
}

// Gradients of gradients (create_graph) run the same three kernels on other
// operands: the double backward in float32 must agree with float64's.
TEST(Conv2dOneDnn, SecondDerivativesMatchFloat64) {
  cr::manual_seed(23);
  const WideCase c{2, 16, 5, 6, 16, 3, 3, 2, 1, 1, 1, true};
  const auto [x, w, b] = random_operands(c);
  std::vector<std::vector<double>> grads[2];
  Tensor g, vx, vw;
  for (int k = 0; k < 2; ++k) {
    const cr::DType dtype = k == 0 ? cr::kFloat64 : cr::kFloat32;
    Tensor xk = x.to(dtype).detach().requires_grad_(), wk = w.to(dtype).detach().requires_grad_();
    Tensor y = F::conv2d(xk, wk, b.to(dtype), c.stride, c.padding);
    if (!g.defined()) {
      g = cr::randn(y.sizes(), cr::kFloat64);
      vx = cr::randn(x.sizes(), cr::kFloat64);
      vw = cr::randn(w.sizes(), cr::kFloat64);
    }
    const auto first = cr::autograd::grad({(y * g.to(dtype)).sum()}, {xk, wk}, {}, true, true);
    ((first[0] * vx.to(dtype)).sum() + (first[1] * vw.to(dtype)).sum()).backward();
    grads[k] = {values(first[0]), values(first[1]), values(xk.grad()), values(wk.grad())};
  }
  for (std::size_t t = 0; t < grads[0].size(); ++t)
    expect_close(grads[1][t], grads[0][t], "result " + std::to_string(t));
}

// Operands that are views (here: channels and rows swapped in memory) are
// made contiguous before oneDNN sees them; results equal the dense ones.
TEST(Conv2dOneDnn, NonContiguousOperands) {
  cr::manual_seed(25);
  Tensor x_dense = cr::randn({2, 16, 6, 7}), w_dense = cr::randn({16, 16, 3, 3});
  Tensor x_view = x_dense.transpose(1, 2).contiguous().transpose(1, 2);
  Tensor w_view = w_dense.transpose(0, 1).contiguous().transpose(0, 1);
  ASSERT_FALSE(x_view.is_contiguous());
  ASSERT_FALSE(w_view.is_contiguous());
  EXPECT_EQ(values(F::conv2d(x_view, w_view, {}, 1, 1)), values(F::conv2d(x_dense, w_dense, {}, 1, 1)));
}

// Two threads training side by side share the cached plans (primitives and
// reorders) and run them at the same time: each must get its own answer.
TEST(Conv2dOneDnn, ConcurrentCallsShareThePlans) {
  cr::manual_seed(24);
  const WideCase c{4, 32, 8, 8, 32, 3, 3, 1, 1, 1, 1, true};
  Tensor w = cr::randn({c.c_out, c.c_in, c.kh, c.kw}) * 0.1, b = cr::randn({c.c_out});
  Tensor inputs[2] = {cr::randn({c.n, c.c_in, c.h, c.w}), cr::randn({c.n, c.c_in, c.h, c.w})};
  std::vector<double> expected[2], got[2];
  for (int t = 0; t < 2; ++t) expected[t] = values(F::conv2d(inputs[t], w, b, c.stride, c.padding));
  auto work = [&](int t) {
    for (int repeat = 0; repeat < 20; ++repeat) {
      Tensor x = inputs[t].detach().requires_grad_();
      Tensor y = F::conv2d(x, w, b, c.stride, c.padding);
      y.sum().backward();
      got[t] = values(y);
    }
  };
  std::thread first(work, 0), second(work, 1);
  first.join();
  second.join();
  for (int t = 0; t < 2; ++t) EXPECT_EQ(got[t], expected[t]) << "thread " << t;
}

// The cases above must really reach oneDNN where it is built, or the first
// test would only check im2col twice; narrow and 1×1 ones must not.
TEST(Conv2dOneDnn, TakesTheWideCasesOnly) {
  if (!cr::cpu::onednn_convolution_built()) GTEST_SKIP() << "built without oneDNN (CHAINRULE_ONEDNN)";
  const OneDnnSwitch on(true);  // whatever CHAINRULE_ONEDNN_CONV says
  for (const WideCase& c : kWideCases) {
    Tensor x = cr::randn({c.n, c.c_in, c.h, c.w}), w = cr::randn({c.c_out, c.c_in / c.groups, c.kh, c.kw});
    Tensor y = F::conv2d(x, w, {}, c.stride, c.padding, c.dilation, c.groups);
    Tensor out = cr::zeros(y.sizes());
    EXPECT_TRUE(cr::cpu::onednn_conv2d_forward(cpu_shape(c, y), x.data_ptr<float>(), w.data_ptr<float>(), nullptr,
                                               out.data_ptr<float>()))
        << describe(c);
    EXPECT_EQ(values(out), values(y)) << describe(c);
  }
  const std::vector<WideCase> narrow = {
      {2, 3, 8, 8, 32, 3, 3, 1, 1, 1, 1, false},   // 3 input channels
      {2, 32, 8, 8, 32, 1, 1, 1, 0, 1, 1, false},  // 1×1
      {2, 32, 8, 8, 32, 3, 3, 1, 1, 1, 4, false},  // 8 channels per group
  };
  for (const WideCase& c : narrow) {
    Tensor x = cr::randn({c.n, c.c_in, c.h, c.w}), w = cr::randn({c.c_out, c.c_in / c.groups, c.kh, c.kw});
    Tensor y = F::conv2d(x, w, {}, c.stride, c.padding, c.dilation, c.groups);
    EXPECT_FALSE(cr::cpu::onednn_conv2d_forward(cpu_shape(c, y), x.data_ptr<float>(), w.data_ptr<float>(), nullptr,
                                                y.data_ptr<float>()))
        << describe(c);
  }
  EXPECT_EQ(cr::cpu::convolution_library().rfind("oneDNN-", 0), 0u) << cr::cpu::convolution_library();
  const OneDnnSwitch off(false);
  EXPECT_EQ(cr::cpu::convolution_library(), "im2col");
  const WideCase& c = kWideCases[0];
  Tensor x = cr::randn({c.n, c.c_in, c.h, c.w}), w = cr::randn({c.c_out, c.c_in, c.kh, c.kw});
  Tensor y = F::conv2d(x, w, {}, c.stride, c.padding);
  EXPECT_FALSE(cr::cpu::onednn_conv2d_forward(cpu_shape(c, y), x.data_ptr<float>(), w.data_ptr<float>(), nullptr,
                                              y.data_ptr<float>()));
}

}  // namespace
