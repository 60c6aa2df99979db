// max_pool2d, avg_pool2d, adaptive_avg_pool2d: values against direct loops
// written from PyTorch's definitions, output sizes (ceil_mode), gradients of
// first and second order, and errors.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "chainrule/chainrule.h"
#include "chainrule/nn/functional.h"
#include "support/tensor_testing.h"

namespace {

namespace F = cr::nn::functional;
using cr::Tensor;
using cr::nn::Size2;
using cr::testing::expect_error;
using cr::testing::values;
using Inputs = std::vector<Tensor>;

struct PoolCase {
  std::int64_t n, c, h, w;
  Size2 kernel, stride, padding, dilation;
  bool ceil_mode;
};

std::string describe(const PoolCase& p) {
  return std::to_string(p.h) + "x" + std::to_string(p.w) + " k" + std::to_string(p.kernel.h) + "," +
         std::to_string(p.kernel.w) + " s" + std::to_string(p.stride.h) + "," + std::to_string(p.stride.w) + " p" +
         std::to_string(p.padding.h) + "," + std::to_string(p.padding.w) + " d" + std::to_string(p.dilation.h) +
         "," + std::to_string(p.dilation.w) + (p.ceil_mode ? " ceil" : "");
}

// PyTorch's pooling_output_shape, written out independently.
std::int64_t torch_out_size(std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t p, std::int64_t d,
                            bool ceil_mode) {
  const double raw = static_cast<double>(in + 2 * p - d * (k - 1) - 1) / static_cast<double>(s);
  std::int64_t out = static_cast<std::int64_t>(ceil_mode ? std::ceil(raw) : std::floor(raw)) + 1;
  if (ceil_mode && (out - 1) * s >= in + p) --out;
  return out;
}

const std::vector<PoolCase> kCases = {
    {2, 3, 6, 6, 2, 2, 0, 1, false},
    {1, 2, 7, 5, 3, 2, 1, 1, false},
    {1, 2, 7, 5, 3, 2, 1, 1, true},
    {2, 1, 5, 5, 2, 2, 1, 1, true},  // the last window would start in the right padding: dropped
    {1, 2, 8, 7, {3, 2}, {1, 2}, {1, 1}, 1, false},
    {1, 1, 9, 8, 3, 2, 1, 2, false},  // dilation
    {1, 2, 9, 8, {2, 3}, {3, 2}, {1, 0}, {2, 3}, true},
    {1, 1, 4, 4, 4, 1, 0, 1, false},  // one window over the whole image
    {3, 2, 6, 6, 3, 3, 1, 1, true},
};

// Max over each window by the definition: padding is -inf, NaN wins.
std::vector<double> naive_max(const PoolCase& p, const std::vector<double>& x, std::int64_t ho, std::int64_t wo) {
  std::vector<double> y;
  for (std::int64_t plane = 0; plane < p.n * p.c; ++plane)
    for (std::int64_t oh = 0; oh < ho; ++oh)
      for (std::int64_t ow = 0; ow < wo; ++ow) {
        double best = -std::numeric_limits<double>::infinity();
        for (std::int64_t i = 0; i < p.kernel.h; ++i)
          for (std::int64_t j = 0; j < p.kernel.w; ++j) {
            const std::int64_t ih = oh * p.stride.h - p.padding.h + i * p.dilation.h;
            const std::int64_t iw = ow * p.stride.w - p.padding.w + j * p.dilation.w;
            if (ih < 0 || ih >= p.h || iw < 0 || iw >= p.w) continue;
            const double v = x[static_cast<std::size_t>((plane * p.h + ih) * p.w + iw)];
            if (v > best || std::isnan(v)) best = v;
          }
        y.push_back(best);
      }
  return y;
}

// PyTorch's avg_pool2d: windows clipped to the padded input, then to the input.
std::vector<double> naive_avg(const PoolCase& p, const std::vector<double>& x, std::int64_t ho, std::int64_t wo,
                              bool count_include_pad) {
  std::vector<double> y;
  for (std::int64_t plane = 0; plane < p.n * p.c; ++plane)
    for (std::int64_t oh = 0; oh < ho; ++oh)
      for (std::int64_t ow = 0; ow < wo; ++ow) {
        std::int64_t hs = oh * p.stride.h - p.padding.h, ws = ow * p.stride.w - p.padding.w;
        std::int64_t he = std::min(hs + p.kernel.h, p.h + p.padding.h);
        std::int64_t we = std::min(ws + p.kernel.w, p.w + p.padding.w);
        const std::int64_t padded = (he - hs) * (we - ws);
        hs = std::max<std::int64_t>(hs, 0), ws = std::max<std::int64_t>(ws, 0);
        he = std::min(he, p.h), we = std::min(we, p.w);
        double total = 0;
        for (std::int64_t ih = hs; ih < he; ++ih)
          for (std::int64_t iw = ws; iw < we; ++iw) total += x[static_cast<std::size_t>((plane * p.h + ih) * p.w + iw)];
        y.push_back(total / static_cast<double>(count_include_pad ? padded : (he - hs) * (we - ws)));
      }
  return y;
}

void expect_near(const std::vector<double>& got, const std::vector<double>& expected, double tol,
                 const std::string& what) {
  ASSERT_EQ(got.size(), expected.size()) << what;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(expected[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << what << " at " << i;
      continue;
    }
    ASSERT_NEAR(got[i], expected[i], tol * (1 + std::abs(expected[i]))) << what << " at " << i;
  }
}

TEST(MaxPool2d, OutputSizesFollowPyTorch) {
  for (const PoolCase& p : kCases) {
    Tensor y = F::max_pool2d(cr::zeros({p.n, p.c, p.h, p.w}), p.kernel, p.stride, p.padding, p.dilation, p.ceil_mode);
    const std::int64_t ho = torch_out_size(p.h, p.kernel.h, p.stride.h, p.padding.h, p.dilation.h, p.ceil_mode);
    const std::int64_t wo = torch_out_size(p.w, p.kernel.w, p.stride.w, p.padding.w, p.dilation.w, p.ceil_mode);
    EXPECT_EQ(y.sizes(), (cr::Shape{p.n, p.c, ho, wo})) << describe(p);
  }
  // Spot values PyTorch gives: MaxPool2d(2, 2, padding=1, ceil_mode=True) on 5×5 is 3×3
  // (a fourth window would start in the right padding), on 6×6 it is 4×4.
  EXPECT_EQ(F::max_pool2d(cr::zeros({1, 1, 5, 5}), 2, Size2(2), 1, 1, true).sizes(), (cr::Shape{1, 1, 3, 3}));
  EXPECT_EQ(F::max_pool2d(cr::zeros({1, 1, 6, 6}), 2, Size2(2), 1, 1, true).sizes(), (cr::Shape{1, 1, 4, 4}));
  EXPECT_EQ(F::max_pool2d(cr::zeros({1, 1, 5, 5}), 2, Size2(2), 0, 1, true).sizes(), (cr::Shape{1, 1, 3, 3}));
  EXPECT_EQ(F::max_pool2d(cr::zeros({1, 1, 5, 5}), 2, Size2(2), 0, 1, false).sizes(), (cr::Shape{1, 1, 2, 2}));
  EXPECT_EQ(F::max_pool2d(cr::zeros({1, 1, 7, 7}), 3).sizes(), (cr::Shape{1, 1, 2, 2}));  // stride = kernel
}

TEST(MaxPool2d, MatchesDirectLoop) {
  cr::manual_seed(1);
  for (const PoolCase& p : kCases) {
    Tensor x = cr::randn({p.n, p.c, p.h, p.w}, cr::kFloat64);
    for (cr::DType dtype : {cr::kFloat64, cr::kFloat32}) {
      Tensor y = F::max_pool2d(x.to(dtype), p.kernel, p.stride, p.padding, p.dilation, p.ceil_mode);
      EXPECT_EQ(y.dtype(), dtype);
      expect_near(values(y), naive_max(p, values(x.to(dtype)), y.sizes()[2], y.sizes()[3]), 0, describe(p));
    }
  }
}

TEST(MaxPool2d, NonContiguousAndUnbatchedInputs) {
  cr::manual_seed(2);
  Tensor x = cr::randn({2, 7, 6, 3}).permute({0, 3, 1, 2});  // channels-last storage
  ASSERT_FALSE(x.is_contiguous());
  EXPECT_EQ(values(F::max_pool2d(x, 3, Size2(2), 1)), values(F::max_pool2d(x.contiguous(), 3, Size2(2), 1)));
  Tensor u = cr::randn({3, 6, 6});
  Tensor yu = F::max_pool2d(u, 2);
  EXPECT_EQ(yu.sizes(), (cr::Shape{3, 3, 3}));
  EXPECT_EQ(values(yu), values(F::max_pool2d(u.unsqueeze(0), 2)));
}

TEST(MaxPool2d, NanWinsAndInfinitiesAreOrdinaryValues) {
  const double inf = std::numeric_limits<double>::infinity(), nan = std::nan("");
  Tensor x = cr::tensor({1.0, nan, 3.0, 2.0, -inf, -inf, -inf, -inf, 5.0, inf, 0.0, 1.0}, cr::kFloat64)
                 .reshape({1, 1, 2, 6})
                 .requires_grad_();
  Tensor y = F::max_pool2d(x, 2);  // windows: {1, nan, -inf, -inf}, {3, 2, 5, inf}, {-inf, -inf, 0, 1}
  const auto v = values(y);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_TRUE(std::isnan(v[0]));
  EXPECT_EQ(v[1], inf);
  EXPECT_EQ(v[2], 1.0);
  y.backward(cr::ones_like(y));
  EXPECT_EQ(values(x.grad()), (std::vector<double>{0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1}));
  // A window of all -inf still routes its gradient to one element.
  Tensor z = cr::full({1, 1, 2, 2}, -inf, cr::kFloat64).requires_grad_();
  F::max_pool2d(z, 2).sum().backward();
  EXPECT_EQ(values(z.grad()), (std::vector<double>{1, 0, 0, 0}));
}

TEST(MaxPool2d, TiesSendTheGradientToTheFirstMaximum) {
  Tensor x = cr::ones({1, 1, 3, 3}, cr::kFloat64).requires_grad_();
  F::max_pool2d(x, 2, Size2(1)).sum().backward();  // four overlapping windows of ones
  EXPECT_EQ(values(x.grad()), (std::vector<double>{1, 1, 0, 1, 1, 0, 0, 0, 0}));
  Tensor big = cr::ones({2, 3, 9, 9}).requires_grad_();  // the unrolled 3×3 path
  F::max_pool2d(big, 3).sum().backward();
  const auto g = values(big.grad());
  EXPECT_EQ(g[0], 1);
  EXPECT_EQ(g[1], 0);
  EXPECT_EQ(std::count(g.begin(), g.end(), 1.0), 2 * 3 * 9);
}

TEST(MaxPool2d, GradientsMatchFiniteDifferences) {
  cr::manual_seed(3);
  for (const PoolCase& p : kCases) {
    for (bool strided : {false, true}) {
      // Distinct values, at least eps apart, so no finite difference crosses a tie.
      Tensor x = strided ? cr::testing::strided_leaf({p.n, p.c, p.h, p.w}) : cr::testing::leaf({p.n, p.c, p.h, p.w});
      auto f = [&](const Inputs& in) {
        return F::max_pool2d(in[0], p.kernel, p.stride, p.padding, p.dilation, p.ceil_mode);
      };
      EXPECT_GRADCHECK(f, Inputs{x}) << describe(p) << (strided ? " strided" : "");
    }
  }
}

TEST(MaxPool2d, SecondDerivativesMatchFiniteDifferences) {
  cr::manual_seed(4);
  for (std::size_t i : {1u, 5u, 6u}) {
    const PoolCase& p = kCases[i];
    Tensor x = cr::testing::strided_leaf({p.n, p.c, p.h, p.w});
    // pool(x)² makes the second derivative depend on the routing, not just vanish.
    auto f = [&](const Inputs& in) {
      Tensor y = F::max_pool2d(in[0], p.kernel, p.stride, p.padding, p.dilation, p.ceil_mode);
      return y * y;
    };
    EXPECT_GRADGRADCHECK(f, Inputs{x}) << describe(p);
  }
}

// The gradient of max pooling, as a function of the incoming gradient g, is a
// scatter; differentiating it twice more runs the gather and the scatter again.
TEST(MaxPool2d, ThirdDerivativesMatchFiniteDifferences) {
  cr::manual_seed(10);
  Tensor x = cr::testing::leaf({1, 2, 5, 5});
  Tensor g = cr::testing::leaf({1, 2, 3, 3});
  auto f = [](const Inputs& in) {
    Tensor y = F::max_pool2d(in[0], 3, Size2(2), 1);
    Tensor gx = cr::autograd::grad({y}, {in[0]}, {in[1]}, true, true)[0];
    return gx * gx;
  };
  EXPECT_GRADGRADCHECK(f, (Inputs{x, g}));
}

// The row-major position in each 2×2 window (stride 2) that PyTorch's rule
// picks: the first NaN, else the first of the tied maxima.
std::vector<std::int64_t> naive_argmax_2x2(const std::vector<double>& x, std::int64_t planes, std::int64_t h,
                                           std::int64_t w) {
  std::vector<std::int64_t> where;
  for (std::int64_t p = 0; p < planes; ++p)
    for (std::int64_t oh = 0; oh < h / 2; ++oh)
      for (std::int64_t ow = 0; ow < w / 2; ++ow) {
        std::int64_t best = -1;
        for (std::int64_t i = 0; i < 2; ++i)
          for (std::int64_t j = 0; j < 2; ++j) {
            const std::int64_t at = (p * h + 2 * oh + i) * w + 2 * ow + j;
            const double v = x[static_cast<std::size_t>(at)];
            const double b = best < 0 ? 0 : x[static_cast<std::size_t>(best)];
            if (best < 0 || (!std::isnan(b) && (v > b || std::isnan(v)))) best = at;
          }
        where.push_back(best);
      }
  return where;
}

// 2×2 windows at stride 2 (float32 has a kernel of its own) against the
// definition, on data full of ties, NaNs and infinities, with rows of more
// than one vector and sizes that leave pixels outside every window.
TEST(MaxPool2d, TwoByTwoTiesNansAndRowTails) {
  const double inf = std::numeric_limits<double>::infinity(), nan = std::nan("");
  const std::vector<double> pool = {-1, 0, 1, 2, 2, 2, -0.0, nan, inf, -inf};
  std::uint64_t state = 12345;
  auto draw = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return pool[(state >> 33) % pool.size()];
  };
  for (const auto& [h, w] : std::vector<std::pair<std::int64_t, std::int64_t>>{
           {2, 2}, {6, 34}, {7, 9}, {28, 28}, {5, 66}, {4, 32}}) {
    const std::int64_t n = 2, c = 3;
    std::vector<double> data(static_cast<std::size_t>(n * c * h * w));
    for (double& v : data) v = draw();
    for (cr::DType dtype : {cr::kFloat32, cr::kFloat64}) {
      const std::string what = std::to_string(h) + "x" + std::to_string(w) + " " + std::string(cr::dtype_name(dtype));
      Tensor x = cr::tensor(data, {n, c, h, w}, cr::kFloat64).to(dtype).requires_grad_();
      Tensor y = F::max_pool2d(x, 2);
      ASSERT_EQ(y.sizes(), (cr::Shape{n, c, h / 2, w / 2})) << what;
      const PoolCase p{n, c, h, w, 2, 2, 0, 1, false};
      const auto got = values(y), expected_y = naive_max(p, data, h / 2, w / 2);
      ASSERT_EQ(got.size(), expected_y.size()) << what;
      for (std::size_t i = 0; i < got.size(); ++i)
        EXPECT_TRUE(got[i] == expected_y[i] || (std::isnan(got[i]) && std::isnan(expected_y[i])))
            << what << " at " << i << ": " << got[i] << " vs " << expected_y[i];
      // Each window's gradient (a distinct value) must land on its argmax
      // and nowhere else; pixels outside every window get zero.
      Tensor g = cr::arange(1.0, 1.0 + static_cast<double>(y.numel()), 1.0, dtype).reshape(y.sizes());
      y.backward(g);
      std::vector<double> expected(data.size(), 0.0);
      const auto where = naive_argmax_2x2(data, n * c, h, w);
      for (std::size_t i = 0; i < where.size(); ++i) expected[static_cast<std::size_t>(where[i])] = double(i + 1);
      EXPECT_EQ(values(x.grad()), expected) << what;
    }
  }
}

