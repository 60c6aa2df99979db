// conv2d: values against a direct six-loop convolution over many geometries
// (stride, padding, dilation, groups, rectangular kernels, batches,
// non-contiguous inputs), first- and second-order gradients, and errors.

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "chainrule/chainrule.h"
#include "chainrule/nn/functional.h"
#include "support/conv_case.h"
#include "support/tensor_testing.h"

namespace {

namespace F = cr::nn::functional;
using cr::Tensor;
using cr::testing::expect_error;
using cr::testing::values;
using Inputs = std::vector<Tensor>;

using cr::testing::ConvCase;
using cr::testing::describe;

// The definition, one output element at a time, in double.
std::vector<double> naive_conv(const ConvCase& c, const std::vector<double>& x, const std::vector<double>& w,
                               const std::vector<double>& b, std::int64_t& h_out, std::int64_t& w_out) {
  h_out = (c.h + 2 * c.padding.h - c.dilation.h * (c.kh - 1) - 1) / c.stride.h + 1;
  w_out = (c.w + 2 * c.padding.w - c.dilation.w * (c.kw - 1) - 1) / c.stride.w + 1;
  const std::int64_t cin_g = c.c_in / c.groups, cout_g = c.c_out / c.groups;
  std::vector<double> y(static_cast<std::size_t>(c.n * c.c_out * h_out * w_out));
  for (std::int64_t n = 0; n < c.n; ++n)
    for (std::int64_t co = 0; co < c.c_out; ++co)
      for (std::int64_t oh = 0; oh < h_out; ++oh)
        for (std::int64_t ow = 0; ow < w_out; ++ow) {
          double acc = c.bias ? b[static_cast<std::size_t>(co)] : 0.0;
          const std::int64_t g = co / cout_g;
          for (std::int64_t ci = 0; ci < cin_g; ++ci)
            for (std::int64_t i = 0; i < c.kh; ++i)
              for (std::int64_t j = 0; j < c.kw; ++j) {
                const std::int64_t ih = oh * c.stride.h - c.padding.h + i * c.dilation.h;
                const std::int64_t iw = ow * c.stride.w - c.padding.w + j * c.dilation.w;
                if (ih < 0 || ih >= c.h || iw < 0 || iw >= c.w) continue;
                const double xv = x[static_cast<std::size_t>(((n * c.c_in + g * cin_g + ci) * c.h + ih) * c.w + iw)];
                const double wv = w[static_cast<std::size_t>(((co * cin_g + ci) * c.kh + i) * c.kw + j)];
                acc += xv * wv;
              }
          y[static_cast<std::size_t>(((n * c.c_out + co) * h_out + oh) * w_out + ow)] = acc;
        }
  return y;
}

const std::vector<ConvCase> kCases = {
    {1, 1, 5, 5, 1, 3, 3, 1, 0, 1, 1, false},
    {2, 3, 6, 5, 4, 3, 3, 1, 1, 1, 1, true},
    {2, 2, 7, 6, 3, 3, 2, {2, 1}, {1, 0}, 1, 1, true},      // rectangular kernel, mixed stride
    {1, 2, 8, 7, 2, 3, 3, 1, 2, 2, 1, true},                // dilation with padding
    {2, 4, 5, 5, 6, 3, 3, 2, 1, 1, 2, true},                // groups
    {1, 6, 4, 5, 6, 2, 3, 1, {1, 0}, {1, 2}, 3, false},     // depthwise-like groups, dilation
    {2, 3, 4, 4, 5, 1, 1, 1, 0, 1, 1, true},                // 1×1: the pointwise path
    {1, 4, 5, 3, 2, 1, 1, 1, 0, 1, 2, false},               // grouped 1×1
    {1, 2, 5, 5, 3, 1, 1, 2, 1, 1, 1, true},                // 1×1 with stride and padding (im2col path)
    {3, 1, 4, 6, 2, 4, 6, 1, 0, 1, 1, true},                // kernel as large as the input
    {1, 2, 3, 3, 2, 2, 2, 3, 2, 1, 1, false},               // stride larger than the kernel
};

// The same geometries, as small as they go: a finite-difference check costs
// two forwards per input element and one backward per output element.
const std::vector<ConvCase> kGradCases = {
    {1, 2, 4, 4, 2, 3, 3, 1, 1, 1, 1, true},
    {2, 1, 5, 4, 2, 3, 2, {2, 1}, {1, 0}, 1, 1, true},
    {1, 1, 6, 5, 2, 3, 3, 1, 2, 2, 1, false},
    {1, 4, 4, 4, 4, 3, 3, 2, 1, 1, 2, true},
    {1, 3, 3, 5, 3, 2, 3, 1, {1, 0}, {1, 2}, 3, false},
    {2, 3, 3, 3, 2, 1, 1, 1, 0, 1, 1, true},
    {1, 2, 4, 4, 2, 1, 1, 2, 1, 1, 1, true},
};

TEST(Conv2d, MatchesDirectLoop) {
  cr::manual_seed(1);
  for (const ConvCase& c : kCases) {
    Tensor x = cr::randn({c.n, c.c_in, c.h, c.w}, cr::kFloat64);
    Tensor w = cr::randn({c.c_out, c.c_in / c.groups, c.kh, c.kw}, cr::kFloat64);
    Tensor b = c.bias ? cr::randn({c.c_out}, cr::kFloat64) : Tensor();
    std::int64_t h_out = 0, w_out = 0;
    const auto expected = naive_conv(c, values(x), values(w), c.bias ? values(b) : std::vector<double>{}, h_out, w_out);
    for (cr::DType dtype : {cr::kFloat64, cr::kFloat32}) {
      Tensor y = F::conv2d(x.to(dtype), w.to(dtype), c.bias ? b.to(dtype) : Tensor(), c.stride, c.padding, c.dilation,
                           c.groups);
      ASSERT_EQ(y.sizes(), (cr::Shape{c.n, c.c_out, h_out, w_out})) << describe(c);
      EXPECT_EQ(y.dtype(), dtype);
      const auto got = values(y);
      const double tol = dtype == cr::kFloat64 ? 1e-12 : 1e-4;
      for (std::size_t i = 0; i < got.size(); ++i)
        ASSERT_NEAR(got[i], expected[i], tol * (1 + std::abs(expected[i]))) << describe(c) << " at " << i;
    }
  }
}

TEST(Conv2d, NonContiguousOperandsGiveTheSameValues) {
  cr::manual_seed(2);
  // Channels-last storage viewed as NCHW, and a weight stored transposed.
  Tensor x = cr::randn({2, 5, 6, 3}, cr::kFloat64).permute({0, 3, 1, 2});
  Tensor w = cr::randn({3, 3, 2, 4}, cr::kFloat64).permute({3, 0, 1, 2});
  ASSERT_FALSE(x.is_contiguous());
  ASSERT_FALSE(w.is_contiguous());
  Tensor b = cr::randn({8}, cr::kFloat64).slice(0, 0, 8, 2);
  Tensor y = F::conv2d(x, w, b, 1, 1);
  Tensor expected = F::conv2d(x.contiguous(), w.contiguous(), b.contiguous(), 1, 1);
  EXPECT_EQ(values(y), values(expected));
}

TEST(Conv2d, UnbatchedInput) {
  cr::manual_seed(3);
  Tensor x = cr::randn({2, 5, 5}, cr::kFloat64);
  Tensor w = cr::randn({3, 2, 3, 3}, cr::kFloat64);
  Tensor y = F::conv2d(x, w, {}, 1, 1);
  EXPECT_EQ(y.sizes(), (cr::Shape{3, 5, 5}));
  EXPECT_EQ(values(y), values(F::conv2d(x.unsqueeze(0), w, {}, 1, 1)));
}

// A batch big enough to take the multi-threaded path must agree with the
// same images convolved one at a time (the single-threaded path), in value
// and in every gradient.
TEST(Conv2d, ThreadedBatchAgreesWithOneImageAtATime) {
  cr::manual_seed(4);
  for (std::int64_t k : {3, 1}) {
    Tensor x = cr::randn({6, 8, 20, 20}, cr::kFloat64).requires_grad_();
    Tensor w = cr::randn({12, 8, k, k}, cr::kFloat64).requires_grad_();
    Tensor b = cr::randn({12}, cr::kFloat64).requires_grad_();
    Tensor g = cr::randn({6, 12, 20, 20}, cr::kFloat64);
    const std::int64_t pad = k / 2;
    Tensor y = F::conv2d(x, w, b, 1, pad);
    (y * g).sum().backward();
    Tensor gx = x.grad(), gw = w.grad(), gb = b.grad();
    x.set_grad({}), w.set_grad({}), b.set_grad({});
    std::vector<Tensor> parts;
    for (std::int64_t n = 0; n < 6; ++n) {
      Tensor yn = F::conv2d(x.narrow(0, n, 1), w, b, 1, pad);
      parts.push_back(yn);
      (yn * g.narrow(0, n, 1)).sum().backward();
    }
    const auto expected = values(cr::cat(parts, 0));
    const auto got = values(y);
    for (std::size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], expected[i], 1e-10) << "k " << k;
    auto close = [&](const Tensor& a, const Tensor& e, const char* what) {
      const auto va = values(a), ve = values(e);
      ASSERT_EQ(va.size(), ve.size());
      for (std::size_t i = 0; i < va.size(); ++i) ASSERT_NEAR(va[i], ve[i], 1e-9) << what << " k " << k << " at " << i;
    };
    close(gx, x.grad(), "grad input");
    close(gw, w.grad(), "grad weight");
    close(gb, b.grad(), "grad bias");
  }
}

