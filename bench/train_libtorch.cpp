// bench_train_libtorch: the LibTorch twin of train_chainrule.cpp — the same
// MLP and CNN, data, loss, optimizer, flags and result line. The only
// translation unit of this program that includes LibTorch's headers.

#include <dlfcn.h>
#include <omp.h>

#include <ATen/Context.h>
#include <torch/nn/functional/loss.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>
#include <torch/optim/sgd.h>
#include <torch/utils.h>
#include <torch/version.h>

#include <chrono>
#include <string>
#include <vector>

#include "train_common.h"

namespace {

namespace nn = torch::nn;

// 784-512-256-10 with ReLU, as cr::tools::make_model("mlp").
nn::Sequential mlp() {
  return nn::Sequential(nn::Flatten(), nn::Linear(784, 512), nn::ReLU(), nn::Linear(512, 256), nn::ReLU(),
                        nn::Linear(256, 10));
}

// As cr::tools::make_model("cnn").
nn::Sequential cnn() {
  return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(1, 32, 3).padding(1)), nn::ReLU(), nn::MaxPool2d(2),
                        nn::Conv2d(nn::Conv2dOptions(32, 64, 3).padding(1)), nn::ReLU(), nn::MaxPool2d(2),
                        nn::Flatten(), nn::Linear(64 * 7 * 7, 128), nn::ReLU(), nn::Linear(128, 10));
}

// Which kernels the OpenBLAS loaded in this process runs (LibTorch reaches it
// through libblas.so.3), if the BLAS there is OpenBLAS.
std::string blas_core_name() {
  using Fn = char* (*)();
  if (auto fn = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, "openblas_get_corename")); fn && fn()) return fn();
  return "unknown";
}

}  // namespace

int main(int argc, char** argv) {
  const bench::train::Args args = bench::train::parse_args(argc, argv);
  namespace bt = bench::train;

  // The thread count chainrule uses: OMP_NUM_THREADS, else one per core
  // (libgomp's default, read before LibTorch touches OpenMP).
  torch::set_num_threads(omp_get_max_threads());
  torch::manual_seed(bt::kSeed);

  bt::Data data = bt::make_data();
  std::vector<torch::Tensor> images, labels;
  for (std::int64_t b = 0; b < bt::kBatchesInPool; ++b) {
    images.push_back(torch::from_blob(data.images.data() + b * bt::kBatch * bt::kImageSize,
                                      {bt::kBatch, bt::kChannels, bt::kHeight, bt::kWidth}, torch::kFloat32)
                         .clone());
    labels.push_back(torch::from_blob(data.labels.data() + b * bt::kBatch, {bt::kBatch}, torch::kInt64).clone());
  }

  nn::Sequential model = args.model == "mlp" ? mlp() : cnn();
  model->train();
  std::vector<torch::Tensor> params = model->parameters();
  torch::optim::SGD optimizer(params, torch::optim::SGDOptions(bt::kLearningRate).momentum(bt::kMomentum));

  double last_loss = 0;
  auto step = [&](long i) {
    const std::size_t b = static_cast<std::size_t>(i % bt::kBatchesInPool);
    // LibTorch 1.13's zero_grad() zeroes the gradients in place; reset them to
    // none instead, as chainrule's zero_grad() (and PyTorch ≥ 2.0's) does: the
    // cheaper of the two, so LibTorch is not handicapped.
    for (torch::Tensor& p : params) p.mutable_grad() = torch::Tensor();
    torch::Tensor loss = nn::functional::cross_entropy(model->forward(images[b]), labels[b]);
    loss.backward();
    optimizer.step();
    last_loss = loss.item<double>();
  };
  for (long i = 0; i < args.warmup; ++i) step(i);
  const auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < args.steps; ++i) step(args.warmup + i);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // torch::mm goes to the BLAS behind libblas.so.3: OpenBLAS when it answers to its name.
  const std::string core = blas_core_name();
  bt::print_result({"libtorch-" TORCH_VERSION, args.model, args, seconds, last_loss, torch::get_num_threads(), core,
                    core == "unknown" ? "libblas.so.3" : "OpenBLAS",
                    // PyTorch sends float32 CPU convolutions like the CNN's to oneDNN (mkldnn) when built with it.
                    at::hasMKLDNN() && at::globalContext().userEnabledMkldnn() ? "oneDNN" : "native"});
  return 0;
}
