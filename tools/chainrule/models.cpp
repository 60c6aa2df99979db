#include "models.h"

#include "chainrule/core/error.h"

namespace cr::tools {

namespace {

// 784-512-256-10 with ReLU: the MLP of the benchmarks.
std::shared_ptr<nn::Module> mlp() {
  auto net = std::make_shared<nn::Sequential>();
  net->push_back(std::make_shared<nn::Flatten>());
  net->push_back(std::make_shared<nn::Linear>(784, 512));
  net->push_back(std::make_shared<nn::ReLU>());
  net->push_back(std::make_shared<nn::Linear>(512, 256));
  net->push_back(std::make_shared<nn::ReLU>());
  net->push_back(std::make_shared<nn::Linear>(256, 10));
  return net;
}

// Two 3×3 convolutions with max pooling, then two fully connected layers.
std::shared_ptr<nn::Module> cnn() {
  auto net = std::make_shared<nn::Sequential>();
  net->push_back(std::make_shared<nn::Conv2d>(1, 32, 3, /*stride=*/1, /*padding=*/1));
  net->push_back(std::make_shared<nn::ReLU>());
  net->push_back(std::make_shared<nn::MaxPool2d>(2));
  net->push_back(std::make_shared<nn::Conv2d>(32, 64, 3, 1, 1));
  net->push_back(std::make_shared<nn::ReLU>());
  net->push_back(std::make_shared<nn::MaxPool2d>(2));
  net->push_back(std::make_shared<nn::Flatten>());
  net->push_back(std::make_shared<nn::Linear>(64 * 7 * 7, 128));
  net->push_back(std::make_shared<nn::ReLU>());
  net->push_back(std::make_shared<nn::Linear>(128, 10));
  return net;
}

// A small ResNet: a 3×3 stem with BatchNorm and 2×2 max pooling, then three
// stages of one basic residual block each (32, 64, 128 channels at 14, 7, 4
// pixels; projection shortcuts where the shape changes), global average
// pooling and one fully connected layer. Pooling after the stem keeps the
// widest tensors off the full 28×28 grid, where BatchNorm and ReLU are
// memory-bound: about 10 M multiply-adds per image, 308 k parameters.
std::shared_ptr<nn::Module> resnet() {
  auto net = std::make_shared<nn::Sequential>();
  net->push_back(std::make_shared<nn::Conv2d>(1, 32, 3, 1, 1, 1, 1, /*bias=*/false));
  net->push_back(std::make_shared<nn::BatchNorm2d>(32));
  net->push_back(std::make_shared<nn::ReLU>());
  net->push_back(std::make_shared<nn::MaxPool2d>(2));
  net->push_back(std::make_shared<nn::ResidualBlock>(32, 32, 1));
  net->push_back(std::make_shared<nn::ResidualBlock>(32, 64, 2));
  net->push_back(std::make_shared<nn::ResidualBlock>(64, 128, 2));
  net->push_back(std::make_shared<nn::AdaptiveAvgPool2d>(1));
  net->push_back(std::make_shared<nn::Flatten>());
  net->push_back(std::make_shared<nn::Linear>(128, 10));
  return net;
}

}  // namespace

const std::vector<std::string>& model_names() {
  static const std::vector<std::string> names{"mlp", "cnn", "resnet"};
  return names;
}

std::shared_ptr<nn::Module> make_model(const std::string& name) {
  if (name == "mlp") return mlp();
  if (name == "cnn") return cnn();
  if (name == "resnet") return resnet();
  throw_error("make_model", "unknown model '" + name + "' (expected mlp, cnn or resnet)",
              SourceLocation::current());
}

}  // namespace cr::tools
