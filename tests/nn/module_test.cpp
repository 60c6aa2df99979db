// Module mechanics: registration and PyTorch-style names, containers,
// train/eval, zero_grad, to(dtype), autograd scopes, printing and errors.
// Layers here are built from cr ops only (a hand-written Dense), so this file
// does not depend on nn::functional.

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "chainrule/nn.h"
#include "support/tensor_testing.h"

namespace {

using cr::Tensor;
using cr::nn::Module;
using cr::testing::expect_error;
using cr::testing::values;
namespace nn = cr::nn;

// x·W + b from public ops: a layer a user could write.
class Dense : public Module {
 public:
  Dense(std::int64_t in, std::int64_t out) : Module("Dense"), in_(in), out_(out) {
    weight = register_parameter("weight", cr::randn({in, out}) * (1.0 / std::sqrt(static_cast<double>(in))));
    bias = register_parameter("bias", cr::zeros({out}));
  }
  Tensor forward(const Tensor& x) override {
    if (x.sizes().back() != in_)
      cr::throw_error("Dense", describe_call() + " expects " + std::to_string(in_) + " features", call_site());
    return cr::matmul(x, weight, call_site()) + bias;
  }
  std::string extra_repr() const override {
    return "in=" + std::to_string(in_) + ", out=" + std::to_string(out_);
  }
  Tensor weight, bias;

 private:
  std::int64_t in_, out_;
};

// features = Sequential(Dense, ReLU, Dense), head = Dense: the shape of many models.
class Net : public Module {
 public:
  Net() {
    features = register_module("features", std::make_shared<nn::Sequential>(std::make_shared<Dense>(2, 8),
                                                                             std::make_shared<nn::ReLU>(),
                                                                             std::make_shared<Dense>(8, 4)));
    head = register_module("head", std::make_shared<Dense>(4, 1));
    register_buffer("steps", cr::zeros({}, cr::kInt64));
    register_buffer("scale", cr::ones({1}));
  }
  Tensor forward(const Tensor& x) override { return (*head)((*features)(x)); }
  std::shared_ptr<nn::Sequential> features;
  std::shared_ptr<Dense> head;
};

std::vector<std::string> keys(const std::vector<std::pair<std::string, Tensor>>& named) {
  std::vector<std::string> out;
  for (const auto& [name, t] : named) out.push_back(name);
  return out;
}

TEST(Module, NamedParametersMatchPyTorchKeys) {
  auto net = std::make_shared<Net>();
  EXPECT_EQ(keys(net->named_parameters()),
            (std::vector<std::string>{"features.0.weight", "features.0.bias", "features.2.weight", "features.2.bias",
                                      "head.weight", "head.bias"}));
  EXPECT_EQ(keys(net->named_parameters(/*recurse=*/false)), std::vector<std::string>{});
  EXPECT_EQ(keys(net->head->named_parameters()), (std::vector<std::string>{"weight", "bias"}));
  std::int64_t count = 0;
  for (const Tensor& p : net->parameters()) {
    EXPECT_TRUE(p.requires_grad());
    EXPECT_TRUE(p.is_leaf());
    count += p.numel();
  }
  EXPECT_EQ(count, (2 * 8 + 8) + (8 * 4 + 4) + (4 * 1 + 1));
  EXPECT_TRUE(net->parameters()[4].is_same(net->head->weight));
}

TEST(Module, BuffersAndStateDictOrder) {
  auto net = std::make_shared<Net>();
  EXPECT_EQ(keys(net->named_buffers()), (std::vector<std::string>{"steps", "scale"}));
  EXPECT_FALSE(net->buffers()[0].requires_grad());
  // PyTorch's state_dict: own parameters, own buffers, then each child in order.
  EXPECT_EQ(keys(net->state_dict()),
            (std::vector<std::string>{"steps", "scale", "features.0.weight", "features.0.bias", "features.2.weight",
                                      "features.2.bias", "head.weight", "head.bias"}));
}

TEST(Module, NamedModulesAndChildren) {
  auto net = std::make_shared<Net>();
  std::vector<std::string> names;
  for (const auto& [name, m] : net->named_modules()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"", "features", "features.0", "features.1", "features.2", "head"}));
  EXPECT_EQ(net->modules().size(), 6u);
  EXPECT_EQ(net->modules()[0].get(), net.get());
  ASSERT_EQ(net->children().size(), 2u);
  EXPECT_EQ(net->named_children()[1].first, "head");
  EXPECT_EQ(net->features->name(), "features");
  EXPECT_EQ(net->features->at(2)->name(), "2");
  Net on_stack;
  expect_error([&] { on_stack.named_modules(); }, "named_modules", "Net is not owned by a std::shared_ptr");
}

