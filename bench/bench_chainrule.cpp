// chainrule's benchmarks; bench_libtorch.cpp has LibTorch twins under the same
// names, and bench/compare.sh prints the two side by side.

#include <cblas.h>
#include <omp.h>

#include <chainrule/chainrule.h>
#include <chainrule/nn.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "bench_common.h"

namespace {

// (a) y = x + x + ... (N adds), forward and backward: the cost of recording
// and walking one graph node, since the arithmetic on one element is free.
void add_chain_backward(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  cr::Tensor x = cr::ones({1}, cr::TensorOptions().requires_grad(true));
  for (auto _ : state) {
    cr::Tensor y = x;
    for (std::int64_t i = 0; i < n; ++i) y = y + x;
    y.backward();
    x.set_grad({});
  }
  bench::report_time_per_op(state, n);
}

// (b) one 1-element add with no history: the fixed cost of an op call.
void add_no_grad(benchmark::State& state) {
  const cr::Tensor a = cr::ones({1});
  const cr::Tensor b = cr::ones({1});
  for (auto _ : state) {
    cr::Tensor c = a + b;
    benchmark::DoNotOptimize(c.impl());
  }
  bench::report_time_per_op(state, 1);
}

// (c) forward + backward of 20 × (Linear(32, 32) + tanh) at batch 16; Linear is
// addmm(bias, h, weight.t()) as in nn.Linear.
void mlp20_fwd_bwd(benchmark::State& state) {
  cr::manual_seed(0);
  const cr::Tensor x = cr::randn({bench::kMlpBatch, bench::kMlpWidth});
  std::vector<cr::Tensor> params;
  for (std::int64_t layer = 0; layer < bench::kMlpDepth; ++layer) {
    cr::Tensor weight = cr::randn({bench::kMlpWidth, bench::kMlpWidth}) *
                        (1.0 / std::sqrt(static_cast<double>(bench::kMlpWidth)));
    cr::Tensor bias = cr::zeros({bench::kMlpWidth});
    params.push_back(weight.requires_grad_());
    params.push_back(bias.requires_grad_());
  }
  for (auto _ : state) {
    cr::Tensor h = x;
    for (std::int64_t layer = 0; layer < bench::kMlpDepth; ++layer)
      h = cr::tanh(cr::addmm(params[2 * layer + 1], h, params[2 * layer].t()));
    h.sum().backward();
    for (cr::Tensor& p : params) p.set_grad({});
  }
  bench::report_time_per_op(state, 1);
}

// (d) cr::matmul of two n×n float32 matrices (a fresh result each time) ...
void matmul(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  cr::manual_seed(0);
  const cr::Tensor a = cr::randn({n, n});
  const cr::Tensor b = cr::randn({n, n});
  for (auto _ : state) {
    cr::Tensor c = cr::matmul(a, b);
    benchmark::DoNotOptimize(c.raw_data());
  }
  bench::report_gemm_flops(state, n);
}

// ... against the floor: cblas_sgemm into a preallocated result.
void cblas_sgemm(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  cr::manual_seed(0);
  const cr::Tensor a = cr::randn({n, n});
  const cr::Tensor b = cr::randn({n, n});
  std::vector<float> c(static_cast<std::size_t>(n) * n);
  for (auto _ : state) {
    ::cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data_ptr<float>(), n,
                  b.data_ptr<float>(), n, 0.0f, c.data(), n);
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  bench::report_gemm_flops(state, n);
}

// (e) one stage of the CNN, forward and backward, built from nn modules as a
// user (and the command line's model) would: where a CNN step's time goes.
void cnn_stage(benchmark::State& state) {
  namespace nn = cr::nn;
  const std::int64_t stage = state.range(0);
  cr::manual_seed(0);
  std::shared_ptr<nn::Sequential> net;
  cr::Tensor x;
  if (stage < 2) {
    const std::int64_t c_in = stage == 0 ? 1 : 32, c_out = stage == 0 ? 32 : 64, size = stage == 0 ? 28 : 14;
    net = std::make_shared<nn::Sequential>(std::make_shared<nn::Conv2d>(c_in, c_out, 3, 1, 1),
                                           std::make_shared<nn::ReLU>(), std::make_shared<nn::MaxPool2d>(2));
    x = cr::randn({bench::kCnnBatch, c_in, size, size});
  } else {
    net = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(3136, 128), std::make_shared<nn::ReLU>(),
                                           std::make_shared<nn::Linear>(128, 10));
    x = cr::randn({bench::kCnnBatch, 3136});
  }
  if (stage > 0) x.requires_grad_();
  const cr::Tensor targets = cr::randint(0, 10, {bench::kCnnBatch});
  const cr::Tensor grad_out = stage < 2 ? cr::randn((*net)(x).sizes()) : cr::Tensor();
  for (auto _ : state) {
    cr::Tensor y = (*net)(x);
    if (stage < 2) y.backward(grad_out);
    else cr::nn::functional::cross_entropy(y, targets).backward();
    net->zero_grad();
    x.set_grad({});
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
BENCHMARK(cblas_sgemm)->Apply(matmul_args);
BENCHMARK(cnn_stage)->DenseRange(0, bench::kCnnStages - 1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  // For bench/compare.sh: which kernels OpenBLAS picked for this CPU (DYNAMIC_ARCH
  // builds fall back to slow "Prescott" kernels on CPUs newer than they know).
  if (argc == 2 && std::string(argv[1]) == "--openblas_core") {
    std::printf("%s\n", openblas_get_corename());
    return 0;
  }
  // One pool: OpenBLAS (OpenMP build) and chainrule's loops both use libgomp's threads.
  if (int threads = bench::requested_threads(); threads > 0) omp_set_num_threads(threads);
  benchmark::AddCustomContext("library", "chainrule");
  benchmark::AddCustomContext("omp_threads", std::to_string(omp_get_max_threads()));
  benchmark::AddCustomContext("openblas_threads", std::to_string(openblas_get_num_threads()));
  benchmark::AddCustomContext("openblas_config", openblas_get_config());
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
