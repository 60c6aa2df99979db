// The layers: PyTorch names and parameter counts for a small CNN and a ResNet
// block, default initialisation, forward against nn::functional, BatchNorm's
// train/eval behaviour, printing, errors, and a 2-layer net that learns XOR.

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "chainrule/nn.h"
#include "support/tensor_testing.h"

namespace {

using cr::Tensor;
using cr::testing::expect_error;
using cr::testing::values;
namespace nn = cr::nn;
namespace F = cr::nn::functional;

std::vector<std::string> keys(const std::vector<std::pair<std::string, Tensor>>& named) {
  std::vector<std::string> out;
  for (const auto& [name, t] : named) out.push_back(name);
  return out;
}

std::int64_t count(const nn::Module& m) {
  std::int64_t n = 0;
  for (const Tensor& p : m.parameters()) n += p.numel();
  return n;
}

void expect_close(const Tensor& a, const Tensor& b, double tol) {
  ASSERT_EQ(a.sizes(), b.sizes());
  const auto va = values(a), vb = values(b);
  for (std::size_t i = 0; i < va.size(); ++i) ASSERT_NEAR(va[i], vb[i], tol) << "at " << i;
}

// Within [-bound, bound] and spread over it, as U(-bound, bound) would be
// (t needs a few hundred elements for the spread check to be certain).
void expect_uniform_within(const Tensor& t, double bound) {
  ASSERT_GE(t.numel(), 200);
  const auto v = values(t);
  double lo = bound, hi = -bound;
  for (double x : v) lo = std::min(lo, x), hi = std::max(hi, x);
  EXPECT_GE(lo, -bound);
  EXPECT_LE(hi, bound);
  EXPECT_LT(lo, -0.9 * bound);
  EXPECT_GT(hi, 0.9 * bound);
}

// conv-bn-relu-pool twice, global average pool, classifier: PyTorch's keys written out by hand.
std::shared_ptr<nn::Sequential> small_cnn() {
  return std::make_shared<nn::Sequential>(
      std::make_shared<nn::Conv2d>(1, 8, 3, 1, 1), std::make_shared<nn::BatchNorm2d>(8),
      std::make_shared<nn::ReLU>(), std::make_shared<nn::MaxPool2d>(2),
      std::make_shared<nn::Conv2d>(nn::Conv2dOptions(8, 16, 3).bias(false)), std::make_shared<nn::BatchNorm2d>(16),
      std::make_shared<nn::ReLU>(), std::make_shared<nn::AdaptiveAvgPool2d>(1), std::make_shared<nn::Flatten>(),
      std::make_shared<nn::Dropout>(0.25), std::make_shared<nn::Linear>(16, 10));
}

TEST(Layers, SmallCnnNamesAndCounts) {
  auto cnn = small_cnn();
  EXPECT_EQ(keys(cnn->named_parameters()),
            (std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias", "4.weight", "5.weight", "5.bias",
                                      "10.weight", "10.bias"}));
  EXPECT_EQ(keys(cnn->state_dict()),
            (std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
                                      "1.num_batches_tracked", "4.weight", "5.weight", "5.bias", "5.running_mean",
                                      "5.running_var", "5.num_batches_tracked", "10.weight", "10.bias"}));
  EXPECT_EQ(count(*cnn), (8 * 9 + 8) + (8 + 8) + (16 * 8 * 9) + (16 + 16) + (16 * 10 + 10));
  Tensor out = (*cnn)(cr::randn({2, 1, 12, 12}));
  EXPECT_EQ(out.sizes(), (cr::Shape{2, 10}));
}

