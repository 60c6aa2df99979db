// The optimizer base: parameter groups, zero_grad, skipped parameters,
// state_dict round trips and their errors, argument checks, and that each
// optimizer actually minimises a quadratic through real backward passes.

#include <gtest/gtest.h>

#include <cmath>
#include <memory>

#include "chainrule/chainrule.h"
#include "chainrule/optim.h"
#include "support/tensor_testing.h"

namespace {

using cr::Tensor;
using cr::testing::expect_error;
using cr::testing::values;
using Vec = std::vector<double>;
using StateDict = std::map<std::string, Tensor>;
namespace optim = cr::optim;

Tensor param(const Vec& v, cr::DType dtype = cr::kFloat64) {
  return cr::tensor(v, {static_cast<std::int64_t>(v.size())}, dtype).requires_grad_();
}

void set_grad(Tensor& p, const Vec& g) { p.set_grad(cr::tensor(g, p.sizes(), p.dtype())); }

// ---- parameter groups ---------------------------------------------------------

TEST(ParamGroups, EachGroupUsesItsOwnLearningRate) {
  Tensor a = param({1, 2}), b = param({3});
  optim::SGD opt({optim::ParamGroup({a}, optim::SGDOptions(0.1)), optim::ParamGroup({b})}, optim::SGDOptions(0.01));
  ASSERT_EQ(opt.param_groups().size(), 2u);
  EXPECT_EQ(opt.param_groups()[0].lr(), 0.1);
  EXPECT_EQ(opt.param_groups()[1].lr(), 0.01);  // took the defaults
  set_grad(a, {1, -2});
  set_grad(b, {4});
  opt.step();
  EXPECT_EQ(values(a), (Vec{1 - 0.1, 2 + 0.2}));
  EXPECT_EQ(values(b), (Vec{3 - 0.04}));
}

TEST(ParamGroups, LearningRateIsSettable) {
  Tensor a = param({1}), b = param({1});
  optim::Adam opt({optim::ParamGroup({a}), optim::ParamGroup({b}, optim::AdamOptions(0.5))});
  opt.param_groups()[0].set_lr(0.25);
  opt.param_groups()[1].options().set_lr(0.125);
  set_grad(a, {3});
  set_grad(b, {3});
  opt.step();
  // Adam's first step moves each element by lr * g / (|g| + eps') = lr (almost exactly).
  EXPECT_NEAR(values(a)[0], 1 - 0.25, 1e-7);
  EXPECT_NEAR(values(b)[0], 1 - 0.125, 1e-7);
}

TEST(ParamGroups, AddParamGroupTakesDefaultsOrItsOwnOptions) {
  Tensor a = param({1}), b = param({1}), c = param({1});
  optim::SGD opt({a}, optim::SGDOptions(0.1).momentum(0.5));
  opt.add_param_group(optim::ParamGroup({b}));
  opt.add_param_group(optim::ParamGroup({c}, optim::SGDOptions(0.2)));
  ASSERT_EQ(opt.param_groups().size(), 3u);
  const auto& second = static_cast<const optim::SGDOptions&>(opt.param_groups()[1].options());
  EXPECT_EQ(second.lr(), 0.1);
  EXPECT_EQ(second.momentum(), 0.5);
  EXPECT_EQ(opt.param_groups()[2].lr(), 0.2);
  set_grad(c, {1});
  opt.step();
  EXPECT_EQ(values(c), (Vec{0.8}));
}

TEST(ParamGroups, GroupsAreCopiedDeeply) {
  optim::ParamGroup g({param({1})}, optim::SGDOptions(0.1));
  optim::ParamGroup copy = g;
  copy.set_lr(0.7);
  EXPECT_EQ(g.lr(), 0.1);
  EXPECT_EQ(copy.lr(), 0.7);
}

TEST(ParamGroups, RejectsBadParameters) {
  Tensor a = param({1}), b = param({2});
  optim::SGD opt({a}, optim::SGDOptions(0.1));
  expect_error([&] { opt.add_param_group(optim::ParamGroup({a})); }, "SGD.add_param_group", "already appears");
  expect_error([&] { opt.add_param_group(optim::ParamGroup({b, b})); }, "SGD.add_param_group", "already appears");
  expect_error([&] { opt.add_param_group(optim::ParamGroup({b}, optim::AdamOptions(0.1))); }, "SGD.add_param_group",
               "not SGDOptions");
  expect_error([&] { opt.add_param_group(optim::ParamGroup({b * 2.0})); }, "SGD.add_param_group", "not a leaf");
  expect_error([&] { opt.add_param_group(optim::ParamGroup({cr::zeros({2}, cr::kInt64)})); }, "SGD.add_param_group",
               "only float32 and float64");
  expect_error([&] { opt.add_param_group(optim::ParamGroup({Tensor()})); }, "SGD.add_param_group", "undefined");
  expect_error([&] { optim::SGD empty(std::vector<Tensor>{}, optim::SGDOptions(0.1)); }, "SGD",
               "empty parameter list");
  // AdamW and Adam options differ in their defaults; each optimizer takes only its own.
  expect_error([&] { optim::AdamW w({optim::ParamGroup({b}, optim::AdamOptions(0.1))}); }, "AdamW.add_param_group",
               "not AdamWOptions");
  EXPECT_EQ(opt.param_groups().size(), 1u);
}

// ---- zero_grad, skipping, versions -----------------------------------------------

TEST(ZeroGrad, SetToNoneDropsTheGradient) {
  Tensor a = param({1, 2});
  optim::SGD opt({a}, optim::SGDOptions(0.1));
  set_grad(a, {1, 1});
  opt.zero_grad();
  EXPECT_FALSE(a.grad().defined());
}

TEST(ZeroGrad, InPlaceKeepsTheBufferAndZeroesIt) {
  Tensor a = param({1, 2});
  optim::SGD opt({a}, optim::SGDOptions(0.1));
  set_grad(a, {1, 1});
  Tensor before = a.grad();
  const auto version = before.version();
  opt.zero_grad(false);
  EXPECT_TRUE(a.grad().is_same(before));
  EXPECT_EQ(values(a.grad()), (Vec{0, 0}));
  EXPECT_GT(a.grad().version(), version);
}

TEST(ZeroGrad, InPlaceDetachesAGradientWithHistory) {
  Tensor a = param({1, 2});
  (a * a).sum().backward({}, false, /*create_graph=*/true);
  ASSERT_TRUE(a.grad().requires_grad());
  optim::SGD opt({a}, optim::SGDOptions(0.1));
  opt.zero_grad(false);
  EXPECT_FALSE(a.grad().requires_grad());
  EXPECT_EQ(values(a.grad()), (Vec{0, 0}));
}

TEST(Step, SkipsParametersWithoutGradient) {
  Tensor a = param({1, 2}), b = param({3});
  optim::Adam opt({a, b}, optim::AdamOptions(0.1));
  set_grad(b, {1});
  const auto version = a.version();
  opt.step();
  EXPECT_EQ(values(a), (Vec{1, 2}));
  EXPECT_EQ(a.version(), version);
  EXPECT_TRUE(opt.state(a).empty());
  EXPECT_EQ(opt.state(b).size(), 3u);  // step, exp_avg, exp_avg_sq
  EXPECT_NE(values(b)[0], 3.0);
  for (const auto& [key, value] : opt.state_dict()) EXPECT_EQ(key.rfind("state.0.", 0), std::string::npos) << key;
}

TEST(Step, BumpsTheVersionOfEveryTensorWritten) {
  Tensor a = param({1, 2});
  optim::RMSprop opt({a}, optim::RMSpropOptions(0.1).momentum(0.5).centered(true));
  set_grad(a, {1, 1});
  opt.step();
  auto state = opt.state(a);
  std::map<std::string, std::uint64_t> before;
  for (const auto& [name, t] : state) before[name] = t.version();
  const auto param_version = a.version();
  opt.step();
  EXPECT_GT(a.version(), param_version);
  for (const char* name : {"square_avg", "momentum_buffer", "grad_avg"}) {
    ASSERT_TRUE(state.count(name)) << name;
    EXPECT_GT(state[name].version(), before[name]) << name;
  }
}

TEST(Step, ReusesItsStateBuffers) {
  // No allocation after the first step: the same state tensors are updated in place.
  Tensor a = param({1, 2, 3}, cr::kFloat32);
  optim::Adam opt({a}, optim::AdamOptions(0.1).amsgrad(true));
  set_grad(a, {1, 1, 1});
  opt.step();
  auto first = opt.state(a);
  const void* data = a.raw_data();
  for (int i = 0; i < 3; ++i) opt.step();
  auto later = opt.state(a);
  for (const char* name : {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"})
    EXPECT_TRUE(first[name].is_same(later[name])) << name;
  EXPECT_EQ(a.raw_data(), data);
  EXPECT_EQ(later["step"].item<double>(), 4.0);
}

TEST(Step, ClosureRunsWithGradEnabledAndReturnsTheLoss) {
  Tensor a = param({2});
  optim::SGD opt({a}, optim::SGDOptions(0.25));
  cr::NoGradGuard no_grad;  // step must re-enable grad for the closure
  Tensor loss = opt.step([&] {
    opt.zero_grad();
    Tensor l = (a * a).sum();
    l.backward();
    return l;
  });
  EXPECT_EQ(loss.item<double>(), 4.0);
  EXPECT_EQ(values(a), (Vec{2 - 0.25 * 4}));
}

TEST(Step, RejectsAGradientThatDoesNotMatchItsParameter) {
  Tensor a = param({1, 2});
  optim::SGD opt({a}, optim::SGDOptions(0.1));
  a.set_grad(cr::tensor({1.0, 2.0}, cr::kFloat32));
  expect_error([&] { opt.step(); }, "SGD.step", "does not match its parameter");
  a.set_grad(cr::zeros({3}, cr::kFloat64));
  expect_error([&] { opt.step(); }, "SGD.step", "does not match its parameter");
}

TEST(Step, RejectsStateThatNoLongerMatchesItsParameter) {
  Tensor a = param({1, 2}, cr::kFloat32);
  optim::Adam opt({a}, optim::AdamOptions(0.1));
  set_grad(a, {1, 1});
  opt.step();
  a.set_data(a.detach().to(cr::kFloat64));  // what Module::to(kFloat64) does
  set_grad(a, {1, 1});
  expect_error([&] { opt.step(); }, "Adam.step", "no longer matches");
}

// ---- argument checks -----------------------------------------------------------------

TEST(OptimizerErrors, InvalidHyperparameters) {
  auto p = [] { return std::vector<Tensor>{param({1})}; };
  expect_error([&] { optim::SGD o(p(), optim::SGDOptions(-0.1)); }, "SGD", "invalid learning rate");
  expect_error([&] { optim::SGD o(p(), optim::SGDOptions(0.1).momentum(-1)); }, "SGD", "invalid momentum");
  expect_error([&] { optim::SGD o(p(), optim::SGDOptions(0.1).weight_decay(-1)); }, "SGD", "invalid weight_decay");
  expect_error([&] { optim::SGD o(p(), optim::SGDOptions(0.1).nesterov(true)); }, "SGD", "Nesterov");
  expect_error([&] { optim::SGD o(p(), optim::SGDOptions(0.1).momentum(0.9).dampening(0.1).nesterov(true)); }, "SGD",
               "zero dampening");
  expect_error([&] { optim::Adam o(p(), optim::AdamOptions(-1e-3)); }, "Adam", "invalid learning rate");
  expect_error([&] { optim::Adam o(p(), optim::AdamOptions().betas({1.0, 0.999})); }, "Adam", "invalid beta1");
  expect_error([&] { optim::Adam o(p(), optim::AdamOptions().betas({0.9, -0.1})); }, "Adam", "invalid beta2");
  expect_error([&] { optim::Adam o(p(), optim::AdamOptions().eps(-1)); }, "Adam", "invalid eps");
  expect_error([&] { optim::Adam o(p(), optim::AdamOptions().weight_decay(-1)); }, "Adam", "invalid weight_decay");
  expect_error([&] { optim::AdamW o(p(), optim::AdamWOptions().betas({0.9, 1.5})); }, "AdamW", "invalid beta2");
  expect_error([&] { optim::AdamW o(p(), optim::AdamWOptions(std::nan(""))); }, "AdamW", "invalid learning rate");
  expect_error([&] { optim::RMSprop o(p(), optim::RMSpropOptions(-1)); }, "RMSprop", "invalid learning rate");
  expect_error([&] { optim::RMSprop o(p(), optim::RMSpropOptions().alpha(-0.5)); }, "RMSprop", "invalid alpha");
  expect_error([&] { optim::RMSprop o(p(), optim::RMSpropOptions().momentum(-0.5)); }, "RMSprop", "invalid momentum");
  expect_error([&] { optim::RMSprop o(p(), optim::RMSpropOptions().eps(-1)); }, "RMSprop", "invalid eps");
  expect_error([&] { optim::Adagrad o(p(), optim::AdagradOptions(-1)); }, "Adagrad", "invalid learning rate");
  expect_error([&] { optim::Adagrad o(p(), optim::AdagradOptions().lr_decay(-1)); }, "Adagrad", "invalid lr_decay");
  expect_error([&] { optim::Adagrad o(p(), optim::AdagradOptions().initial_accumulator_value(-1)); }, "Adagrad",
               "invalid initial_accumulator_value");
  expect_error([&] { optim::Adagrad o(p(), optim::AdagradOptions().weight_decay(-1)); }, "Adagrad",
               "invalid weight_decay");
  // A group's own options are checked too.
  expect_error([&] { optim::SGD o({optim::ParamGroup(p(), optim::SGDOptions(-2))}, optim::SGDOptions(0.1)); }, "SGD",
               "invalid learning rate");
}

// ---- state_dict ----------------------------------------------------------------------------

// Two groups of parameters with deterministic, parameter-dependent gradients.
struct Problem {
  std::vector<Tensor> params;
  explicit Problem(cr::DType dtype = cr::kFloat64)
      : params{param({0.5, -1.0, 2.0}, dtype), param({1.5}, dtype), param({-0.7, 0.2}, dtype)} {}
  std::vector<optim::ParamGroup> groups(const optim::OptimizerOptions& second) const {
    std::vector<optim::ParamGroup> g{optim::ParamGroup({params[0], params[1]}), optim::ParamGroup({params[2]})};
    g[1].set_options(second.clone());
    return g;
  }
  void set_grads(int t) {
    for (Tensor& p : params) {
      Vec x = values(p), g(x.size());
      for (std::size_t i = 0; i < x.size(); ++i) g[i] = x[i] * x[i] * x[i] - 0.3 * t + 0.1 * i;
      p.set_grad(cr::tensor(g, p.sizes(), p.dtype()));
    }
  }
};

template <class Opt, class Options>
void expect_round_trip(Options defaults, Options second) {
  Problem original, resumed;
  Opt a(original.groups(second), defaults);
  for (int t = 1; t <= 3; ++t) {
    original.set_grads(t);
    a.step();
  }
  // Save, then resume into fresh parameters with the saved values and a fresh optimizer.
  StateDict saved;
  for (const auto& [key, value] : a.state_dict()) saved[key] = value.clone();
  for (std::size_t i = 0; i < resumed.params.size(); ++i) {
    cr::NoGradGuard no_grad;
    resumed.params[i].copy_(original.params[i]);
  }
  Options fresh_defaults = defaults;
  fresh_defaults.set_lr(123.0);  // must be overwritten by the saved hyperparameters
  Opt b(resumed.groups(fresh_defaults), fresh_defaults);
  b.load_state_dict(saved);
  EXPECT_EQ(b.param_groups()[0].lr(), defaults.get_lr());
  EXPECT_EQ(b.param_groups()[1].lr(), second.get_lr());
  for (int t = 4; t <= 6; ++t) {
    original.set_grads(t);
    resumed.set_grads(t);
    a.step();
    b.step();
  }
  for (std::size_t i = 0; i < original.params.size(); ++i)
    EXPECT_EQ(values(resumed.params[i]), values(original.params[i])) << "parameter " << i;
  // The loaded state is a copy: changing the saved tensors changes nothing.
  EXPECT_FALSE(saved.begin()->second.is_same(b.state_dict().begin()->second));
}

TEST(StateDict, RoundTripResumesExactly) {
  expect_round_trip<optim::SGD>(optim::SGDOptions(0.05).momentum(0.9).nesterov(true).weight_decay(1e-2),
                                optim::SGDOptions(0.02).momentum(0.5).dampening(0.1));
  expect_round_trip<optim::Adam>(optim::AdamOptions(0.05).amsgrad(true), optim::AdamOptions(0.01).weight_decay(0.1));
  expect_round_trip<optim::AdamW>(optim::AdamWOptions(0.05), optim::AdamWOptions(0.02).betas({0.8, 0.9}));
  expect_round_trip<optim::RMSprop>(optim::RMSpropOptions(0.01).momentum(0.9).centered(true),
                                    optim::RMSpropOptions(0.02));
  expect_round_trip<optim::Adagrad>(optim::AdagradOptions(0.1).lr_decay(0.01),
                                    optim::AdagradOptions(0.05).initial_accumulator_value(0.1));
}

TEST(StateDict, KeysAndScalars) {
  Problem problem;
  optim::Adam opt(problem.groups(optim::AdamOptions(0.01).amsgrad(true)), optim::AdamOptions(0.1));
  problem.set_grads(1);
  problem.params[1].set_grad(Tensor());  // never stepped: no state
  opt.step();
  opt.step();
  StateDict sd = opt.state_dict();
  for (const char* key : {"state.0.step", "state.0.exp_avg", "state.0.exp_avg_sq", "state.2.max_exp_avg_sq",
                          "param_groups.0.lr", "param_groups.0.betas.0", "param_groups.0.betas.1",
                          "param_groups.0.eps", "param_groups.0.weight_decay", "param_groups.0.amsgrad",
                          "param_groups.0.maximize", "param_groups.0.params", "param_groups.1.params"})
    EXPECT_TRUE(sd.count(key)) << key;
  EXPECT_FALSE(sd.count("state.0.max_exp_avg_sq"));  // group 0 has no amsgrad
  EXPECT_FALSE(sd.count("state.1.step"));
  const Tensor& lr = sd["param_groups.0.lr"];
  EXPECT_EQ(lr.dim(), 0);
  EXPECT_EQ(lr.dtype(), cr::kFloat64);
  EXPECT_EQ(lr.item<double>(), 0.1);
  EXPECT_EQ(sd["param_groups.1.lr"].item<double>(), 0.01);
  EXPECT_EQ(sd["param_groups.1.amsgrad"].item<double>(), 1.0);
  EXPECT_EQ(sd["state.0.step"].item<double>(), 2.0);
  EXPECT_EQ(sd["state.0.step"].dim(), 0);
  EXPECT_EQ(sd["state.0.exp_avg"].sizes(), (cr::Shape{3}));
  EXPECT_EQ(values(sd["param_groups.0.params"]), (Vec{0, 1}));
  EXPECT_EQ(values(sd["param_groups.1.params"]), (Vec{2}));
  EXPECT_EQ(sd["param_groups.1.params"].dtype(), cr::kInt64);

  // SGD without momentum keeps no state at all; with it, only the buffer (no step).
  Tensor a = param({1});
  optim::SGD plain({a}, optim::SGDOptions(0.1));
  set_grad(a, {1});
  plain.step();
  for (const auto& [key, value] : plain.state_dict()) EXPECT_EQ(key.rfind("state.", 0), std::string::npos) << key;
  optim::SGD heavy({a}, optim::SGDOptions(0.1).momentum(0.9));
  heavy.step();
  EXPECT_TRUE(heavy.state_dict().count("state.0.momentum_buffer"));
  EXPECT_FALSE(heavy.state_dict().count("state.0.step"));
}

TEST(StateDict, LoadConvertsDtypeToTheParameters) {
  Tensor a = param({1, 2}, cr::kFloat32);
  optim::Adam opt({a}, optim::AdamOptions(0.1));
  StateDict sd = opt.state_dict();
  sd["state.0.step"] = cr::scalar_tensor(3, cr::kFloat32);
  sd["state.0.exp_avg"] = cr::tensor({0.5, 0.25}, cr::kFloat64);
  sd["state.0.exp_avg_sq"] = cr::tensor({1.0, 1.0}, cr::kFloat64);
  opt.load_state_dict(sd);
  auto state = opt.state(a);
  EXPECT_EQ(state["exp_avg"].dtype(), cr::kFloat32);
  EXPECT_EQ(values(state["exp_avg"]), (Vec{0.5, 0.25}));
  EXPECT_EQ(state["step"].item<double>(), 3.0);
}

class LoadErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    opt = std::make_unique<optim::Adam>(problem.groups(optim::AdamOptions(0.01)), optim::AdamOptions(0.1));
    problem.set_grads(1);
    opt->step();
    good = opt->state_dict();
    for (auto& [key, value] : good) value = value.clone();
  }
  // Loading `sd` must fail and leave the optimizer exactly as it was.
  void expect_rejected(const StateDict& sd, const std::string& fragment) {
    StateDict before = opt->state_dict();
    Vec exp_avg = values(before.at("state.0.exp_avg"));
    expect_error([&] { opt->load_state_dict(sd); }, "Adam.load_state_dict", fragment);
    StateDict after = opt->state_dict();
    EXPECT_EQ(after.size(), before.size());
    EXPECT_EQ(values(after.at("state.0.exp_avg")), exp_avg);
    EXPECT_EQ(opt->param_groups()[0].lr(), 0.1);
  }
  Problem problem;
  std::unique_ptr<optim::Adam> opt;
  StateDict good;
};

TEST_F(LoadErrors, MissingKeys) {
  for (const char* key : {"state.0.exp_avg_sq", "state.2.step", "param_groups.1.lr", "param_groups.0.betas.1",
                          "param_groups.0.params"}) {
    StateDict sd = good;
    sd.erase(key);
    expect_rejected(sd, std::string("missing key '") + key + "'");
  }
}

TEST_F(LoadErrors, UnexpectedKeys) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"state.0.momentum_buffer", "keeps no state 'momentum_buffer'"},
      {"state.3.exp_avg", "has 3 parameter(s)"},
      {"param_groups.2.lr", "has 2 parameter group(s)"},
      {"param_groups.0.momentum", "no hyperparameter 'momentum'"},
      {"optimizer.lr", "unexpected key 'optimizer.lr'"},
      {"state.01.step", "unexpected key 'state.01.step'"},
      {"state.x.step", "unexpected key"},
  };
  for (const auto& [key, fragment] : cases) {
    StateDict sd = good;
    sd[key] = cr::scalar_tensor(1.0, cr::kFloat64);
    expect_rejected(sd, fragment);
  }
}