// With dilation a window can miss the input entirely (PyTorch's size rule
// allows it): its output is -inf and it passes no gradient back.
TEST(MaxPool2d, WindowOutsideTheInput) {
  Tensor x = cr::tensor({1.0, 2.0}, cr::kFloat64).reshape({1, 1, 1, 2}).requires_grad_();
  Tensor y = F::max_pool2d(x, {1, 2}, Size2(1), {0, 1}, {1, 3});  // taps at columns -1 and 2
  ASSERT_EQ(y.sizes(), (cr::Shape{1, 1, 1, 1}));
  EXPECT_EQ(values(y)[0], -std::numeric_limits<double>::infinity());
  Tensor gy = cr::ones_like(y).requires_grad_();
  Tensor gx = cr::autograd::grad({y}, {x}, {gy}, true, true)[0];
  EXPECT_EQ(values(gx), (std::vector<double>{0, 0}));
  // Differentiating the scatter gathers at the window's (absent) argmax.
  Tensor ggy = cr::autograd::grad({gx}, {gy}, {cr::ones_like(gx)})[0];
  EXPECT_EQ(values(ggy), (std::vector<double>{0}));
}

TEST(AvgPool2d, MatchesDirectLoop) {
  cr::manual_seed(5);
  for (const PoolCase& p : kCases) {
    if (p.dilation.h != 1 || p.dilation.w != 1) continue;
    Tensor x = cr::randn({p.n, p.c, p.h, p.w}, cr::kFloat64);
    for (bool include_pad : {true, false}) {
      Tensor y = F::avg_pool2d(x, p.kernel, p.stride, p.padding, p.ceil_mode, include_pad);
      const std::int64_t ho = torch_out_size(p.h, p.kernel.h, p.stride.h, p.padding.h, 1, p.ceil_mode);
      const std::int64_t wo = torch_out_size(p.w, p.kernel.w, p.stride.w, p.padding.w, 1, p.ceil_mode);
      ASSERT_EQ(y.sizes(), (cr::Shape{p.n, p.c, ho, wo})) << describe(p);
      expect_near(values(y), naive_avg(p, values(x), ho, wo, include_pad), 1e-12,
                  describe(p) + (include_pad ? " count_include_pad" : ""));
      Tensor y32 = F::avg_pool2d(x.to(cr::kFloat32), p.kernel, p.stride, p.padding, p.ceil_mode, include_pad);
      expect_near(values(y32), values(y), 1e-5, describe(p) + " float32");
    }
  }
  // ceil_mode's overhanging window counts only up to the padded edge: a 3×3
  // input, kernel 2, stride 2, ceil_mode: the last window is 1 wide.
  Tensor x = cr::arange(9.0, cr::kFloat64).reshape({1, 1, 3, 3});
  EXPECT_EQ(values(F::avg_pool2d(x, 2, Size2(2), 0, true)), (std::vector<double>{2, 3.5, 6.5, 8}));
}