TEST(Module, SharedParametersAreListedOnce) {
  auto shared = std::make_shared<Dense>(3, 3);
  auto seq = std::make_shared<nn::Sequential>(shared, std::make_shared<nn::Tanh>(), shared);
  EXPECT_EQ(keys(seq->named_parameters()), (std::vector<std::string>{"0.weight", "0.bias"}));
  std::vector<std::string> names;
  for (const auto& [name, m] : seq->named_modules()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"", "0", "1"}));
}

TEST(Module, ApplyVisitsChildrenFirst) {
  auto net = std::make_shared<Net>();
  std::vector<std::string> seen;
  net->apply([&](Module& m) { seen.push_back(m.type_name()); });
  EXPECT_EQ(seen, (std::vector<std::string>{"Dense", "ReLU", "Dense", "Sequential", "Dense", "Net"}));
  // A custom initialisation through apply reaches every Dense.
  net->apply([](Module& m) {
    if (auto* dense = dynamic_cast<Dense*>(&m)) nn::init::constant_(dense->weight, 0.5);
  });
  for (const auto& [name, p] : net->named_parameters())
    if (name.ends_with("weight")) {
      for (double v : values(p)) EXPECT_EQ(v, 0.5) << name;
    }
}

TEST(Module, TrainEvalPropagates) {
  auto net = std::make_shared<Net>();
  for (const auto& m : net->modules()) EXPECT_TRUE(m->is_training());
  net->eval();
  for (const auto& [name, m] : net->named_modules()) EXPECT_FALSE(m->is_training()) << name;
  net->features->train();
  EXPECT_FALSE(net->is_training());
  EXPECT_TRUE(net->features->at(1)->is_training());
  EXPECT_FALSE(net->head->is_training());
  net->train();
  for (const auto& [name, m] : net->named_modules()) EXPECT_TRUE(m->is_training()) << name;
}

TEST(Module, ZeroGrad) {
  auto net = std::make_shared<Net>();
  Tensor x = cr::randn({5, 2});
  (*net)(x).sum().backward();
  for (const auto& [name, p] : net->named_parameters()) ASSERT_TRUE(p.grad().defined()) << name;
  Tensor old = net->head->weight.grad();
  net->zero_grad(/*set_to_none=*/false);
  for (const auto& [name, p] : net->named_parameters()) {
    ASSERT_TRUE(p.grad().defined()) << name;
    for (double v : values(p.grad())) EXPECT_EQ(v, 0.0) << name;
  }
  EXPECT_TRUE(net->head->weight.grad().is_same(old)) << "zeroing in place keeps the gradient tensor";
  net->zero_grad();
  for (const auto& [name, p] : net->named_parameters()) EXPECT_FALSE(p.grad().defined()) << name;
}

TEST(Module, ToDtypeKeepsHandles) {
  auto net = std::make_shared<Net>();
  Tensor weight = net->features->at<Dense>(0)->weight;  // a handle held elsewhere (an optimizer, say)
  const std::vector<double> before = values(weight);
  Tensor x = cr::randn({4, 2});
  const std::vector<double> out32 = values((*net)(x));
  net->to(cr::kFloat64);
  EXPECT_EQ(weight.dtype(), cr::kFloat64);
  EXPECT_TRUE(weight.requires_grad());
  EXPECT_TRUE(weight.is_leaf());
  EXPECT_EQ(values(weight), before);  // float32 -> float64 is exact
  for (const Tensor& p : net->parameters()) EXPECT_EQ(p.dtype(), cr::kFloat64);
  const auto buffers = net->named_buffers();
  EXPECT_EQ(buffers[0].second.dtype(), cr::kInt64) << "integer buffers keep their dtype";
  EXPECT_EQ(buffers[1].second.dtype(), cr::kFloat64);
  Tensor y = (*net)(x.to(cr::kFloat64));
  EXPECT_EQ(y.dtype(), cr::kFloat64);
  const std::vector<double> out64 = values(y);
  for (std::size_t i = 0; i < out64.size(); ++i) EXPECT_NEAR(out64[i], out32[i], 1e-5);
  y.sum().backward();
  EXPECT_EQ(weight.grad().dtype(), cr::kFloat64);
  net->to(cr::kFloat32);
  EXPECT_EQ(weight.dtype(), cr::kFloat32);
  EXPECT_FALSE(weight.grad().defined()) << "a gradient of the old data is dropped";
}