TEST_F(LoadErrors, MismatchedShapesAndValues) {
  StateDict sd = good;
  sd["state.0.exp_avg"] = cr::zeros({4}, cr::kFloat64);
  expect_rejected(sd, "'state.0.exp_avg' is [4] float64 but parameter 0 is [3] float64");
  sd = good;
  sd["state.1.exp_avg_sq"] = cr::zeros({1}, cr::kInt64);
  expect_rejected(sd, "'state.1.exp_avg_sq' is [1] int64");
  sd = good;
  sd["param_groups.0.lr"] = cr::zeros({2}, cr::kFloat64);
  expect_rejected(sd, "must hold one number");
  sd = good;
  sd["param_groups.0.lr"] = cr::scalar_tensor(-1.0, cr::kFloat64);
  expect_rejected(sd, "invalid learning rate");
  sd = good;
  sd["param_groups.1.params"] = cr::tensor(std::vector<std::int64_t>{2, 3}, {2}, cr::kInt64);
  expect_rejected(sd, "parameter group 1 has 1 parameters");
  sd = good;
  sd["param_groups.0.params"] = cr::tensor(std::vector<std::int64_t>{1, 0}, {2}, cr::kInt64);
  expect_rejected(sd, "numbers its parameters differently");
  sd = good;
  sd["state.0.step"] = cr::scalar_tensor(-2.0, cr::kFloat64);
  expect_rejected(sd, "expected a count");
}