TEST(Layers, ResidualBlockNamesMatchTorchvision) {
  auto same = std::make_shared<nn::ResidualBlock>(8, 8);
  EXPECT_EQ(keys(same->named_parameters()),
            (std::vector<std::string>{"conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight", "bn2.weight",
                                      "bn2.bias"}));
  EXPECT_EQ(same->downsample, nullptr);
  EXPECT_EQ(count(*same), 2 * (8 * 8 * 9) + 4 * 8);

  auto down = std::make_shared<nn::ResidualBlock>(4, 8, 2);
  EXPECT_EQ(keys(down->state_dict()),
            (std::vector<std::string>{"conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var",
                                      "bn1.num_batches_tracked", "conv2.weight", "bn2.weight", "bn2.bias",
                                      "bn2.running_mean", "bn2.running_var", "bn2.num_batches_tracked",
                                      "downsample.0.weight", "downsample.1.weight", "downsample.1.bias",
                                      "downsample.1.running_mean", "downsample.1.running_var",
                                      "downsample.1.num_batches_tracked"}));
  EXPECT_EQ(count(*down), (8 * 4 * 9) + 16 + (8 * 8 * 9) + 16 + (8 * 4) + 16);
  EXPECT_EQ(down->conv1->weight.sizes(), (cr::Shape{8, 4, 3, 3}));
  EXPECT_EQ(down->downsample->at<nn::Conv2d>(0)->weight.sizes(), (cr::Shape{8, 4, 1, 1}));
  // A channel change alone also needs the projection.
  EXPECT_NE(std::make_shared<nn::ResidualBlock>(4, 8, 1)->downsample, nullptr);
  EXPECT_NE(std::make_shared<nn::ResidualBlock>(8, 8, 2)->downsample, nullptr);
}

TEST(Layers, ResidualBlockForward) {
  cr::manual_seed(5);
  auto block = std::make_shared<nn::ResidualBlock>(3, 6, 2);
  block->eval();
  // Non-trivial running stats and affine parameters, so eval-mode BN matters.
  for (const auto& [name, t] : block->state_dict())
    if (cr::is_floating(t.dtype())) nn::init::uniform_(t, 0.5, 1.5);
  Tensor x = cr::randn({2, 3, 7, 7});
  Tensor out = (*block)(x);
  EXPECT_EQ(out.sizes(), (cr::Shape{2, 6, 4, 4}));
  auto bn = [](const nn::BatchNorm& m, const Tensor& v) {
    return F::batch_norm(v, m.running_mean, m.running_var, m.weight, m.bias, false, 0.1, m.eps);
  };
  Tensor h = bn(*block->bn1, F::conv2d(x, block->conv1->weight, {}, 2, 1)).relu();
  h = bn(*block->bn2, F::conv2d(h, block->conv2->weight, {}, 1, 1));
  auto proj_conv = block->downsample->at<nn::Conv2d>(0);
  auto proj_bn = block->downsample->at<nn::BatchNorm2d>(1);
  Tensor shortcut = bn(*proj_bn, F::conv2d(x, proj_conv->weight, {}, 2, 0));
  expect_close(out, (h + shortcut).relu(), 1e-5);

  auto identity = std::make_shared<nn::ResidualBlock>(3, 3);
  identity->eval();
  nn::init::zeros_(identity->bn2->weight);  // the residual branch vanishes: out = relu(x)
  nn::init::zeros_(identity->bn2->bias);
  expect_close((*identity)(x), x.relu(), 1e-6);
}

TEST(Layers, ResidualBlockGradcheck) {
  cr::manual_seed(6);
  auto block = std::make_shared<nn::ResidualBlock>(2, 3, 2);
  block->to(cr::kFloat64);
  block->eval();
  Tensor x = cr::testing::leaf({1, 2, 5, 5});
  std::vector<Tensor> inputs{x, block->conv1->weight, block->downsample->at<nn::BatchNorm2d>(1)->weight};
  EXPECT_GRADCHECK([&](const std::vector<Tensor>& in) { return (*block)(in[0]); }, inputs);
}

