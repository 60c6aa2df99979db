// Every optimizer's update against PyTorch's documented algorithm, written
// out here in plain double arithmetic, over several steps with gradients that
// depend on the current parameters (so a wrong step derails every later one).

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "chainrule/chainrule.h"
#include "chainrule/optim.h"
#include "support/tensor_testing.h"

namespace {

using cr::Tensor;
using cr::testing::values;
using Vec = std::vector<double>;
namespace optim = cr::optim;

const Vec kStart{0.5, -1.25, 2.0, 0.75, -0.3, 1.1};
const cr::Shape kShape{2, 3};

// A gradient that depends on the parameters and the step: a cubic pull
// towards different targets plus a drifting term, so moments see varied input.
Vec gradient(const Vec& x, int t) {
  Vec g(x.size());
  for (std::size_t i = 0; i < x.size(); ++i)
    g[i] = x[i] * x[i] * x[i] - 0.5 * static_cast<double>(i + 1) + 0.2 * t * ((i % 2) ? 1.0 : -1.0);
  return g;
}

void set_gradient(Tensor& p, int t) {
  p.set_grad(cr::tensor(gradient(values(p), t), p.sizes(), p.dtype()));
}

// Runs `steps` optimizer steps on a parameter starting at kStart and the
// reference `ref_step(x, g, t)` alongside; compares after every step.
template <class Opt, class Options>
void expect_matches(Options options, std::function<void(Vec&, const Vec&, int)> ref_step, int steps = 5,
                    cr::DType dtype = cr::kFloat64, double tolerance = 1e-12) {
  Tensor p = cr::tensor(kStart, kShape, dtype).requires_grad_();
  Opt opt({p}, options);
  Vec x = kStart;
  for (int t = 1; t <= steps; ++t) {
    Vec g = gradient(x, t);
    set_gradient(p, t);
    if (dtype == cr::kFloat32) p.set_grad(cr::tensor(g, kShape, cr::kFloat32));  // same g as the reference
    opt.step();
    ref_step(x, g, t);
    const Vec got = values(p);
    for (std::size_t i = 0; i < x.size(); ++i)
      ASSERT_NEAR(got[i], x[i], tolerance * std::max(1.0, std::abs(x[i]))) << "step " << t << " element " << i;
  }
}

// ---- SGD ----------------------------------------------------------------------

// torch.optim.SGD, as its implementation runs it.
struct RefSGD {
  double lr, momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false, maximize = false;
  Vec buf;
  void operator()(Vec& x, const Vec& grad, int /*t*/) {
    const bool first = buf.empty();
    if (first) buf.resize(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      double g = maximize ? -grad[i] : grad[i];
      if (weight_decay != 0) g += weight_decay * x[i];
      if (momentum != 0) {
        buf[i] = first ? g : momentum * buf[i] + (1 - dampening) * g;  // the first step takes g undamped
        g = nesterov ? g + momentum * buf[i] : buf[i];
      }
      x[i] -= lr * g;
    }
  }
};

TEST(SGDUpdate, Plain) {
  expect_matches<optim::SGD>(optim::SGDOptions(0.1), RefSGD{.lr = 0.1});
}

TEST(SGDUpdate, MomentumWithDampeningAndWeightDecay) {
  // The first step must take b = g undamped; a later one must damp.
  expect_matches<optim::SGD>(optim::SGDOptions(0.05).momentum(0.9).dampening(0.3).weight_decay(0.01),
                             RefSGD{.lr = 0.05, .momentum = 0.9, .dampening = 0.3, .weight_decay = 0.01});
}

TEST(SGDUpdate, Nesterov) {
  expect_matches<optim::SGD>(optim::SGDOptions(0.05).momentum(0.8).nesterov(true).weight_decay(1e-2),
                             RefSGD{.lr = 0.05, .momentum = 0.8, .weight_decay = 1e-2, .nesterov = true});
}

TEST(SGDUpdate, Maximize) {
  expect_matches<optim::SGD>(optim::SGDOptions(0.02).momentum(0.5).weight_decay(0.1).maximize(true),
                             RefSGD{.lr = 0.02, .momentum = 0.5, .weight_decay = 0.1, .maximize = true});
}

TEST(SGDUpdate, Float32MatchesToFloatPrecision) {
  expect_matches<optim::SGD>(optim::SGDOptions(0.05).momentum(0.9).nesterov(true),
                             RefSGD{.lr = 0.05, .momentum = 0.9, .nesterov = true}, 4, cr::kFloat32, 1e-5);
}

// ---- Adam and AdamW -----------------------------------------------------------------

// torch.optim.Adam / AdamW's algorithm with bias corrections.
struct RefAdam {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
  bool amsgrad = false, decoupled = false, maximize = false;
  Vec m, v, vmax;
  void operator()(Vec& x, const Vec& grad, int t) {
    m.resize(x.size()), v.resize(x.size()), vmax.resize(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      double g = maximize ? -grad[i] : grad[i];
      if (decoupled) x[i] *= 1 - lr * weight_decay;
      else g += weight_decay * x[i];
      m[i] = beta1 * m[i] + (1 - beta1) * g;
      v[i] = beta2 * v[i] + (1 - beta2) * g * g;
      const double m_hat = m[i] / (1 - std::pow(beta1, t));
      double v_hat = v[i] / (1 - std::pow(beta2, t));
      if (amsgrad) {
        vmax[i] = std::max(vmax[i], v[i]);
        v_hat = vmax[i] / (1 - std::pow(beta2, t));
      }
      x[i] -= lr * m_hat / (std::sqrt(v_hat) + eps);
    }
  }
};

TEST(AdamUpdate, Defaults) {
  expect_matches<optim::Adam>(optim::AdamOptions(), RefAdam{});
}

TEST(AdamUpdate, BetasEpsAndL2WeightDecay) {
  expect_matches<optim::Adam>(optim::AdamOptions(0.05).betas({0.8, 0.95}).eps(1e-3).weight_decay(0.1),
                              RefAdam{.lr = 0.05, .beta1 = 0.8, .beta2 = 0.95, .eps = 1e-3, .weight_decay = 0.1});
}

TEST(AdamUpdate, AmsgradKeepsTheLargestSecondMoment) {
  // beta2 small so v falls between steps and the max actually matters.
  expect_matches<optim::Adam>(optim::AdamOptions(0.1).betas({0.5, 0.3}).amsgrad(true),
                              RefAdam{.lr = 0.1, .beta1 = 0.5, .beta2 = 0.3, .amsgrad = true}, 6);
}

TEST(AdamUpdate, Maximize) {
  expect_matches<optim::Adam>(optim::AdamOptions(0.01).maximize(true).weight_decay(0.05),
                              RefAdam{.lr = 0.01, .weight_decay = 0.05, .maximize = true});
}

TEST(AdamUpdate, Float32) {
  expect_matches<optim::Adam>(optim::AdamOptions(0.01).amsgrad(true), RefAdam{.lr = 0.01, .amsgrad = true}, 4,
                              cr::kFloat32, 1e-5);
}

TEST(AdamWUpdate, DecoupledWeightDecay) {
  expect_matches<optim::AdamW>(optim::AdamWOptions(0.05).weight_decay(0.3).betas({0.85, 0.99}),
                               RefAdam{.lr = 0.05, .beta1 = 0.85, .beta2 = 0.99, .weight_decay = 0.3, .decoupled = true});
}

TEST(AdamWUpdate, DefaultWeightDecayIsOneHundredth) {
  EXPECT_EQ(optim::AdamWOptions().weight_decay(), 1e-2);
  EXPECT_EQ(optim::AdamOptions().weight_decay(), 0.0);
  expect_matches<optim::AdamW>(optim::AdamWOptions(0.02).amsgrad(true),
                               RefAdam{.lr = 0.02, .weight_decay = 1e-2, .amsgrad = true, .decoupled = true});
}

// ---- RMSprop ----------------------------------------------------------------------------

// torch.optim.RMSprop's algorithm.
struct RefRMSprop {
  double lr = 1e-2, alpha = 0.99, eps = 1e-8, weight_decay = 0, momentum = 0;
  bool centered = false;
  Vec sq, avg, buf;
  void operator()(Vec& x, const Vec& grad, int) {
    sq.resize(x.size()), avg.resize(x.size()), buf.resize(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double g = grad[i] + weight_decay * x[i];
      sq[i] = alpha * sq[i] + (1 - alpha) * g * g;
      double v = sq[i];
      if (centered) {
        avg[i] = alpha * avg[i] + (1 - alpha) * g;
        v -= avg[i] * avg[i];
      }
      const double denom = std::sqrt(v) + eps;
      if (momentum > 0) {
        buf[i] = momentum * buf[i] + g / denom;
        x[i] -= lr * buf[i];
      } else {
        x[i] -= lr * g / denom;
      }
    }
  }
};

TEST(RMSpropUpdate, Defaults) {
  expect_matches<optim::RMSprop>(optim::RMSpropOptions(), RefRMSprop{});
}

TEST(RMSpropUpdate, MomentumAndWeightDecay) {
  expect_matches<optim::RMSprop>(optim::RMSpropOptions(0.01).alpha(0.9).momentum(0.7).weight_decay(0.05),
                                 RefRMSprop{.lr = 0.01, .alpha = 0.9, .weight_decay = 0.05, .momentum = 0.7});
}

TEST(RMSpropUpdate, Centered) {
  expect_matches<optim::RMSprop>(optim::RMSpropOptions(0.01).alpha(0.8).eps(1e-4).centered(true),
                                 RefRMSprop{.lr = 0.01, .alpha = 0.8, .eps = 1e-4, .centered = true});
}

TEST(RMSpropUpdate, CenteredWithMomentumInFloat32) {
  expect_matches<optim::RMSprop>(optim::RMSpropOptions(0.005).momentum(0.5).centered(true),
                                 RefRMSprop{.lr = 0.005, .momentum = 0.5, .centered = true}, 5, cr::kFloat32, 1e-5);
}

// ---- Adagrad ---------------------------------------------------------------------------------

// torch.optim.Adagrad's algorithm.
struct RefAdagrad {
  double lr = 1e-2, lr_decay = 0, weight_decay = 0, initial = 0, eps = 1e-10;
  Vec sum;
  void operator()(Vec& x, const Vec& grad, int t) {
    if (sum.empty()) sum.assign(x.size(), initial);
    const double clr = lr / (1 + (t - 1) * lr_decay);
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double g = grad[i] + weight_decay * x[i];
      sum[i] += g * g;
      x[i] -= clr * g / (std::sqrt(sum[i]) + eps);
    }
  }
};