TEST(AvgPool2d, GradientsMatchFiniteDifferences) {
  cr::manual_seed(6);
  for (const PoolCase& p : kCases) {
    if (p.dilation.h != 1 || p.dilation.w != 1) continue;
    for (bool include_pad : {true, false}) {
      Tensor x = cr::testing::strided_leaf({p.n, p.c, p.h, p.w});
      auto f = [&](const Inputs& in) {
        return F::avg_pool2d(in[0], p.kernel, p.stride, p.padding, p.ceil_mode, include_pad);
      };
      EXPECT_GRADCHECK(f, Inputs{x}) << describe(p);
    }
  }
  const PoolCase& p = kCases[2];
  Tensor x = cr::testing::leaf({p.n, p.c, p.h, p.w});
  auto f = [&](const Inputs& in) {
    Tensor y = F::avg_pool2d(in[0], p.kernel, p.stride, p.padding, p.ceil_mode, false);
    return y * y;
  };
  EXPECT_GRADGRADCHECK(f, Inputs{x}) << describe(p);
}

TEST(AdaptiveAvgPool2d, WindowsFollowPyTorch) {
  // 5 → 3 averages [0, 2), [1, 4), [3, 5): overlapping, uneven windows.
  Tensor x = cr::tensor({1.0, 2.0, 4.0, 8.0, 16.0}, cr::kFloat64).reshape({1, 1, 1, 5});
  EXPECT_EQ(values(F::adaptive_avg_pool2d(x, {1, 3})), (std::vector<double>{1.5, 14.0 / 3, 12}));
  // Growing 2 → 3 repeats the middle: [0, 1), [0, 2), [1, 2).
  Tensor y = cr::tensor({2.0, 4.0}, cr::kFloat64).reshape({1, 1, 2, 1});
  EXPECT_EQ(values(F::adaptive_avg_pool2d(y, {3, 1})), (std::vector<double>{2, 3, 4}));
  // Output 1×1 is the global mean.
  cr::manual_seed(7);
  Tensor z = cr::randn({2, 3, 5, 7}, cr::kFloat64);
  expect_near(values(F::adaptive_avg_pool2d(z, 1)), values(z.mean({2, 3}, true)), 1e-12, "global");
  // A divisible size is ordinary average pooling.
  Tensor u = cr::randn({2, 3, 6, 8}, cr::kFloat64);
  expect_near(values(F::adaptive_avg_pool2d(u, {3, 2})), values(F::avg_pool2d(u, {2, 4})), 1e-12, "divisible");
  EXPECT_EQ(F::adaptive_avg_pool2d(cr::randn({3, 7, 7}), 2).sizes(), (cr::Shape{3, 2, 2}));
}