TEST(Layers, ScopesInsideBlocks) {
  auto net = std::make_shared<nn::Sequential>(std::make_shared<nn::ResidualBlock>(2, 4, 2), std::make_shared<nn::Flatten>());
  Tensor out = (*net)(cr::randn({1, 2, 4, 4}));
  std::set<std::string> scopes;
  std::vector<std::shared_ptr<cr::autograd::Node>> stack{out.grad_fn()};
  std::set<const cr::autograd::Node*> seen;
  while (!stack.empty()) {
    auto node = stack.back();
    stack.pop_back();
    if (!seen.insert(node.get()).second) continue;
    if (!dynamic_cast<cr::autograd::AccumulateGrad*>(node.get())) scopes.insert(node->scope());
    for (const auto& e : node->next_edges())
      if (e.valid()) stack.push_back(e.fn);
  }
  for (const char* s : {"0.conv1", "0.bn1", "0.relu", "0.conv2", "0.bn2", "0.downsample.0", "0.downsample.1", "1"})
    EXPECT_TRUE(scopes.count(s)) << s;
}

TEST(Linear, DefaultInitForwardAndNames) {
  cr::manual_seed(7);
  auto fc = std::make_shared<nn::Linear>(300, 200);
  EXPECT_EQ(keys(fc->named_parameters()), (std::vector<std::string>{"weight", "bias"}));
  EXPECT_EQ(fc->weight.sizes(), (cr::Shape{200, 300}));
  // PyTorch's default: U(±1/√in_features) for both.
  expect_uniform_within(fc->weight, 1 / std::sqrt(300.0));
  expect_uniform_within(fc->bias, 1 / std::sqrt(300.0));
  Tensor x = cr::randn({4, 300});
  expect_close((*fc)(x), cr::matmul(x, fc->weight.t()) + fc->bias, 1e-5);
  EXPECT_EQ((*fc)(cr::randn({2, 3, 300})).sizes(), (cr::Shape{2, 3, 200}));

  auto no_bias = std::make_shared<nn::Linear>(3, 2, false);
  EXPECT_EQ(keys(no_bias->named_parameters()), std::vector<std::string>{"weight"});
  EXPECT_FALSE(no_bias->bias.defined());
  EXPECT_EQ(no_bias->to_string(), "Linear(in_features=3, out_features=2, bias=False)");
  EXPECT_EQ(fc->to_string(), "Linear(in_features=300, out_features=200, bias=True)");
}

TEST(Linear, ShapeErrorNamesTheLayer) {
  auto mlp = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(4, 3), std::make_shared<nn::ReLU>(),
                                              std::make_shared<nn::Linear>(5, 2));
  expect_error([&] { (*mlp)(cr::randn({2, 4})); }, "Linear", "Linear '2' expects input [..., 5], got [2, 3] float32");
  auto fc = std::make_shared<nn::Linear>(4, 3);
  expect_error([&] { (*fc)(cr::randn({2, 5})); }, "Linear", "Linear expects input [..., 4]");
  EXPECT_THROW(nn::Linear(-1, 3), cr::Error);
}

TEST(Conv2d, DefaultInitForwardAndRepr) {
  cr::manual_seed(8);
  auto conv = std::make_shared<nn::Conv2d>(nn::Conv2dOptions(16, 256, 3).stride(2).padding(1).groups(2));
  EXPECT_EQ(conv->weight.sizes(), (cr::Shape{256, 8, 3, 3}));
  const double bound = 1 / std::sqrt(8.0 * 9.0);  // fan_in = in/groups · kH · kW
  expect_uniform_within(conv->weight, bound);
  expect_uniform_within(conv->bias, bound);
  Tensor x = cr::randn({2, 16, 9, 9});
  expect_close((*conv)(x), F::conv2d(x, conv->weight, conv->bias, 2, 1, 1, 2), 1e-6);
  EXPECT_EQ(conv->to_string(), "Conv2d(16, 256, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), groups=2)");
  EXPECT_EQ(nn::Conv2d(3, 4, {3, 5}, 1, 0, 2, 1, false).to_string(),
            "Conv2d(3, 4, kernel_size=(3, 5), stride=(1, 1), dilation=(2, 2), bias=False)");
}