TEST_F(LoadErrors, StateFromAnotherOptimizerIsRejected) {
  optim::SGD sgd(problem.groups(optim::SGDOptions(0.1)), optim::SGDOptions(0.1).momentum(0.9));
  sgd.step();
  expect_error([&] { opt->load_state_dict(sgd.state_dict()); }, "Adam.load_state_dict", "unexpected key");
}

TEST_F(LoadErrors, GoodStateLoads) {
  opt->load_state_dict(good);  // the fixture's own dict is fine: the checks above are specific
  EXPECT_EQ(opt->state_dict().size(), good.size());
}

// ---- training outcomes ------------------------------------------------------------------------

// Minimises sum(w * (x - target)^2) with real backward passes in float32.
template <class Opt, class Options>
void expect_minimises(Options options, int steps, double tolerance) {
  const Vec target{1.5, -2.0, 0.5, 3.0};
  Tensor x = cr::zeros({4}).requires_grad_();
  Tensor t = cr::tensor(target, {4}, cr::kFloat32), w = cr::tensor({1.0, 2.0, 0.5, 1.0});
  Opt opt({x}, options);
  for (int i = 0; i < steps; ++i) {
    opt.zero_grad();
    Tensor d = x - t;
    (w * d * d).sum().backward();
    opt.step();
  }
  const Vec got = values(x);
  for (std::size_t i = 0; i < target.size(); ++i) EXPECT_NEAR(got[i], target[i], tolerance) << i;
}

TEST(Training, EachOptimizerMinimisesAQuadratic) {
  expect_minimises<optim::SGD>(optim::SGDOptions(0.1), 200, 1e-4);
  expect_minimises<optim::SGD>(optim::SGDOptions(0.05).momentum(0.9).nesterov(true), 200, 1e-4);
  expect_minimises<optim::Adam>(optim::AdamOptions(0.1), 500, 1e-3);
  expect_minimises<optim::Adam>(optim::AdamOptions(0.1).amsgrad(true), 500, 1e-3);
  expect_minimises<optim::AdamW>(optim::AdamWOptions(0.1).weight_decay(0.0), 500, 1e-3);
  expect_minimises<optim::RMSprop>(optim::RMSpropOptions(0.01).centered(true), 1000, 1e-2);
  expect_minimises<optim::RMSprop>(optim::RMSpropOptions(0.01).momentum(0.5), 600, 1e-2);
  expect_minimises<optim::Adagrad>(optim::AdagradOptions(0.5), 500, 1e-3);
}

}  // namespace