TEST(AdaptiveAvgPool2d, GradientsMatchFiniteDifferences) {
  cr::manual_seed(8);
  for (Size2 out : {Size2(3), Size2(2, 4), Size2(1), Size2(7, 2)}) {
    Tensor x = cr::testing::strided_leaf({2, 2, 5, 6});
    auto f = [&](const Inputs& in) { return F::adaptive_avg_pool2d(in[0], out); };
    EXPECT_GRADCHECK(f, Inputs{x}) << out.h << "x" << out.w;
  }
  Tensor x = cr::testing::leaf({1, 2, 5, 4});
  auto f = [&](const Inputs& in) {
    Tensor y = F::adaptive_avg_pool2d(in[0], {3, 3});
    return y * y;
  };
  EXPECT_GRADGRADCHECK(f, Inputs{x});
}

// Large enough to take the multi-threaded path: must agree with one plane at a time.
TEST(Pooling, ThreadedPlanesAgreeWithOnePlaneAtATime) {
  cr::manual_seed(9);
  Tensor x = cr::randn({8, 16, 24, 24}).requires_grad_();
  Tensor g = cr::randn({8, 16, 13, 13});  // the largest output below
  std::vector<std::function<Tensor(const Tensor&)>> pools = {
      [](const Tensor& t) { return F::max_pool2d(t, 2); },
      [](const Tensor& t) { return F::max_pool2d(t, 3, Size2(2), 1, 1, true); },
      [](const Tensor& t) { return F::avg_pool2d(t, 2); },
      [](const Tensor& t) { return F::adaptive_avg_pool2d(t, 12); },
  };
  for (std::size_t k = 0; k < pools.size(); ++k) {
    Tensor y = pools[k](x);
    (y * g.narrow(3, 0, y.sizes()[3]).narrow(2, 0, y.sizes()[2])).sum().backward();
    Tensor whole = x.grad();
    x.set_grad({});
    for (std::int64_t n = 0; n < 8; ++n) {
      Tensor yn = pools[k](x.narrow(0, n, 1));
      EXPECT_EQ(values(yn), values(y.narrow(0, n, 1))) << k;
      (yn * g.narrow(0, n, 1).narrow(3, 0, y.sizes()[3]).narrow(2, 0, y.sizes()[2])).sum().backward();
    }
    expect_near(values(whole), values(x.grad()), 1e-6, "pool " + std::to_string(k));
    x.set_grad({});
  }
}