// Every op recorded inside a module's forward carries the module's dotted path.
TEST(Module, NodesRecordModuleScopes) {
  auto net = std::make_shared<Net>();
  Tensor out = (*net)(cr::randn({3, 2}));
  Tensor loss = out.sum();
  EXPECT_EQ(out.grad_fn()->scope(), "head");
  EXPECT_EQ(loss.grad_fn()->scope(), "") << "scopes end with the module call";
  std::multimap<std::string, std::string> scope_to_op;
  std::vector<std::shared_ptr<cr::autograd::Node>> stack{loss.grad_fn()};
  std::set<const cr::autograd::Node*> seen;
  while (!stack.empty()) {
    auto node = stack.back();
    stack.pop_back();
    if (!seen.insert(node.get()).second) continue;
    if (!dynamic_cast<cr::autograd::AccumulateGrad*>(node.get())) scope_to_op.emplace(node->scope(), node->name());
    for (const auto& edge : node->next_edges())
      if (edge.valid()) stack.push_back(edge.fn);
  }
  std::set<std::string> scopes;
  for (const auto& [scope, op] : scope_to_op) scopes.insert(scope);
  EXPECT_EQ(scopes, (std::set<std::string>{"", "features.0", "features.1", "features.2", "head"}));
  ASSERT_EQ(scope_to_op.count("features.1"), 1u);
  EXPECT_EQ(std::string(scope_to_op.find("features.1")->second), "ReluBackward");
  EXPECT_EQ(scope_to_op.count("features.0"), 2u) << "matmul and add";
}

// Ops inside library layers point at the user's call of the model, not at the
// library's own source: that line is what blame reports show.
TEST(Module, NodesRecordTheCallersLocation) {
  auto seq = std::make_shared<nn::Sequential>(std::make_shared<Dense>(2, 3), std::make_shared<nn::ReLU>());
  const auto line = static_cast<std::uint_least32_t>(__LINE__ + 1);
  Tensor out = (*seq)(cr::randn({3, 2}));
  ASSERT_EQ(std::string(out.grad_fn()->name()), "ReluBackward");
  EXPECT_EQ(out.grad_fn()->location().line(), line);
  EXPECT_NE(std::string(out.grad_fn()->location().file_name()).find("module_test.cpp"), std::string::npos);
}

TEST(Sequential, ForwardEqualsComposition) {
  cr::manual_seed(3);
  auto a = std::make_shared<Dense>(3, 5);
  auto b = std::make_shared<Dense>(5, 2);
  auto seq = std::make_shared<nn::Sequential>(a, std::make_shared<nn::Tanh>(), b, std::make_shared<nn::Sigmoid>());
  Tensor x = cr::randn({4, 3});
  Tensor expected = b->forward(a->forward(x).tanh()).sigmoid();
  EXPECT_EQ(values((*seq)(x)), values(expected));
  auto empty = std::make_shared<nn::Sequential>();
  EXPECT_TRUE((*empty)(x).is_same(x)) << "an empty Sequential is the identity";
}

TEST(Sequential, IndexingAndNames) {
  auto seq = std::make_shared<nn::Sequential>();
  seq->push_back(std::make_shared<Dense>(2, 3));
  seq->push_back(std::make_shared<nn::ReLU>());
  seq->push_back("out", std::make_shared<Dense>(3, 1));
  EXPECT_EQ(seq->size(), 3u);
  EXPECT_EQ(keys(seq->named_parameters()), (std::vector<std::string>{"0.weight", "0.bias", "out.weight", "out.bias"}));
  EXPECT_EQ((*seq)[1]->type_name(), "ReLU");
  EXPECT_EQ((*seq)[-1].get(), seq->at(2).get());
  EXPECT_EQ(seq->at<Dense>(0)->weight.sizes(), (cr::Shape{2, 3}));
  int n = 0;
  for (const auto& m : *seq) n += m != nullptr;
  EXPECT_EQ(n, 3);
  expect_error([&] { seq->at(3); }, "Sequential", "index 3 is out of range for 3 modules");
  expect_error([&] { seq->at(-4); }, "Sequential", "out of range");
  expect_error([&] { seq->at<Dense>(1); }, "Sequential", "module 1 is a ReLU");
}