TEST(Conv2d, GradientsMatchFiniteDifferences) {
  cr::manual_seed(5);
  for (const ConvCase& c : kGradCases) {
    for (bool strided : {false, true}) {
      const cr::Shape xs{c.n, c.c_in, c.h, c.w}, ws{c.c_out, c.c_in / c.groups, c.kh, c.kw};
      Tensor x = strided ? cr::testing::strided_leaf(xs) : cr::testing::leaf(xs);
      Tensor w = strided ? cr::testing::strided_leaf(ws) : cr::testing::leaf(ws);
      Inputs in{x, w};
      if (c.bias) in.push_back(cr::testing::leaf({c.c_out}));
      auto f = [&](const Inputs& v) {
        return F::conv2d(v[0], v[1], v.size() > 2 ? v[2] : Tensor(), c.stride, c.padding, c.dilation, c.groups);
      };
      EXPECT_GRADCHECK(f, in) << describe(c) << (strided ? " strided" : "");
    }
  }
}

// Finite differences run in float64; float32 has kernels of its own (vector
// im2col and col2im), so its gradients are checked against float64's, on
// every geometry above and on rows wider than one 16-lane vector.
TEST(Conv2d, Float32GradientsMatchFloat64) {
  cr::manual_seed(11);
  std::vector<ConvCase> cases = kCases;
  cases.push_back({2, 3, 5, 37, 4, 3, 3, 1, 1, 1, 1, true});       // 37 columns: three vector chunks
  cases.push_back({1, 2, 6, 41, 3, 3, 3, 2, 1, 1, 1, true});       // strided: gathers and scatters
  cases.push_back({1, 2, 5, 40, 3, 3, 3, {1, 3}, 2, {1, 2}, 1, false});
  cases.push_back({2, 3, 8, 34, 4, 1, 1, 2, 0, 1, 1, false});      // 1×1 at stride 2
  for (const ConvCase& c : cases) {
    Tensor x = cr::randn({c.n, c.c_in, c.h, c.w}, cr::kFloat64);
    Tensor w = cr::randn({c.c_out, c.c_in / c.groups, c.kh, c.kw}, cr::kFloat64);
    Tensor b = c.bias ? cr::randn({c.c_out}, cr::kFloat64) : Tensor();
    std::vector<std::vector<double>> grads[2];
    Tensor g;
    for (int k = 0; k < 2; ++k) {
      const cr::DType dtype = k == 0 ? cr::kFloat64 : cr::kFloat32;
      Tensor xk = x.to(dtype).detach().requires_grad_(), wk = w.to(dtype).detach().requires_grad_();
      Tensor bk = c.bias ? b.to(dtype).detach().requires_grad_() : Tensor();
      Tensor y = F::conv2d(xk, wk, bk, c.stride, c.padding, c.dilation, c.groups);
      if (!g.defined()) g = cr::randn(y.sizes(), cr::kFloat64);
      (y * g.to(dtype)).sum().backward();
      grads[k] = {values(xk.grad()), values(wk.grad())};
      if (c.bias) grads[k].push_back(values(bk.grad()));
    }
    for (std::size_t t = 0; t < grads[0].size(); ++t)
      for (std::size_t i = 0; i < grads[0][t].size(); ++i)
        ASSERT_NEAR(grads[1][t][i], grads[0][t][i], 1e-4 * (1 + std::abs(grads[0][t][i])))
            << describe(c) << (t == 0 ? " grad input" : t == 1 ? " grad weight" : " grad bias") << " at " << i;
  }
}