TEST(Pooling, Errors) {
  Tensor x = cr::randn({2, 3, 6, 6});
  expect_error([&] { F::max_pool2d(cr::randn({6, 6}), 2); }, "max_pool2d", "[6, 6]");
  expect_error([&] { F::max_pool2d(x.to(cr::kInt64), 2); }, "max_pool2d", "int64");
  expect_error([&] { F::max_pool2d(x, 0); }, "max_pool2d", "kernel_size must be positive");
  expect_error([&] { F::max_pool2d(x, 2, Size2(0)); }, "max_pool2d", "stride must be positive");
  expect_error([&] { F::max_pool2d(x, 2, std::nullopt, 0, 0); }, "max_pool2d", "dilation must be positive");
  expect_error([&] { F::max_pool2d(x, 2, std::nullopt, -1); }, "max_pool2d", "padding must be non-negative");
  expect_error([&] { F::max_pool2d(x, 3, std::nullopt, 2); }, "max_pool2d", "at most half");
  expect_error([&] { F::max_pool2d(x, {7, 2}); }, "max_pool2d", "larger than the padded input");
  expect_error([&] { F::max_pool2d(x, 4, std::nullopt, 0, 2); }, "max_pool2d", "larger than the padded input");
  // Argmax offsets are 32-bit: a larger plane is refused before anything is
  // allocated (the input is one element, broadcast).
  Tensor huge = cr::zeros({1}).expand({1, 1, 46341, 46341});
  expect_error([&] { F::max_pool2d(huge, 2); }, "max_pool2d", "2^31 - 1");
  expect_error([&] { F::avg_pool2d(x, {2, 3}, std::nullopt, {1, 2}); }, "avg_pool2d", "at most half");
  expect_error([&] { F::avg_pool2d(x, 7); }, "avg_pool2d", "larger than the padded input");
  expect_error([&] { F::avg_pool2d(cr::randn({1, 2, 3, 4, 5}), 2); }, "avg_pool2d", "[1, 2, 3, 4, 5]");
  expect_error([&] { F::avg_pool2d(x.to(cr::kInt64), 2); }, "avg_pool2d", "int64");
  expect_error([&] { F::adaptive_avg_pool2d(x, {0, 2}); }, "adaptive_avg_pool2d", "output_size must be positive");
  expect_error([&] { F::adaptive_avg_pool2d(cr::randn({6}), 2); }, "adaptive_avg_pool2d", "[6]");
  expect_error([&] { F::adaptive_avg_pool2d(x.to(cr::kInt64), 2); }, "adaptive_avg_pool2d", "int64");
  expect_error([&] { F::adaptive_avg_pool2d(cr::randn({1, 2, 0, 3}), 2); }, "adaptive_avg_pool2d", "empty");
}

}  // namespace