TEST(ModuleList, HoldsModulesWithoutForward) {
  auto list = std::make_shared<nn::ModuleList>(std::make_shared<Dense>(2, 2), std::make_shared<Dense>(2, 2));
  list->push_back(std::make_shared<nn::GELU>());
  EXPECT_EQ(list->size(), 3u);
  EXPECT_EQ(keys(list->named_parameters()),
            (std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias"}));
  EXPECT_EQ(list->at<nn::GELU>(2)->type_name(), "GELU");
  expect_error([&] { (*list)(cr::ones({2})); }, "ModuleList", "has no forward");
  expect_error([&] { list->at(5); }, "ModuleList", "out of range");
  expect_error([&] { list->at<Dense>(2); }, "ModuleList", "module 2 is a GELU");
}

TEST(Residual, AddsItsInput) {
  auto inner = std::make_shared<Dense>(4, 4);
  auto res = std::make_shared<nn::Residual>(inner);
  Tensor x = cr::randn({3, 4});
  std::vector<double> expected = values(x + inner->forward(x));
  EXPECT_EQ(values((*res)(x)), expected);
  EXPECT_EQ(keys(res->named_parameters()), (std::vector<std::string>{"fn.weight", "fn.bias"}));
  auto bad = std::make_shared<nn::Residual>(std::make_shared<Dense>(4, 2));
  expect_error([&] { (*bad)(x); }, "Residual", "[3, 2]");
}

TEST(Activations, MatchTheOps) {
  Tensor x = cr::randn({3, 4}, cr::kFloat64);
  EXPECT_EQ(values((*std::make_shared<nn::ReLU>())(x)), values(x.relu()));
  EXPECT_EQ(values((*std::make_shared<nn::LeakyReLU>(0.2))(x)), values(x.leaky_relu(0.2)));
  EXPECT_EQ(values((*std::make_shared<nn::GELU>())(x)), values(x.gelu()));
  EXPECT_EQ(values((*std::make_shared<nn::Sigmoid>())(x)), values(x.sigmoid()));
  EXPECT_EQ(values((*std::make_shared<nn::Tanh>())(x)), values(x.tanh()));
  EXPECT_EQ(values((*std::make_shared<nn::Softmax>(0))(x)), values(x.softmax(0)));
  Tensor img = cr::randn({2, 3, 4, 5});
  EXPECT_EQ((*std::make_shared<nn::Flatten>())(img).sizes(), (cr::Shape{2, 60}));
  EXPECT_EQ((*std::make_shared<nn::Flatten>(0, 1))(img).sizes(), (cr::Shape{6, 4, 5}));
  EXPECT_TRUE((*std::make_shared<nn::Identity>())(img).is_same(img));
  expect_error([&] { (*std::make_shared<nn::Softmax>(3))(x); }, "softmax");
}

TEST(Module, PrintsLikePyTorch) {
  auto net = std::make_shared<Net>();
  net->features->push_back(std::make_shared<nn::LeakyReLU>());
  net->features->push_back(std::make_shared<nn::Softmax>(1));
  net->features->push_back(std::make_shared<nn::Flatten>());
  net->features->push_back(std::make_shared<nn::GELU>());
  EXPECT_EQ(net->to_string(),
            "Net(\n"
            "  (features): Sequential(\n"
            "    (0): Dense(in=2, out=8)\n"
            "    (1): ReLU()\n"
            "    (2): Dense(in=8, out=4)\n"
            "    (3): LeakyReLU(negative_slope=0.01)\n"
            "    (4): Softmax(dim=1)\n"
            "    (5): Flatten(start_dim=1, end_dim=-1)\n"
            "    (6): GELU(approximate='none')\n"
            "  )\n"
            "  (head): Dense(in=4, out=1)\n"
            ")");
  std::ostringstream os;
  os << *net->head;
  EXPECT_EQ(os.str(), "Dense(in=4, out=1)");
  // extra_repr and children together: the extra line comes first.
  auto res = std::make_shared<nn::Residual>(std::make_shared<nn::Tanh>());
  EXPECT_EQ(res->to_string(), "Residual(\n  (fn): Tanh()\n)");
  EXPECT_EQ(std::make_shared<nn::Sequential>()->to_string(), "Sequential()");
}

TEST(Module, PythonFloatRepr) {
  using cr::nn::repr::python_float;
  EXPECT_EQ(python_float(0.1), "0.1");
  EXPECT_EQ(python_float(1e-5), "1e-05");
  EXPECT_EQ(python_float(0.0001), "0.0001");
  EXPECT_EQ(python_float(1.0), "1.0");
  EXPECT_EQ(python_float(0.0), "0.0");
  EXPECT_EQ(python_float(-2.5), "-2.5");
  EXPECT_EQ(python_float(100.0), "100.0");
  EXPECT_EQ(python_float(123.456), "123.456");
  EXPECT_EQ(python_float(1e16), "1e+16");
  EXPECT_EQ(python_float(1.5e-7), "1.5e-07");
  EXPECT_EQ(python_float(0.01), "0.01");
}

class Registrar : public Module {
 public:
  Registrar() : Module("Registrar") {}
  using Module::register_buffer;
  using Module::register_module;
  using Module::register_parameter;
};

TEST(Module, RegistrationErrors) {
  auto m = std::make_shared<Registrar>();
  m->register_parameter("w", cr::ones({2}));
  m->register_buffer("b", cr::ones({2}));
  m->register_module("child", std::make_shared<nn::ReLU>());
  expect_error([&] { m->register_parameter("w", cr::ones({2})); }, "register_parameter",
               "already has a parameter, buffer or module named 'w'");
  expect_error([&] { m->register_buffer("child", cr::ones({2})); }, "register_buffer", "named 'child'");
  expect_error([&] { m->register_module("b", std::make_shared<nn::ReLU>()); }, "register_module", "named 'b'");
  expect_error([&] { m->register_parameter("a.b", cr::ones({2})); }, "register_parameter", "must not contain '.'");
  expect_error([&] { m->register_parameter("", cr::ones({2})); }, "register_parameter", "must not be empty");
  expect_error([&] { m->register_parameter("u", Tensor()); }, "register_parameter");
  expect_error([&] { m->register_module("none", std::shared_ptr<Module>()); }, "register_module", "is null");
  expect_error([&] { m->register_module("self", std::static_pointer_cast<Module>(m)); }, "register_module",
               "its own child");
  Tensor leaf = cr::ones({2}).requires_grad_();
  expect_error([&] { m->register_parameter("h", leaf * 2.0); }, "register_parameter", "must be a leaf");
  expect_error([&] { m->register_parameter("i", cr::ones({2}, cr::kInt64)); }, "register_parameter",
               "only float tensors");
  // A frozen integer parameter is fine; so is a float one not requiring grad.
  EXPECT_FALSE(m->register_parameter("steps", cr::ones({2}, cr::kInt64), false).requires_grad());
  EXPECT_FALSE(m->register_parameter("frozen", cr::ones({2}), false).requires_grad());
  EXPECT_EQ(keys(m->named_parameters()), (std::vector<std::string>{"w", "steps", "frozen"}));
}

TEST(Module, ForwardErrorsNameTheLayerAndTheCaller) {
  auto net = std::make_shared<Net>();
  expect_error([&] { (*net)(cr::randn({3, 5})); }, "Dense", "Dense 'features.0' expects 2 features");
  // A layer called on its own is named by its type only.
  auto dense = std::make_shared<Dense>(3, 1);
  expect_error([&] { (*dense)(cr::randn({3, 5})); }, "Dense", "Dense expects 3 features");
  expect_error([&] { (*std::make_shared<Registrar>())(cr::ones({1})); }, "Registrar", "has no forward");
  // Scopes unwind when forward throws.
  Tensor after = cr::ones({2}).requires_grad_() * 2.0;
  EXPECT_EQ(after.grad_fn()->scope(), "");
}

TEST(Module, TypeNameDefaultsToTheClassName) {
  EXPECT_EQ(std::make_shared<Net>()->type_name(), "Net");
  EXPECT_EQ(std::make_shared<Module>()->type_name(), "Module");
}

}  // namespace
