// train_tiny: a 2-layer MLP learns to tell two interleaved spirals apart.
//
// Everything is spelled out by hand so that the whole of training is on one
// screen: the forward pass (matmul/addmm + tanh), the loss (cross-entropy via
// log_softmax), backward, and an SGD step under NoGradGuard. Until a training
// CLI exists, this is the program `scripts/run-main.sh` runs.
//
//   train_tiny [--steps N] [--lr X] [--hidden H] [--points N] [--seed S] [--every N]
//
// Exits with status 1 if the loss did not fall by at least a factor of
// kRequiredFall, so it doubles as an end-to-end smoke test.

#include <chainrule/chainrule.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numbers>
#include <string>
#include <vector>

namespace {

constexpr double kRequiredFall = 4.0;

struct Config {
  int steps = 1500;
  double lr = 0.5;
  std::int64_t hidden = 32;
  std::int64_t points_per_class = 128;
  std::uint64_t seed = 0;
  int every = 100;
};

Config parse_args(int argc, char** argv) {
  Config config;
  for (int i = 1; i < argc; ++i) {
    auto value = [&](const char* flag) -> const char* {
      if (std::strcmp(argv[i], flag) != 0) return nullptr;
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", flag);
        std::exit(2);
      }
      return argv[++i];
    };
    if (const char* v = value("--steps")) config.steps = std::atoi(v);
    else if (const char* v = value("--lr")) config.lr = std::atof(v);
    else if (const char* v = value("--hidden")) config.hidden = std::atoll(v);
    else if (const char* v = value("--points")) config.points_per_class = std::atoll(v);
    else if (const char* v = value("--seed")) config.seed = std::strtoull(v, nullptr, 10);
    else if (const char* v = value("--every")) config.every = std::atoi(v);
    else {
      std::fprintf(stderr,
                   "usage: %s [--steps N] [--lr X] [--hidden H] [--points N] [--seed S] [--every N]\n",
                   argv[0]);
      std::exit(2);
    }
  }
  if (config.steps < 1 || config.every < 1 || config.hidden < 1 || config.points_per_class < 1) {
    std::fprintf(stderr, "--steps, --every, --hidden and --points must be positive\n");
    std::exit(2);
  }
  return config;
}

struct Dataset {
  cr::Tensor x;        // [N, 2] float32 points
  cr::Tensor one_hot;  // [N, 2] float32 targets
  cr::Tensor labels;   // [N] int64 class ids
};

// Two spirals, one per class, each one and a half turns, with a little noise.
Dataset two_spirals(std::int64_t points_per_class) {
  const std::int64_t n = 2 * points_per_class;
  const cr::Tensor u = cr::rand({n});
  const cr::Tensor noise = cr::randn({n, 2});
  const float* u_data = u.data_ptr<float>();
  const float* noise_data = noise.data_ptr<float>();

  std::vector<float> x(2 * n), one_hot(2 * n, 0.0f);
  std::vector<std::int64_t> labels(n);
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t label = i % 2;
    const double t = 0.25 + 1.5 * 2.0 * std::numbers::pi * std::sqrt(u_data[i]);
    const double angle = t + std::numbers::pi * static_cast<double>(label);
    const double radius = 2.0 * t / (3.0 * std::numbers::pi);  // ends near 2
    x[2 * i] = static_cast<float>(radius * std::cos(angle) + 0.04 * noise_data[2 * i]);
    x[2 * i + 1] = static_cast<float>(radius * std::sin(angle) + 0.04 * noise_data[2 * i + 1]);
    one_hot[2 * i + label] = 1.0f;
    labels[i] = label;
  }
  return {cr::tensor(x, {n, 2}), cr::tensor(one_hot, {n, 2}), cr::tensor(labels, {n})};
}

// Weights drawn as PyTorch's nn.Linear does: uniform on ±1/sqrt(fan_in).
cr::Tensor uniform_parameter(const cr::Shape& shape, std::int64_t fan_in) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  cr::Tensor p = (cr::rand(shape) * 2.0 - 1.0) * bound;
  p.requires_grad_();
  return p;
}