TEST(AdagradUpdate, Defaults) {
  expect_matches<optim::Adagrad>(optim::AdagradOptions(), RefAdagrad{});
}

TEST(AdagradUpdate, DecayWeightDecayAndInitialAccumulator) {
  expect_matches<optim::Adagrad>(
      optim::AdagradOptions(0.1).lr_decay(0.5).weight_decay(0.2).initial_accumulator_value(0.3).eps(1e-6),
      RefAdagrad{.lr = 0.1, .lr_decay = 0.5, .weight_decay = 0.2, .initial = 0.3, .eps = 1e-6});
}

TEST(AdagradUpdate, Float32) {
  expect_matches<optim::Adagrad>(optim::AdagradOptions(0.1).lr_decay(0.1), RefAdagrad{.lr = 0.1, .lr_decay = 0.1}, 4,
                                 cr::kFloat32, 1e-5);
}

// ---- layouts ----------------------------------------------------------------------------------

// A transposed (non-contiguous) parameter is updated exactly as a contiguous one.
template <class Opt, class Options>
void expect_layout_independent(Options options) {
  Tensor base = cr::tensor(kStart, {3, 2}, cr::kFloat64);
  Tensor strided = base.clone().t();
  strided.requires_grad_();
  Tensor dense = strided.contiguous().detach().requires_grad_();
  ASSERT_FALSE(strided.is_contiguous());
  Opt a({strided}, options), b({dense}, options);
  for (int t = 1; t <= 3; ++t) {
    set_gradient(strided, t);
    set_gradient(dense, t);
    const auto version = strided.version();
    a.step();
    b.step();
    EXPECT_GT(strided.version(), version);
    EXPECT_EQ(values(strided), values(dense)) << "step " << t;
  }
}