TEST(Conv2d, SecondDerivativesMatchFiniteDifferences) {
  cr::manual_seed(6);
  // Fewer cases: each gradgradcheck differentiates the double backward of
  // every input. Cover groups with stride and padding, dilation, and 1×1.
  for (std::size_t i : {2u, 3u, 5u}) {
    const ConvCase& c = kGradCases[i];
    Tensor x = cr::testing::strided_leaf({c.n, c.c_in, c.h, c.w});
    Tensor w = cr::testing::leaf({c.c_out, c.c_in / c.groups, c.kh, c.kw});
    Inputs in{x, w};
    if (c.bias) in.push_back(cr::testing::leaf({c.c_out}));
    auto f = [&](const Inputs& v) {
      return F::conv2d(v[0], v[1], v.size() > 2 ? v[2] : Tensor(), c.stride, c.padding, c.dilation, c.groups);
    };
    EXPECT_GRADGRADCHECK(f, in) << describe(c);
  }
}

TEST(Conv2d, GradientOfOnlyTheWeightOrOnlyTheInput) {
  cr::manual_seed(7);
  Tensor x = cr::randn({2, 3, 5, 5}, cr::kFloat64);
  Tensor w = cr::randn({4, 3, 3, 3}, cr::kFloat64).requires_grad_();
  F::conv2d(x, w, {}, 1, 1).sum().backward();
  ASSERT_TRUE(w.grad().defined());
  EXPECT_EQ(w.grad().sizes(), w.sizes());

  Tensor x2 = cr::randn({2, 3, 5, 5}, cr::kFloat64).requires_grad_();
  Tensor w2 = cr::randn({4, 3, 3, 3}, cr::kFloat64);
  F::conv2d(x2, w2, {}, 2, 1).sum().backward();
  EXPECT_EQ(x2.grad().sizes(), x2.sizes());
  EXPECT_FALSE(w2.grad().defined());
}

