// Learning-rate schedulers: each one's lr sequence (run through PyTorch's
// recursive rules) against its closed form, chaining, OneCycleLR's phases and
// momentum, state round trips and errors.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numbers>

#include "chainrule/chainrule.h"
#include "chainrule/optim.h"
#include "support/tensor_testing.h"

namespace {

using cr::Tensor;
using cr::testing::expect_error;
namespace optim = cr::optim;

const double kPi = std::numbers::pi;
const std::vector<double> kBase{0.1, 0.04};

// An SGD optimizer with two groups whose lrs are kBase.
struct TwoGroups {
  Tensor a = cr::zeros({2}).requires_grad_(), b = cr::zeros({1}).requires_grad_();
  optim::SGD opt{{optim::ParamGroup({a}), optim::ParamGroup({b}, optim::SGDOptions(kBase[1]))},
                 optim::SGDOptions(kBase[0])};
};

// Steps `scheduler` through epochs 0..epochs and compares every group's lr
// (in the optimizer and in get_last_lr) with closed(base, epoch).
void expect_sequence(optim::LRScheduler& scheduler, optim::Optimizer& opt, int epochs,
                     const std::function<double(double, int)>& closed) {
  for (int e = 0; e <= epochs; ++e) {
    if (e > 0) scheduler.step();
    ASSERT_EQ(scheduler.last_epoch(), e);
    for (std::size_t g = 0; g < kBase.size(); ++g) {
      const double expected = closed(kBase[g], e);
      EXPECT_NEAR(opt.param_groups()[g].lr(), expected, 1e-13) << "epoch " << e << " group " << g;
      EXPECT_EQ(scheduler.get_last_lr()[g], opt.param_groups()[g].lr());
    }
  }
}

TEST(StepLR, DecaysEveryStepSizeEpochs) {
  TwoGroups s;
  optim::StepLR sched(s.opt, 3, 0.5);
  expect_sequence(sched, s.opt, 12, [](double base, int e) { return base * std::pow(0.5, e / 3); });
}

TEST(MultiStepLR, DecaysAtMilestonesCountingRepeats) {
  TwoGroups s;
  const std::vector<std::int64_t> milestones{9, 2, 5, 5};  // unsorted; 5 counts twice, as PyTorch's Counter
  optim::MultiStepLR sched(s.opt, milestones, 0.1);
  expect_sequence(sched, s.opt, 12, [&](double base, int e) {
    const auto passed = std::count_if(milestones.begin(), milestones.end(), [&](std::int64_t m) { return m <= e; });
    return base * std::pow(0.1, static_cast<double>(passed));
  });
}

TEST(ExponentialLR, DecaysEveryEpoch) {
  TwoGroups s;
  optim::ExponentialLR sched(s.opt, 0.9);
  expect_sequence(sched, s.opt, 20, [](double base, int e) { return base * std::pow(0.9, e); });
}

TEST(CosineAnnealingLR, FollowsTheCosineAndItsPeriodicContinuation) {
  TwoGroups s;
  const double eta_min = 0.001;
  optim::CosineAnnealingLR sched(s.opt, 5, eta_min);
  expect_sequence(sched, s.opt, 23, [&](double base, int e) {
    return eta_min + (base - eta_min) * (1 + std::cos(kPi * e / 5.0)) / 2;
  });
}

TEST(LinearLR, WarmsUpThenHolds) {
  TwoGroups s;
  optim::LinearLR sched(s.opt, 0.25, 1.0, 4);
  expect_sequence(sched, s.opt, 9, [](double base, int e) { return base * (0.25 + 0.75 * std::min(e, 4) / 4.0); });
}

TEST(LinearLR, DefaultsAndDecay) {
  TwoGroups s;
  optim::LinearLR warm(s.opt);  // start 1/3, end 1, 5 iterations
  EXPECT_NEAR(warm.get_last_lr()[0], kBase[0] / 3, 1e-15);
  TwoGroups t;
  optim::LinearLR decay(t.opt, 1.0, 0.5, 3);
  expect_sequence(decay, t.opt, 6, [](double base, int e) { return base * (1.0 - 0.5 * std::min(e, 3) / 3.0); });
}

TEST(LRScheduler, ChainedSchedulersMultiply) {
  // Both step every epoch on one optimizer, as PyTorch's ChainedScheduler does.
  TwoGroups s;
  optim::LinearLR warm(s.opt, 0.5, 1.0, 4);
  optim::ExponentialLR decay(s.opt, 0.9);
  EXPECT_EQ(decay.base_lrs(), kBase);  // the shared initial_lr, not the warmed-up lr
  for (int e = 0; e <= 8; ++e) {
    if (e > 0) warm.step(), decay.step();
    for (std::size_t g = 0; g < kBase.size(); ++g)
      EXPECT_NEAR(s.opt.param_groups()[g].lr(), kBase[g] * (0.5 + 0.5 * std::min(e, 4) / 4.0) * std::pow(0.9, e),
                  1e-13)
          << e;
  }
}

TEST(LRScheduler, StateDictResumes) {
  TwoGroups s;
  optim::CosineAnnealingLR sched(s.opt, 7, 0.0);
  for (int i = 0; i < 4; ++i) sched.step();
  auto opt_state = s.opt.state_dict();
  auto sched_state = sched.state_dict();
  EXPECT_EQ(sched_state.at("last_epoch").item<double>(), 4.0);

  TwoGroups r;
  optim::CosineAnnealingLR resumed(r.opt, 7, 0.0);
  r.opt.load_state_dict(opt_state);
  resumed.load_state_dict(sched_state);
  EXPECT_EQ(resumed.last_epoch(), 4);
  for (int i = 0; i < 6; ++i) {
    sched.step();
    resumed.step();
    EXPECT_EQ(r.opt.param_groups()[0].lr(), s.opt.param_groups()[0].lr()) << i;
    EXPECT_EQ(resumed.get_last_lr(), sched.get_last_lr());
  }
  auto bad = sched_state;
  bad.erase("base_lrs.1");
  expect_error([&] { resumed.load_state_dict(bad); }, "CosineAnnealingLR.load_state_dict", "missing key 'base_lrs.1'");
  bad = sched_state;
  bad["base_lrs.2"] = cr::scalar_tensor(1.0, cr::kFloat64);
  expect_error([&] { resumed.load_state_dict(bad); }, "CosineAnnealingLR.load_state_dict", "unexpected key 'base_lrs.2'");
  // initial_lr travels with the optimizer's state, for schedulers made after loading.
  EXPECT_EQ(opt_state.at("param_groups.1.initial_lr").item<double>(), kBase[1]);
}

TEST(LRScheduler, Errors) {
  TwoGroups s;
  expect_error([&] { optim::StepLR x(s.opt, 0); }, "StepLR", "step_size must be positive");
  expect_error([&] { optim::CosineAnnealingLR x(s.opt, 0); }, "CosineAnnealingLR", "T_max must be positive");
  expect_error([&] { optim::LinearLR x(s.opt, 0.0); }, "LinearLR", "start_factor");
  expect_error([&] { optim::LinearLR x(s.opt, 0.5, 1.5); }, "LinearLR", "end_factor");
  expect_error([&] { optim::LinearLR x(s.opt, 0.5, 1.0, 0); }, "LinearLR", "total_iters");
  optim::StepLR sched(s.opt, 2);
  s.opt.add_param_group(optim::ParamGroup({cr::zeros({1}).requires_grad_()}));
  expect_error([&] { sched.step(); }, "StepLR.step", "3 parameter groups but the scheduler was made for 2");
}

// ---- OneCycleLR ----------------------------------------------------------------------------------

double cos_anneal(double start, double end, double pct) { return end + (start - end) / 2 * (std::cos(kPi * pct) + 1); }

TEST(OneCycleLR, TwoPhaseCosineWithPyTorchDefaults) {
  TwoGroups s;
  const int total = 20;
  const std::vector<double> max_lrs{1.0, 0.5};
  optim::OneCycleLR sched(s.opt, max_lrs, total);
  const double up_end = 0.3 * total - 1;  // 5
  for (int e = 0; e <= total; ++e) {
    if (e > 0) sched.step();
    const auto& options = static_cast<const optim::SGDOptions&>(s.opt.param_groups()[0].options());
    for (std::size_t g = 0; g < 2; ++g) {
      const double initial = max_lrs[g] / 25, min = initial / 1e4;
      double lr, momentum;
      if (e <= up_end) {
        lr = cos_anneal(initial, max_lrs[g], e / up_end);
        momentum = cos_anneal(0.95, 0.85, e / up_end);
      } else {
        const double pct = (e - up_end) / (total - 1 - up_end);
        lr = cos_anneal(max_lrs[g], min, pct);
        momentum = cos_anneal(0.85, 0.95, pct);
      }
      EXPECT_NEAR(s.opt.param_groups()[g].lr(), lr, 1e-14) << "epoch " << e;
      if (g == 0) EXPECT_NEAR(options.momentum(), momentum, 1e-14) << "epoch " << e;
    }
  }
  EXPECT_NEAR(s.opt.param_groups()[0].lr(), cos_anneal(1.0, 1.0 / 25 / 1e4, (total - up_end) / (total - 1 - up_end)),
              1e-14);
  expect_error([&] { sched.step(); }, "OneCycleLR.step", "tried to step 21 times; total_steps is 20");
  EXPECT_EQ(sched.last_epoch(), total);
}

TEST(OneCycleLR, ThreePhaseLinearCyclesAdamBeta1) {
  Tensor p = cr::zeros({1}).requires_grad_();
  optim::Adam opt({p}, optim::AdamOptions(0.1).betas({0.9, 0.99}));
  const int total = 10;
  optim::OneCycleLR sched(opt, 2.0, total,
                          optim::OneCycleLROptions().three_phase(true).anneal_strategy(optim::AnnealStrategy::Linear)
                              .pct_start(0.25).div_factor(10).final_div_factor(100));
  const double e1 = 0.25 * total - 1, e2 = 2 * 0.25 * total - 2, e3 = total - 1;  // 1.5, 3, 9
  const double initial = 0.2, max = 2.0, min = 0.002;
  auto lin = [](double a, double b, double pct) { return (b - a) * pct + a; };
  for (int e = 0; e <= total; ++e) {
    if (e > 0) sched.step();
    double lr, m;
    if (e <= e1) lr = lin(initial, max, e / e1), m = lin(0.95, 0.85, e / e1);
    else if (e <= e2) lr = lin(max, initial, (e - e1) / (e2 - e1)), m = lin(0.85, 0.95, (e - e1) / (e2 - e1));
    else lr = lin(initial, min, (e - e2) / (e3 - e2)), m = 0.95;
    EXPECT_NEAR(opt.param_groups()[0].lr(), lr, 1e-14) << e;
    const auto& options = static_cast<const optim::AdamOptions&>(opt.param_groups()[0].options());
    EXPECT_NEAR(std::get<0>(options.betas()), m, 1e-14) << e;
    EXPECT_EQ(std::get<1>(options.betas()), 0.99);
  }
}

TEST(OneCycleLR, Errors) {
  TwoGroups s;
  expect_error([&] { optim::OneCycleLR x(s.opt, 1.0, 0); }, "OneCycleLR", "total_steps must be positive");
  expect_error([&] { optim::OneCycleLR x(s.opt, 1.0, 10, optim::OneCycleLROptions().pct_start(1.5)); }, "OneCycleLR",
               "pct_start");
  expect_error([&] { optim::OneCycleLR x(s.opt, std::vector<double>{1.0}, 10); }, "OneCycleLR", "1 max_lrs for 2");
  expect_error([&] { optim::OneCycleLR x(s.opt, 1.0, 2); }, "OneCycleLR", "without steps");
  Tensor p = cr::zeros({1}).requires_grad_();
  optim::Adagrad adagrad({p});
  expect_error([&] { optim::OneCycleLR x(adagrad, 1.0, 10); }, "OneCycleLR", "Adagrad has no momentum to cycle");
  optim::OneCycleLR fine(adagrad, 1.0, 10, optim::OneCycleLROptions().cycle_momentum(false));
  EXPECT_NEAR(adagrad.param_groups()[0].lr(), 1.0 / 25, 1e-15);
}

}  // namespace