TEST(OptimizerLayouts, NonContiguousParametersUpdateInPlace) {
  expect_layout_independent<optim::SGD>(optim::SGDOptions(0.1).momentum(0.9));
  expect_layout_independent<optim::Adam>(optim::AdamOptions(0.1).amsgrad(true));
  expect_layout_independent<optim::AdamW>(optim::AdamWOptions(0.1));
  expect_layout_independent<optim::RMSprop>(optim::RMSpropOptions(0.1).centered(true).momentum(0.3));
  expect_layout_independent<optim::Adagrad>(optim::AdagradOptions(0.1));
}

// Large parameters take the multi-threaded path; it must agree with the reference too.
TEST(OptimizerLayouts, LargeParametersMatchTheReference) {
  const std::int64_t n = 100000;
  Vec start(n), grad(n);
  for (std::int64_t i = 0; i < n; ++i) start[i] = std::sin(0.01 * i), grad[i] = std::cos(0.003 * i) - 0.2;
  Tensor p = cr::tensor(start, {n}, cr::kFloat64).requires_grad_();
  optim::Adam opt({p}, optim::AdamOptions(0.01).weight_decay(0.1));
  RefAdam ref{.lr = 0.01, .weight_decay = 0.1};
  Vec x = start;
  for (int t = 1; t <= 2; ++t) {
    p.set_grad(cr::tensor(grad, {n}, cr::kFloat64));
    opt.step();
    ref(x, grad, t);
  }
  const Vec got = values(p);
  double worst = 0;
  for (std::int64_t i = 0; i < n; ++i) worst = std::max(worst, std::abs(got[i] - x[i]));
  EXPECT_LT(worst, 1e-13);
}

}  // namespace
