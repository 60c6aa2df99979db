// LibTorch twins of bench_chainrule.cpp's cases, under the same names. The
// only translation unit that includes LibTorch's (slow to compile) headers.

#include <omp.h>

#include <torch/types.h>
#include <torch/utils.h>
#include <torch/version.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "bench_common.h"

namespace {

void add_chain_backward(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  torch::Tensor x = torch::ones({1}, torch::requires_grad());
  for (auto _ : state) {
    torch::Tensor y = x;
    for (std::int64_t i = 0; i < n; ++i) y = y + x;
    y.backward();
    x.mutable_grad() = torch::Tensor();
  }
  bench::report_time_per_op(state, n);
}

void add_no_grad(benchmark::State& state) {
  const torch::Tensor a = torch::ones({1});
  const torch::Tensor b = torch::ones({1});
  for (auto _ : state) {
    torch::Tensor c = a + b;
    benchmark::DoNotOptimize(c.unsafeGetTensorImpl());
  }
  bench::report_time_per_op(state, 1);
}

void mlp20_fwd_bwd(benchmark::State& state) {
  torch::manual_seed(0);
  const torch::Tensor x = torch::randn({bench::kMlpBatch, bench::kMlpWidth});
  std::vector<torch::Tensor> params;
  for (std::int64_t layer = 0; layer < bench::kMlpDepth; ++layer) {
    torch::Tensor weight = torch::randn({bench::kMlpWidth, bench::kMlpWidth}) *
                           (1.0 / std::sqrt(static_cast<double>(bench::kMlpWidth)));
    params.push_back(weight.requires_grad_());
    params.push_back(torch::zeros({bench::kMlpWidth}).requires_grad_());
  }
  for (auto _ : state) {
    torch::Tensor h = x;
    for (std::int64_t layer = 0; layer < bench::kMlpDepth; ++layer)
      h = torch::tanh(torch::addmm(params[2 * layer + 1], h, params[2 * layer].t()));
    h.sum().backward();
    for (torch::Tensor& p : params) p.mutable_grad() = torch::Tensor();
  }
  bench::report_time_per_op(state, 1);
}

void matmul(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  torch::manual_seed(0);
  const torch::Tensor a = torch::randn({n, n});
  const torch::Tensor b = torch::randn({n, n});
  for (auto _ : state) {
    torch::Tensor c = torch::matmul(a, b);
    benchmark::DoNotOptimize(c.data_ptr());
  }
  bench::report_gemm_flops(state, n);
}

// What torch::nn's Conv2d, ReLU, MaxPool2d, Linear and CrossEntropyLoss call,
// without torch/nn's headers (slow to compile); parameters as LibTorch's
// defaults would shape them (their values do not change the time).
void cnn_stage(benchmark::State& state) {
  const std::int64_t stage = state.range(0);
  torch::manual_seed(0);
  std::vector<torch::Tensor> params;
  auto parameter = [&params](std::vector<std::int64_t> shape) {
    params.push_back((torch::randn(shape) * 0.05).requires_grad_());
    return params.back();
  };
  torch::Tensor x;
  std::function<torch::Tensor(const torch::Tensor&)> net;
  if (stage < 2) {
    const std::int64_t c_in = stage == 0 ? 1 : 32, c_out = stage == 0 ? 32 : 64, size = stage == 0 ? 28 : 14;
    torch::Tensor w = parameter({c_out, c_in, 3, 3}), b = parameter({c_out});
    net = [w, b](const torch::Tensor& in) { return at::max_pool2d(at::relu(at::conv2d(in, w, b, 1, 1)), 2); };
    x = torch::randn({bench::kCnnBatch, c_in, size, size});
  } else {
    torch::Tensor w1 = parameter({128, 3136}), b1 = parameter({128}), w2 = parameter({10, 128}),
                  b2 = parameter({10});
    net = [=](const torch::Tensor& in) { return at::linear(at::relu(at::linear(in, w1, b1)), w2, b2); };
    x = torch::randn({bench::kCnnBatch, 3136});
  }
  if (stage > 0) x.requires_grad_();
  const torch::Tensor targets = torch::randint(0, 10, {bench::kCnnBatch});
  const torch::Tensor grad_out = stage < 2 ? torch::randn(net(x).sizes()) : torch::Tensor();
  for (auto _ : state) {
    torch::Tensor y = net(x);
    if (stage < 2) y.backward(grad_out);
    else at::cross_entropy_loss(y, targets).backward();
    for (torch::Tensor& p : params) p.mutable_grad() = torch::Tensor();
    x.mutable_grad() = torch::Tensor();
  }
  bench::report_time_per_op(state, 1);
}

void chain_args(benchmark::internal::Benchmark* b) {
  for (std::int64_t n : bench::kChainLengths) b->Arg(n);
}
void matmul_args(benchmark::internal::Benchmark* b) {
  for (std::int64_t n : bench::kMatmulSizes) b->Arg(n);
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

BENCHMARK(add_chain_backward)->Apply(chain_args)->Unit(benchmark::kMicrosecond);
BENCHMARK(add_no_grad);
BENCHMARK(mlp20_fwd_bwd)->Unit(benchmark::kMicrosecond);
BENCHMARK(matmul)->Apply(matmul_args);
BENCHMARK(cnn_stage)->DenseRange(0, bench::kCnnStages - 1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  // The same budget as chainrule's binary: one libgomp pool of this many threads.
  int threads = bench::requested_threads();
  if (threads <= 0) threads = omp_get_max_threads();
  torch::set_num_threads(threads);
  benchmark::AddCustomContext("library", "libtorch " TORCH_VERSION);
  benchmark::AddCustomContext("torch_threads", std::to_string(torch::get_num_threads()));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