TEST(Conv2d, Errors) {
  auto net = std::make_shared<nn::Sequential>(std::make_shared<nn::Conv2d>(3, 4, 3));
  expect_error([&] { (*net)(cr::randn({1, 2, 8, 8})); }, "Conv2d", "Conv2d '0' expects input [N, 3, H, W]");
  expect_error([&] { (*net)(cr::randn({3, 8, 8})); }, "Conv2d", "got [3, 8, 8] float32");
  EXPECT_THROW(nn::Conv2d(3, 4, 3, 1, 0, 1, 2), cr::Error);  // 3 channels in 2 groups
  EXPECT_THROW(nn::Conv2d(3, 4, 0), cr::Error);
}

TEST(Pooling, ForwardAndRepr) {
  Tensor x = cr::randn({2, 3, 8, 8});
  auto max = std::make_shared<nn::MaxPool2d>(2);
  EXPECT_EQ(values((*max)(x)), values(F::max_pool2d(x, 2)));
  EXPECT_EQ(max->to_string(), "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)");
  auto avg = std::make_shared<nn::AvgPool2d>(3, 2, 1);
  EXPECT_EQ(values((*avg)(x)), values(F::avg_pool2d(x, 3, 2, 1)));
  EXPECT_EQ(avg->to_string(), "AvgPool2d(kernel_size=3, stride=2, padding=1)");
  auto gap = std::make_shared<nn::AdaptiveAvgPool2d>(1);
  expect_close((*gap)(x), x.mean({2, 3}, true), 1e-6);
  EXPECT_EQ(gap->to_string(), "AdaptiveAvgPool2d(output_size=1)");
  EXPECT_EQ(nn::AdaptiveAvgPool2d({2, 3}).to_string(), "AdaptiveAvgPool2d(output_size=(2, 3))");
}

// Equal element for element, NaN matching NaN.
void expect_same_values(const Tensor& a, const Tensor& b) {
  ASSERT_EQ(a.sizes(), b.sizes());
  const auto va = values(a), vb = values(b);
  for (std::size_t i = 0; i < va.size(); ++i) {
    if (std::isnan(va[i])) {
      EXPECT_TRUE(std::isnan(vb[i])) << "at " << i;
    } else {
      EXPECT_EQ(va[i], vb[i]) << "at " << i;
    }
  }
}

// A ReLU → max pooling input with the windows where the two orders could part:
// all negative, a tie of positives, zero against negatives, a NaN, a ±0 tie.
Tensor relu_pool_input() {
  std::vector<float> v = {-3, -1, -2, -4,   // window (0,0) all negative; (0,1) zero vs negatives
                          -5, -6, 0, -1,    //
                          2, 5, 1, NAN,     // window (1,0) a tie of 5s; (1,1) a NaN
                          5, 1, 3, 2,       //
                          -0.0F, 0, 7, 7,   // window (2,0) ±0 only; (2,1) ties at 7
                          0, -0.0F, 7, 7};  //
  for (std::size_t i = 0; i < 2 * 6 * 4; ++i) v.push_back(std::sin(static_cast<float>(i)) * 3);
  return cr::tensor(v, {1, 3, 6, 4});
}

TEST(Sequential, RunsReluThenMaxPoolAsPoolThenReluExactly) {
  auto net = std::make_shared<nn::Sequential>(std::make_shared<nn::ReLU>(), std::make_shared<nn::MaxPool2d>(2));
  Tensor x = relu_pool_input().requires_grad_();
  Tensor y = (*net)(x);
  ASSERT_NE(y.grad_fn(), nullptr);
  EXPECT_STREQ(y.grad_fn()->name(), "ReluBackward");  // the reordering took place
  Tensor x_written = relu_pool_input().requires_grad_();
  Tensor y_written = F::max_pool2d(cr::relu(x_written), 2);
  expect_same_values(y, y_written);

  Tensor upstream = cr::randn(y.sizes());
  (y * upstream).sum().backward();
  (y_written * upstream).sum().backward();
  expect_same_values(x.grad(), x_written.grad());
  EXPECT_GT(values(x.grad().abs().sum())[0], 0);  // not vacuous: some gradient got through
}

