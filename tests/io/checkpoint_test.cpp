// Module checkpoints: PyTorch state_dict keys, loading into the existing
// tensors, strict and non-strict key matching, and all-or-nothing loads.

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "chainrule/io.h"
#include "chainrule/nn/module.h"
#include "support/temp_dir.h"
#include "support/tensor_testing.h"

namespace cr::io {
namespace {

namespace fs = std::filesystem;
using cr::testing::expect_error;
using cr::testing::values;

using cr::testing::TempDir;

// A layer with parameters and buffers of several dtypes, like BatchNorm's.
class Block : public nn::Module {
 public:
  Block() : Module("Block") {
    weight = register_parameter("weight", randn({3, 2}));
    bias = register_parameter("bias", randn({3}));
    running_mean = register_buffer("running_mean", randn({3}, kFloat64));
    num_batches_tracked = register_buffer("num_batches_tracked", scalar_tensor(5, kInt64));
  }
  Tensor weight, bias, running_mean, num_batches_tracked;
};

class Net : public nn::Module {
 public:
  Net() : Module("Net") {
    scale = register_parameter("scale", randn({1}));
    encoder = register_module("encoder", std::make_shared<Block>());
    head = register_module("head", std::make_shared<Block>());
  }
  Tensor scale;
  std::shared_ptr<Block> encoder, head;
};

std::vector<std::string> keys(const TensorMap& m) {
  std::vector<std::string> out;
  for (const auto& [k, v] : m) out.push_back(k);
  return out;
}

TEST(Checkpoint, StateDictKeysAreThoseOfPyTorch) {
  auto net = std::make_shared<Net>();
  const TensorMap state = state_dict(*net);
  EXPECT_EQ(keys(state), (std::vector<std::string>{"encoder.bias", "encoder.num_batches_tracked", "encoder.running_mean",
                                                   "encoder.weight", "head.bias", "head.num_batches_tracked",
                                                   "head.running_mean", "head.weight", "scale"}));
  EXPECT_TRUE(state.at("encoder.weight").is_same(net->encoder->weight));  // no copies
}

TEST(Checkpoint, SaveAndLoadIntoTheExistingTensors) {
  TempDir dir;
  auto saved = std::make_shared<Net>();
  saved->head->num_batches_tracked.fill_(42);
  save(*saved, dir / "net.safetensors", {{"epoch", "3"}});
  EXPECT_EQ(read_safetensors(dir / "net.safetensors").metadata.at("epoch"), "3");

  auto net = std::make_shared<Net>();
  const Tensor handle = net->encoder->weight;  // e.g. held by an optimizer
  const auto version = handle.version();
  const LoadResult result = load(*net, dir / "net.safetensors");
  EXPECT_TRUE(result.missing_keys.empty());
  EXPECT_TRUE(result.unexpected_keys.empty());
  const TensorMap expected = state_dict(*saved), actual = state_dict(*net);
  for (const auto& [name, t] : expected) {
    EXPECT_EQ(values(actual.at(name)), values(t)) << name;
    EXPECT_EQ(actual.at(name).dtype(), t.dtype()) << name;
  }
  EXPECT_TRUE(handle.is_same(net->encoder->weight));
  EXPECT_EQ(values(handle), values(saved->encoder->weight));
  EXPECT_GT(handle.version(), version);  // written in place, visibly to autograd
  EXPECT_TRUE(net->encoder->weight.requires_grad());
  EXPECT_TRUE(net->encoder->weight.is_leaf());
  EXPECT_EQ(net->head->num_batches_tracked.item<std::int64_t>(), 42);
}

TEST(Checkpoint, StrictLoadListsEveryProblemAndChangesNothing) {
  auto net = std::make_shared<Net>();
  const auto before = values(net->encoder->weight);
  TensorMap state = state_dict(*std::make_shared<Net>());
  state.erase("head.bias");
  state.erase("scale");
  state["extra.weight"] = ones({1});
  state["encoder.bias"] = ones({4});
  state["encoder.running_mean"] = zeros({3});  // float32 where the module holds float64
  try {
    load_state_dict(*net, state);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    const std::string what = e.what();
    for (const char* fragment :
         {"load_state_dict: ", "shape or dtype mismatches: encoder.bias: the state holds [4] float32, the module [3] float32",
          "encoder.running_mean: the state holds [3] float32, the module [3] float64", "missing keys: head.bias, scale",
          "unexpected keys: extra.weight", "nothing was loaded", "checkpoint_test.cpp:"})
      EXPECT_NE(what.find(fragment), std::string::npos) << fragment << " not in: " << what;
  }
  EXPECT_EQ(values(net->encoder->weight), before);  // encoder.weight was fine, yet not loaded
}

TEST(Checkpoint, NonStrictLoadSkipsKeysButNotMismatches) {
  auto net = std::make_shared<Net>();
  auto other = std::make_shared<Net>();
  TensorMap state = state_dict(*other);
  state.erase("scale");
  state["extra"] = ones({1});
  const LoadResult result = load_state_dict(*net, state, /*strict=*/false);
  EXPECT_EQ(result.missing_keys, std::vector<std::string>{"scale"});
  EXPECT_EQ(result.unexpected_keys, std::vector<std::string>{"extra"});
  EXPECT_EQ(values(net->head->weight), values(other->head->weight));
  EXPECT_NE(values(net->scale), values(other->scale));

  state["head.weight"] = ones({2, 3});
  expect_error([&] { load_state_dict(*net, state, false); }, "load_state_dict", "head.weight: the state holds [2, 3]");
  expect_error([&] { load(*net, "/nonexistent/net.safetensors"); }, "load_tensors", "cannot open");
}

TEST(Checkpoint, ModelAndOptimizerStateInOneFile) {
  TempDir dir;
  auto net = std::make_shared<Net>();
  const TensorMap optim = {{"step", scalar_tensor(10, kInt64)}, {"state.0.momentum_buffer", randn({3, 2})}};
  TensorMap all = with_prefix(state_dict(*net), "model.");
  all.merge(with_prefix(optim, "optim."));
  save_tensors(all, dir / "run.safetensors", {{"epoch", "7"}});

  auto restored = std::make_shared<Net>();
  const TensorMap file = load_tensors(dir / "run.safetensors");
  load_state_dict(*restored, strip_prefix(file, "model."));
  EXPECT_EQ(values(restored->head->bias), values(net->head->bias));
  const TensorMap optim_back = strip_prefix(file, "optim.");
  EXPECT_EQ(keys(optim_back), keys(optim));
  EXPECT_EQ(values(optim_back.at("state.0.momentum_buffer")), values(optim.at("state.0.momentum_buffer")));
}

}  // namespace
}  // namespace cr::io
