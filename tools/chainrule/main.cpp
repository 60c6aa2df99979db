// chainrule: train and evaluate Fashion-MNIST models from the command line.

#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

#include "chainrule/backend/cpu/blas.h"
#include "chainrule/core/error.h"
#include "commands.h"
#include "models.h"

int main(int argc, char** argv) {
  cr::cpu::configure_runtime(argv);
  using cr::tools::EvalConfig;
  using cr::tools::TrainConfig;
  CLI::App app{"chainrule: a small autograd engine that shows who is to blame.\n"
               "Trains and evaluates models on Fashion-MNIST."};
  app.require_subcommand(1);

  TrainConfig train;
  CLI::App* train_cmd = app.add_subcommand("train", "Train a model on Fashion-MNIST and report test accuracy");
  train_cmd->add_option("--model", train.model, "Model to train")
      ->check(CLI::IsMember(cr::tools::model_names()))
      ->capture_default_str();
  train_cmd->add_option("--epochs", train.epochs, "Passes over the training set")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  train_cmd->add_option("--batch-size", train.batch_size, "Images per step")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  train_cmd->add_option("--lr", train.lr, "Learning rate (default: 0.05 for sgd, 0.001 for adam/adamw)")
      ->check(CLI::NonNegativeNumber);
  train_cmd->add_option("--optimizer", train.optimizer, "sgd (momentum 0.9, nesterov), adam or adamw")
      ->check(CLI::IsMember({"sgd", "adam", "adamw"}))
      ->capture_default_str();
  train_cmd->add_option("--weight-decay", train.weight_decay, "Weight decay")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  train_cmd->add_option("--schedule", train.schedule, "Learning-rate schedule: cosine (to 0 over the run) or none")
      ->check(CLI::IsMember({"cosine", "none"}))
      ->capture_default_str();
  train_cmd->add_flag("--augment", train.augment, "Random crop (pad 2) and horizontal flip of training images");
  train_cmd->add_option("--seed", train.seed, "Seed for initialisation, shuffling and augmentation")
      ->capture_default_str();
  train_cmd->add_option("--data", train.data_dir, "Directory with the four Fashion-MNIST .gz files")
      ->capture_default_str();
  train_cmd->add_option("--save", train.save_path, "Write the trained model here (safetensors)");
  train_cmd->add_option("--limit", train.limit, "Use only the first N training images (0: all)")
      ->check(CLI::NonNegativeNumber);
  train_cmd->add_flag("!--no-grad-report", train.grad_report, "Skip the per-layer gradient report at the end");

  EvalConfig eval;
  CLI::App* eval_cmd = app.add_subcommand("eval", "Evaluate a saved model on the Fashion-MNIST test set");
  eval_cmd->add_option("--model", eval.model, "Model architecture of the checkpoint")
      ->check(CLI::IsMember(cr::tools::model_names()))
      ->capture_default_str();
  eval_cmd->add_option("--load", eval.load_path, "Checkpoint written by train --save")->required();
  eval_cmd->add_option("--data", eval.data_dir, "Directory with the Fashion-MNIST .gz files")->capture_default_str();
  eval_cmd->add_option("--batch-size", eval.batch_size, "Images per forward pass")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();

  CLI11_PARSE(app, argc, argv);
  try {
    if (train_cmd->parsed()) return cr::tools::run_train(train);
    if (eval_cmd->parsed()) return cr::tools::run_eval(eval);
  } catch (const cr::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