TEST(Sequential, KeepsTheWrittenOrderWhenItWouldChangeTheResult) {
  // Padding: a window wholly in it is -inf after ReLU → pool, 0 after pool → ReLU.
  auto padded = std::make_shared<nn::Sequential>(std::make_shared<nn::ReLU>(),
                                                 std::make_shared<nn::MaxPool2d>(2, 2, 1));
  Tensor x = relu_pool_input().requires_grad_();
  Tensor y = (*padded)(x);
  EXPECT_STRNE(y.grad_fn()->name(), "ReluBackward");
  expect_same_values(y, F::max_pool2d(cr::relu(x), 2, 2, 1));
  // A subclass of ReLU may compute something that does not commute with max
  // (here a decreasing function): it runs where it was put.
  struct NegatedReLU : nn::ReLU {
    Tensor forward(const Tensor& input) override { return nn::ReLU::forward(input) * -1.0; }
  };
  auto negated = std::make_shared<nn::Sequential>(std::make_shared<NegatedReLU>(), std::make_shared<nn::MaxPool2d>(2));
  expect_same_values((*negated)(x), F::max_pool2d(cr::relu(x) * -1.0, 2));
}

TEST(BatchNorm, ParametersBuffersAndRepr) {
  auto bn = std::make_shared<nn::BatchNorm2d>(4);
  EXPECT_EQ(keys(bn->named_parameters()), (std::vector<std::string>{"weight", "bias"}));
  EXPECT_EQ(keys(bn->named_buffers()),
            (std::vector<std::string>{"running_mean", "running_var", "num_batches_tracked"}));
  EXPECT_EQ(values(bn->weight), std::vector<double>(4, 1.0));
  EXPECT_EQ(values(bn->running_var), std::vector<double>(4, 1.0));
  EXPECT_EQ(bn->num_batches_tracked.dtype(), cr::kInt64);
  EXPECT_EQ(bn->num_batches_tracked.dim(), 0);
  EXPECT_EQ(bn->to_string(), "BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)");
  auto bare = std::make_shared<nn::BatchNorm1d>(3, 1e-3, 0.2, false, false);
  EXPECT_TRUE(bare->parameters().empty());
  EXPECT_TRUE(bare->buffers().empty());
  EXPECT_EQ(bare->to_string(), "BatchNorm1d(3, eps=0.001, momentum=0.2, affine=False, track_running_stats=False)");
  bn->to(cr::kFloat64);
  EXPECT_EQ(bn->running_mean.dtype(), cr::kFloat64);
  EXPECT_EQ(bn->num_batches_tracked.dtype(), cr::kInt64);
}

TEST(BatchNorm, TrainingUpdatesRunningStatsAndEvalUsesThem) {
  cr::manual_seed(9);
  auto bn = std::make_shared<nn::BatchNorm2d>(3, 1e-5, 0.5);
  Tensor x = cr::randn({8, 3, 4, 4}) * 2.0 + 3.0;
  Tensor y = (*bn)(x);
  // Training normalises with the batch's own statistics.
  const auto mean = values(y.mean({0, 2, 3}));
  for (double m : mean) EXPECT_NEAR(m, 0.0, 1e-5);
  EXPECT_EQ(bn->num_batches_tracked.item<std::int64_t>(), 1);
  // running = 0.5·old + 0.5·batch (unbiased variance).
  const auto batch_mean = values(x.mean({0, 2, 3}));
  const auto batch_var = values(x.var({0, 2, 3}, true));
  const auto rm = values(bn->running_mean), rv = values(bn->running_var);
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR(rm[c], 0.5 * batch_mean[c], 1e-5);
    EXPECT_NEAR(rv[c], 0.5 + 0.5 * batch_var[c], 1e-4);
  }
  (*bn)(x);
  EXPECT_EQ(bn->num_batches_tracked.item<std::int64_t>(), 2);

  bn->eval();
  nn::init::uniform_(bn->weight, 0.5, 2.0);
  nn::init::uniform_(bn->bias, -1.0, 1.0);
  const auto before = values(bn->running_mean);
  Tensor z = cr::randn({2, 3, 4, 4});
  Tensor out = (*bn)(z);
  EXPECT_EQ(values(bn->running_mean), before) << "eval must not touch the running stats";
  EXPECT_EQ(bn->num_batches_tracked.item<std::int64_t>(), 2);
  auto shape = [](const Tensor& t) { return t.reshape({1, 3, 1, 1}); };
  Tensor expected = (z - shape(bn->running_mean)) / (shape(bn->running_var) + 1e-5).sqrt() * shape(bn->weight) +
                    shape(bn->bias);
  expect_close(out, expected, 1e-5);
}

