// `chainrule train` and `chainrule eval`.

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>

#include "chainrule/chainrule.h"
#include "chainrule/data.h"
#include "chainrule/io.h"
#include "chainrule/nn.h"
#include "chainrule/optim.h"
#include "commands.h"
#include "models.h"
#include "progress.h"

namespace cr::tools {

namespace {

namespace F = nn::functional;

struct Accuracy {
  double loss = 0;
  double accuracy = 0;
};

Accuracy evaluate(nn::Module& model, const std::shared_ptr<const data::Dataset>& test, std::int64_t batch_size) {
  NoGradGuard no_grad;
  model.eval();
  data::DataLoader loader(test, data::DataLoaderOptions(batch_size));
  double loss_sum = 0;
  std::int64_t correct = 0, seen = 0;
  for (const data::Batch& batch : loader) {
    Tensor logits = model(batch.data);
    loss_sum += F::cross_entropy(logits, batch.target, nn::kSum).item<double>();
    correct += eq(logits.argmax(1), batch.target).sum().item<std::int64_t>();
    seen += batch.target.size(0);
  }
  model.train();
  return {loss_sum / static_cast<double>(seen), static_cast<double>(correct) / static_cast<double>(seen)};
}

std::unique_ptr<optim::Optimizer> make_optimizer(const TrainConfig& config, const std::vector<Tensor>& params) {
  if (config.optimizer == "sgd") {
    const double lr = config.lr > 0 ? config.lr : 0.05;
    return std::make_unique<optim::SGD>(
        params, optim::SGDOptions(lr).momentum(0.9).nesterov(true).weight_decay(config.weight_decay));
  }
  const double lr = config.lr > 0 ? config.lr : 1e-3;
  if (config.optimizer == "adamw")
    return std::make_unique<optim::AdamW>(params, optim::AdamWOptions(lr).weight_decay(config.weight_decay));
  return std::make_unique<optim::Adam>(params, optim::AdamOptions(lr).weight_decay(config.weight_decay));
}

// The blame, layer by layer: how much gradient reached each parameter on the
// last step, relative to the parameter's own size.
void print_gradient_report(nn::Module& model) {
  std::printf("\ngradient flow on the last batch (per parameter):\n");
  std::printf("  %-28s %12s %12s %10s\n", "parameter", "|grad|", "|param|", "ratio");
  for (const auto& [name, param] : model.named_parameters()) {
    if (!param.grad().defined()) continue;
    const double g = param.grad().pow(2.0).sum().sqrt().item<double>();
    const double p = param.detach().pow(2.0).sum().sqrt().item<double>();
    std::printf("  %-28s %12.4e %12.4e %10.2e\n", name.c_str(), g, p, p > 0 ? g / p : 0.0);
  }
}

std::int64_t count_parameters(nn::Module& model) {
  std::int64_t n = 0;
  for (const Tensor& p : model.parameters()) n += p.numel();
  return n;
}

}  // namespace

int run_train(const TrainConfig& config) {
  manual_seed(config.seed);
  std::shared_ptr<const data::Dataset> train_data = std::make_shared<data::FashionMNIST>(config.data_dir, true);
  std::shared_ptr<const data::Dataset> test_set = std::make_shared<data::FashionMNIST>(config.data_dir, false);
  if (config.limit > 0 && config.limit < train_data->size())
    train_data = std::make_shared<data::Subset>(train_data, config.limit);

  std::shared_ptr<nn::Module> model = make_model(config.model);
  std::unique_ptr<optim::Optimizer> optimizer = make_optimizer(config, model->parameters());
  data::DataLoaderOptions loader_options(config.batch_size);
  loader_options.shuffle(true).seed(config.seed).drop_last(true);
  if (config.augment)
    loader_options.augment([](const Tensor& images, data::Generator& gen) {
      return data::random_horizontal_flip(data::random_crop(images, /*padding=*/2, gen), gen);
    });
  data::DataLoader loader(train_data, loader_options);
  const std::int64_t steps_per_epoch = static_cast<std::int64_t>(loader.size());
  std::unique_ptr<optim::CosineAnnealingLR> schedule;
  if (config.schedule == "cosine")
    schedule = std::make_unique<optim::CosineAnnealingLR>(*optimizer, steps_per_epoch * config.epochs);

  std::printf("training %s (%lld parameters) on %lld images, testing on %lld; %d epochs of %lld steps, batch %lld, %s\n",
              config.model.c_str(), static_cast<long long>(count_parameters(*model)),
              static_cast<long long>(train_data->size()), static_cast<long long>(test_set->size()), config.epochs,
              static_cast<long long>(steps_per_epoch), static_cast<long long>(config.batch_size),
              config.optimizer.c_str());
  const auto start = std::chrono::steady_clock::now();
  Accuracy last;
  double best_accuracy = 0;
  for (int epoch = 1; epoch <= config.epochs; ++epoch) {
    model->train();
    ProgressBar bar("epoch " + std::to_string(epoch) + "/" + std::to_string(config.epochs), steps_per_epoch);
    double loss_sum = 0;
    for (const data::Batch& batch : loader) {
      optimizer->zero_grad();
      Tensor loss = F::cross_entropy((*model)(batch.data), batch.target);
      loss.backward();
      optimizer->step();
      if (schedule) schedule->step();
      const double value = loss.item<double>();
      if (!std::isfinite(value))
        throw_error("train", "the loss became " + std::to_string(value) + " at epoch " + std::to_string(epoch) +
                                 "; lower --lr",
                    SourceLocation::current());
      loss_sum += value;
      bar.update(value);
    }
    const double seconds = bar.finish();
    last = evaluate(*model, test_set, config.batch_size);
    best_accuracy = std::max(best_accuracy, last.accuracy);
    std::printf("epoch %d: train loss %.4f | test loss %.4f, accuracy %.2f%% | %.1f s, %.1f steps/s\n", epoch,
                loss_sum / static_cast<double>(steps_per_epoch), last.loss, 100 * last.accuracy, seconds,
                static_cast<double>(steps_per_epoch) / seconds);
    std::fflush(stdout);
  }
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (config.grad_report) print_gradient_report(*model);
  std::printf("\nsummary: %s, %d epochs in %s: final test accuracy %.2f%% (best %.2f%%), test loss %.4f\n",
              config.model.c_str(), config.epochs, format_duration(total).c_str(), 100 * last.accuracy,
              100 * best_accuracy, last.loss);
  if (!config.save_path.empty()) {
    io::save(*model, config.save_path);
    std::printf("saved the model to %s\n", config.save_path.c_str());
  }
  return 0;
}

int run_eval(const EvalConfig& config) {
  std::shared_ptr<const data::Dataset> test_set = std::make_shared<data::FashionMNIST>(config.data_dir, false);
  std::shared_ptr<nn::Module> model = make_model(config.model);
  io::load(*model, config.load_path);
  const Accuracy result = evaluate(*model, test_set, config.batch_size);
  std::printf("%s from %s: test loss %.4f, accuracy %.2f%% on %lld images\n", config.model.c_str(),
              config.load_path.c_str(), result.loss, 100 * result.accuracy, static_cast<long long>(test_set->size()));
  return 0;
}

}  // namespace cr::tools