TEST(Conv2d, RecordsNodeWithCallerLocation) {
  Tensor x = cr::randn({1, 1, 3, 3}).requires_grad_();
  Tensor w = cr::randn({1, 1, 2, 2});
  Tensor y = F::conv2d(x, w);
  ASSERT_TRUE(y.grad_fn());
  EXPECT_STREQ(y.grad_fn()->name(), "ConvolutionBackward");
  EXPECT_NE(std::string(y.grad_fn()->location().file_name()).find("conv_test.cpp"), std::string::npos);
}

TEST(Conv2d, Errors) {
  Tensor x = cr::randn({2, 4, 6, 6});
  Tensor w = cr::randn({6, 4, 3, 3});
  expect_error([&] { F::conv2d(cr::randn({4, 6}), w); }, "conv2d", "[4, 6]");
  expect_error([&] { F::conv2d(x, cr::randn({6, 4, 3})); }, "conv2d", "weight");
  expect_error([&] { F::conv2d(x, cr::randn({6, 3, 3, 3})); }, "conv2d", "channels");
  expect_error([&] { F::conv2d(x, cr::randn({6, 2, 3, 3}), {}, 1, 0, 1, 3); }, "conv2d", "groups 3");
  expect_error([&] { F::conv2d(x, cr::randn({5, 2, 3, 3}), {}, 1, 0, 1, 2); }, "conv2d", "output channels");
  expect_error([&] { F::conv2d(x, w, {}, 1, 0, 1, 0); }, "conv2d", "groups must be positive");
  expect_error([&] { F::conv2d(x, cr::randn({6, 4, 7, 3})); }, "conv2d", "larger than the padded input");
  expect_error([&] { F::conv2d(x, w, {}, 1, 0, {3, 1}); }, "conv2d", "larger than the padded input");
  expect_error([&] { F::conv2d(x, w, {}, 0); }, "conv2d", "stride must be positive");
  expect_error([&] { F::conv2d(x, w, {}, {1, -1}); }, "conv2d", "stride must be positive");
  expect_error([&] { F::conv2d(x, w, {}, 1, 0, 0); }, "conv2d", "dilation must be positive");
  expect_error([&] { F::conv2d(x, w, {}, 1, -1); }, "conv2d", "padding must be non-negative");
  expect_error([&] { F::conv2d(x, w.to(cr::kFloat64)); }, "conv2d", "dtype mismatch");
  expect_error([&] { F::conv2d(x, w, cr::randn({6}, cr::kFloat64)); }, "conv2d", "dtype mismatch");
  expect_error([&] { F::conv2d(x, w, cr::randn({5})); }, "conv2d", "bias");
  expect_error([&] { F::conv2d(x.to(cr::kInt64), w.to(cr::kInt64)); }, "conv2d", "int64");
  expect_error([&] { F::conv2d(x, Tensor()); }, "conv2d", "undefined");
}

}  // namespace