TEST(BatchNorm, OneDimensionalAndErrors) {
  auto bn = std::make_shared<nn::BatchNorm1d>(5);
  EXPECT_EQ((*bn)(cr::randn({4, 5})).sizes(), (cr::Shape{4, 5}));
  EXPECT_EQ((*bn)(cr::randn({4, 5, 7})).sizes(), (cr::Shape{4, 5, 7}));
  expect_error([&] { (*bn)(cr::randn({4, 5, 7, 2})); }, "BatchNorm1d", "expects 2D or 3D input");
  expect_error([&] { (*bn)(cr::randn({4, 6})); }, "BatchNorm1d", "expects 5 channels in dim 1, got [4, 6] float32");
  auto net = std::make_shared<nn::Sequential>(std::make_shared<nn::BatchNorm2d>(3));
  expect_error([&] { (*net)(cr::randn({2, 3, 4})); }, "BatchNorm2d", "BatchNorm2d '0' expects 4D input");
  // Without running stats, eval still normalises with batch statistics.
  auto untracked = std::make_shared<nn::BatchNorm1d>(2, 1e-5, 0.1, true, false);
  untracked->eval();
  Tensor y = (*untracked)(cr::randn({16, 2}) + 5.0);
  for (double m : values(y.mean(0))) EXPECT_NEAR(m, 0.0, 1e-5);
  EXPECT_THROW(nn::BatchNorm2d(0), cr::Error);
}

TEST(LayerNorm, NormalisesTrailingDims) {
  auto ln = std::make_shared<nn::LayerNorm>(cr::Shape{6});
  EXPECT_EQ(keys(ln->named_parameters()), (std::vector<std::string>{"weight", "bias"}));
  Tensor y = (*ln)(cr::randn({4, 6}) * 3.0 + 1.0);
  for (double m : values(y.mean(1))) EXPECT_NEAR(m, 0.0, 1e-5);
  for (double v : values(y.var({1}, false))) EXPECT_NEAR(v, 1.0, 1e-3);
  EXPECT_EQ(ln->to_string(), "LayerNorm((6,), eps=1e-05, elementwise_affine=True)");
  EXPECT_EQ(nn::LayerNorm(cr::Shape{2, 3}, 1e-6, false).to_string(),
            "LayerNorm((2, 3), eps=1e-06, elementwise_affine=False)");
  EXPECT_TRUE(nn::LayerNorm(cr::Shape{2, 3}, 1e-6, false).parameters().empty());
  expect_error([&] { (*ln)(cr::randn({6, 4})); }, "LayerNorm", "normalises trailing dims [6], got [6, 4] float32");
}

TEST(Dropout, TrainAndEval) {
  cr::manual_seed(10);
  auto drop = std::make_shared<nn::Dropout>(0.25);
  Tensor x = cr::ones({100, 100});
  const auto v = values((*drop)(x));
  std::int64_t zeros = 0;
  for (double e : v) {
    if (e == 0.0) ++zeros;
    else EXPECT_NEAR(e, 1 / 0.75, 1e-6);
  }
  EXPECT_NEAR(static_cast<double>(zeros) / 10000.0, 0.25, 0.03);
  drop->eval();
  EXPECT_EQ(values((*drop)(x)), values(x));
  EXPECT_EQ(drop->to_string(), "Dropout(p=0.25, inplace=False)");
  EXPECT_THROW(nn::Dropout(1.5), cr::Error);
  EXPECT_THROW(nn::Dropout(-0.1), cr::Error);
}

