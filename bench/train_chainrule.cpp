// bench_train_chainrule: training speed and peak memory of the chainrule
// command line's MLP and CNN (tools/chainrule/models.cpp, the very models
// `chainrule train` builds) on random Fashion-MNIST-shaped batches.
// train_libtorch.cpp is its LibTorch twin; bench/compare_training.sh runs both.

#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "chainrule/backend/cpu/blas.h"
#include "chainrule/chainrule.h"
#include "chainrule/nn.h"
#include "chainrule/optim.h"
#include "models.h"
#include "train_common.h"

int main(int argc, char** argv) {
  // As the `chainrule` program does: re-exec with fast OpenBLAS kernels if
  // OpenBLAS fell back to its generic ones (does nothing if OPENBLAS_CORETYPE is set).
  cr::cpu::configure_runtime(argv);
  if (argc == 2 && std::string(argv[1]) == "--openblas-env") {
    // For compare_training.sh: what configure_runtime settled on, to give LibTorch the same.
    const char* coretype = std::getenv("OPENBLAS_CORETYPE");
    std::printf("%s %s\n", cr::cpu::blas_core_name().c_str(), coretype && *coretype ? coretype : "-");
    return 0;
  }
  const bench::train::Args args = bench::train::parse_args(argc, argv);
  namespace bt = bench::train;
  namespace F = cr::nn::functional;

  cr::manual_seed(bt::kSeed);
  const bt::Data data = bt::make_data();
  std::vector<cr::Tensor> images, labels;
  for (std::int64_t b = 0; b < bt::kBatchesInPool; ++b) {
    const auto first_image = data.images.begin() + b * bt::kBatch * bt::kImageSize;
    images.push_back(cr::tensor(std::vector<float>(first_image, first_image + bt::kBatch * bt::kImageSize),
                                {bt::kBatch, bt::kChannels, bt::kHeight, bt::kWidth}));
    const auto first_label = data.labels.begin() + b * bt::kBatch;
    labels.push_back(cr::tensor(std::vector<std::int64_t>(first_label, first_label + bt::kBatch), {bt::kBatch}));
  }

  std::shared_ptr<cr::nn::Module> model = cr::tools::make_model(args.model);
  model->train();
  cr::optim::SGD optimizer(model->parameters(), cr::optim::SGDOptions(bt::kLearningRate).momentum(bt::kMomentum));

  double last_loss = 0;
  auto step = [&](long i) {
    const std::size_t b = static_cast<std::size_t>(i % bt::kBatchesInPool);
    optimizer.zero_grad();
    cr::Tensor loss = F::cross_entropy((*model)(images[b]), labels[b]);
    loss.backward();
    optimizer.step();
    last_loss = loss.item<double>();  // as a training loop does, to log it
  };
  for (long i = 0; i < args.warmup; ++i) step(i);
  const auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < args.steps; ++i) step(args.warmup + i);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // chainrule's loops and OpenBLAS (OpenMP build) share libgomp's pool:
  // OMP_NUM_THREADS, else one thread per core.
  bt::print_result({"chainrule", args.model, args, seconds, last_loss, omp_get_max_threads(),
                    cr::cpu::blas_core_name(), cr::cpu::float_gemm_library(), cr::cpu::convolution_library()});
  return 0;
}
