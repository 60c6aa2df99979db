// End to end on the real data: a small MLP learns Fashion-MNIST from 2,000
// images in a few seconds, and a checkpoint reproduces its outputs exactly.

#include <gtest/gtest.h>

#include <filesystem>

#include "chainrule/chainrule.h"
#include "chainrule/data.h"
#include "chainrule/io.h"
#include "chainrule/nn.h"
#include "chainrule/optim.h"
#include "support/tensor_testing.h"

namespace {

namespace F = cr::nn::functional;
using cr::Tensor;

const char* kData = cr::data::FashionMNIST::kDefaultRoot;

bool have_dataset() { return std::filesystem::exists(std::string(kData) + "/train-images-idx3-ubyte.gz"); }

std::shared_ptr<cr::nn::Sequential> small_mlp() {
  auto net = std::make_shared<cr::nn::Sequential>();
  net->push_back(std::make_shared<cr::nn::Flatten>());
  net->push_back(std::make_shared<cr::nn::Linear>(784, 128));
  net->push_back(std::make_shared<cr::nn::ReLU>());
  net->push_back(std::make_shared<cr::nn::Linear>(128, 10));
  return net;
}

double accuracy(cr::nn::Module& model, const cr::data::Batch& batch) {
  cr::NoGradGuard no_grad;
  Tensor predicted = model(batch.data).argmax(1);
  return cr::eq(predicted, batch.target).to(cr::kFloat64).mean().item<double>();
}

TEST(FashionMNIST, MlpLearnsFromTwoThousandImages) {
  if (!have_dataset()) GTEST_SKIP() << "Fashion-MNIST not found in " << kData << "; apt-get install dataset-fashion-mnist";
  cr::manual_seed(0);
  auto train_full = std::make_shared<cr::data::FashionMNIST>(kData, true);
  auto train = std::make_shared<cr::data::Subset>(train_full, 2000);
  cr::data::FashionMNIST test(kData, false);
  std::vector<std::int64_t> first_test(1000);
  for (std::int64_t i = 0; i < 1000; ++i) first_test[static_cast<std::size_t>(i)] = i;
  const cr::data::Batch test_batch = test.get_batch(first_test);

  auto model = small_mlp();
  const double before = accuracy(*model, test_batch);
  cr::optim::Adam optimizer(model->parameters(), cr::optim::AdamOptions(2e-3));
  cr::data::DataLoader loader(std::shared_ptr<const cr::data::Dataset>(train),
                              cr::data::DataLoaderOptions(64).shuffle(true).seed(1));
  double first_loss = 0, last_loss = 0;
  for (int epoch = 0; epoch < 5; ++epoch) {
    double sum = 0;
    for (const cr::data::Batch& batch : loader) {
      optimizer.zero_grad();
      Tensor loss = F::cross_entropy((*model)(batch.data), batch.target);
      loss.backward();
      optimizer.step();
      sum += loss.item<double>();
    }
    (epoch == 0 ? first_loss : last_loss) = sum / static_cast<double>(loader.size());
  }
  const double after = accuracy(*model, test_batch);
  std::printf("test accuracy %.3f (untrained %.3f), loss %.3f -> %.3f\n", after, before, first_loss, last_loss);
  EXPECT_LT(before, 0.3);  // an untrained net guesses
  EXPECT_GT(after, 0.75) << "test accuracy after 5 epochs on 2,000 images";
  EXPECT_LT(last_loss, 0.6 * first_loss);

  // save -> load into a fresh model -> identical outputs
  const std::string path = ::testing::TempDir() + "/fashion_mlp.safetensors";
  cr::io::save(*model, path);
  auto restored = small_mlp();
  cr::io::load(*restored, path);
  cr::NoGradGuard no_grad;
  EXPECT_EQ(cr::testing::values((*model)(test_batch.data)), cr::testing::values((*restored)(test_batch.data)));
  std::filesystem::remove(path);
}

}  // namespace
