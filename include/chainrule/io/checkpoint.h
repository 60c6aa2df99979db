#pragma once
// Module checkpoints. A module's state is its named parameters and buffers,
// keyed exactly as PyTorch's state_dict ("layers.0.weight",
// "bn.running_mean"), so a file saved here loads into the PyTorch twin of the
// model with safetensors.torch.load_model, and the other way round.
//
// A training checkpoint composes state maps under prefixes:
//
//   auto state = cr::io::with_prefix(cr::io::state_dict(model), "model.");
//   state.merge(cr::io::with_prefix(optimizer.state_dict(), "optim."));
//   cr::io::save_tensors(state, "run.safetensors", {{"epoch", "7"}});
//   ...
//   auto file = cr::io::load_tensors("run.safetensors");
//   cr::io::load_state_dict(model, cr::io::strip_prefix(file, "model."));
//   optimizer.load_state_dict(cr::io::strip_prefix(file, "optim."));

#include <string>
#include <vector>

#include "chainrule/io/safetensors.h"
#include "chainrule/nn/module.h"

namespace cr::io {

/// What a non-strict load skipped, as PyTorch's load_state_dict reports it.
struct LoadResult {
  std::vector<std::string> missing_keys;     // in the module, not in the state
  std::vector<std::string> unexpected_keys;  // in the state, not in the module
};

/// Parameters and buffers of `module` and its children by dotted name. The
/// tensors are the module's own (no copies): save them before changing them.
TensorMap state_dict(const nn::Module& module);

/// Copies `state` into the module's existing tensors, so every handle to a
/// parameter stays valid. Shape or dtype mismatches always fail; with
/// `strict`, so do missing and unexpected keys. Everything is checked before
/// anything is written: a failed load leaves the module unchanged. One
/// cr::Error lists every problem.
LoadResult load_state_dict(nn::Module& module, const TensorMap& state, bool strict = true, CR_LOC);

/// save_tensors(state_dict(module), path, metadata).
void save(const nn::Module& module, const std::string& path, const Metadata& metadata = {}, CR_LOC);
/// load_state_dict(module, load_tensors(path), strict).
LoadResult load(nn::Module& module, const std::string& path, bool strict = true, CR_LOC);

/// The same tensors under "prefix" + name.
TensorMap with_prefix(const TensorMap& tensors, const std::string& prefix);
/// The entries whose names start with `prefix`, with the prefix removed.
TensorMap strip_prefix(const TensorMap& tensors, const std::string& prefix);

}  // namespace cr::io