double norm(const cr::Tensor& t) { return std::sqrt((t * t).sum().item<double>()); }

}  // namespace

int main(int argc, char** argv) {
  const Config config = parse_args(argc, argv);
  cr::manual_seed(config.seed);
  const Dataset data = two_spirals(config.points_per_class);

  struct Parameter {
    const char* name;
    cr::Tensor tensor;
  };
  std::vector<Parameter> params = {
      {"layer1.weight", uniform_parameter({2, config.hidden}, 2)},
      {"layer1.bias", uniform_parameter({config.hidden}, 2)},
      {"layer2.weight", uniform_parameter({config.hidden, 2}, config.hidden)},
      {"layer2.bias", uniform_parameter({2}, config.hidden)},
  };
  const cr::Tensor& w1 = params[0].tensor;
  const cr::Tensor& b1 = params[1].tensor;
  const cr::Tensor& w2 = params[2].tensor;
  const cr::Tensor& b2 = params[3].tensor;

  auto forward = [&](const cr::Tensor& x) {
    cr::Tensor hidden = cr::tanh(cr::matmul(x, w1) + b1);
    return cr::addmm(b2, hidden, w2);  // logits
  };
  auto accuracy = [&](const cr::Tensor& logits) {
    return cr::argmax(logits, 1).eq(data.labels).to(cr::kFloat32).mean().item<double>();
  };

  std::printf("train_tiny: 2-layer MLP (2 -> %lld -> 2, tanh), two spirals, %lld points, "
              "SGD lr=%g, %d steps\n",
              static_cast<long long>(config.hidden),
              static_cast<long long>(data.x.size(0)), config.lr, config.steps);

  double first_loss = 0.0, last_loss = 0.0;
  for (int step = 0; step <= config.steps; ++step) {
    const cr::Tensor logits = forward(data.x);
    // Cross-entropy: the mean over points of -log p(true class).
    const cr::Tensor loss = -(cr::log_softmax(logits, 1) * data.one_hot).sum(1).mean();
    last_loss = loss.item<double>();
    if (step == 0) first_loss = last_loss;
    if (!std::isfinite(last_loss)) {
      std::printf("step %5d  loss is %g: training diverged\n", step, last_loss);
      return 1;
    }
    if (step % config.every == 0 || step == config.steps) {
      std::printf("step %5d  loss %.5f  accuracy %5.1f%%\n", step, last_loss,
                  100.0 * accuracy(logits));
    }
    if (step == config.steps) break;  // keep the last gradients for the report below

    for (Parameter& p : params) p.tensor.set_grad({});
    loss.backward();  // hands every parameter its share of the blame
    cr::NoGradGuard no_grad;
    for (Parameter& p : params) p.tensor.sub_(p.tensor.grad() * config.lr);
  }

  // Gradient norms at the final parameters: small and of similar size when
  // training has settled; a zero or huge one points at a dead or exploding layer.
  for (Parameter& p : params) p.tensor.set_grad({});
  const cr::Tensor final_loss =
      -(cr::log_softmax(forward(data.x), 1) * data.one_hot).sum(1).mean();
  final_loss.backward();
  std::printf("\ngradient norms at the end:\n");
  cr::NoGradGuard no_grad;
  for (const Parameter& p : params) {
    std::printf("  %-14s %-10s |grad| = %.3e  |param| = %.3e\n", p.name,
                p.tensor.sizes().str().c_str(), norm(p.tensor.grad()), norm(p.tensor));
  }

  const double fall = first_loss / last_loss;
  std::printf("\nloss %.5f -> %.5f (fell %.1fx; required %.1fx)\n", first_loss, last_loss, fall,
              kRequiredFall);
  if (!(fall >= kRequiredFall)) {
    std::printf("FAILED: the loss did not fall enough\n");
    return 1;
  }
  return 0;
}