TEST(Embedding, LooksUpRows) {
  cr::manual_seed(11);
  auto emb = std::make_shared<nn::Embedding>(10, 3);
  EXPECT_EQ(keys(emb->named_parameters()), std::vector<std::string>{"weight"});
  Tensor idx = cr::tensor(std::vector<std::int64_t>{2, 7, 2, 0}, {2, 2});
  Tensor out = (*emb)(idx);
  EXPECT_EQ(out.sizes(), (cr::Shape{2, 2, 3}));
  EXPECT_EQ(values(out.select(0, 1).select(0, 0)), values(emb->weight.select(0, 2)));
  out.sum().backward();
  EXPECT_EQ(values(emb->weight.grad().select(0, 2)), std::vector<double>(3, 2.0));
  EXPECT_EQ(emb->to_string(), "Embedding(10, 3)");
  expect_error([&] { (*emb)(cr::ones({2})); }, "Embedding", "takes int64 indices");
  // N(0, 1) initialisation.
  auto big = std::make_shared<nn::Embedding>(1000, 100);
  EXPECT_NEAR(big->weight.mean().item<double>(), 0.0, 0.02);
  EXPECT_NEAR(big->weight.std().item<double>(), 1.0, 0.02);
}

TEST(Layers, PrintsANetworkLikePyTorch) {
  EXPECT_EQ(small_cnn()->to_string(),
            "Sequential(\n"
            "  (0): Conv2d(1, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"
            "  (1): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
            "  (2): ReLU()\n"
            "  (3): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"
            "  (4): Conv2d(8, 16, kernel_size=(3, 3), stride=(1, 1), bias=False)\n"
            "  (5): BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
            "  (6): ReLU()\n"
            "  (7): AdaptiveAvgPool2d(output_size=1)\n"
            "  (8): Flatten(start_dim=1, end_dim=-1)\n"
            "  (9): Dropout(p=0.25, inplace=False)\n"
            "  (10): Linear(in_features=16, out_features=10, bias=True)\n"
            ")");
  EXPECT_EQ(nn::ResidualBlock(4, 8, 2).to_string(),
            "ResidualBlock(\n"
            "  (conv1): Conv2d(4, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)\n"
            "  (bn1): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
            "  (relu): ReLU()\n"
            "  (conv2): Conv2d(8, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)\n"
            "  (bn2): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
            "  (downsample): Sequential(\n"
            "    (0): Conv2d(4, 8, kernel_size=(1, 1), stride=(2, 2), bias=False)\n"
            "    (1): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
            "  )\n"
            ")");
}

// The whole loop: forward, loss, backward, a manual SGD step under no-grad.
TEST(Layers, TwoLayerNetLearnsXor) {
  cr::manual_seed(12);
  auto net = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(2, 8), std::make_shared<nn::Tanh>(),
                                              std::make_shared<nn::Linear>(8, 1));
  Tensor x = cr::tensor({0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0}).reshape({4, 2});
  Tensor y = cr::tensor({0.0, 1.0, 1.0, 0.0}).reshape({4, 1});
  const double lr = 0.5;
  double first = 0, last = 0;
  for (int step = 0; step < 500; ++step) {
    net->zero_grad();
    Tensor loss = F::binary_cross_entropy_with_logits((*net)(x), y);
    loss.backward();
    if (step == 0) first = loss.item<double>();
    last = loss.item<double>();
    cr::NoGradGuard no_grad;
    for (Tensor& p : net->parameters()) p.sub_(p.grad(), lr);
  }
  EXPECT_GT(first, 0.5);
  EXPECT_LT(last, 0.05) << "started at " << first;
  const auto probs = values((*net)(x).sigmoid());
  EXPECT_LT(probs[0], 0.2);
  EXPECT_GT(probs[1], 0.8);
  EXPECT_GT(probs[2], 0.8);
  EXPECT_LT(probs[3], 0.2);
}

}  // namespace
