// Module checkpoints: state_dict / load_state_dict over named parameters and
// buffers, written through the existing tensors so handles stay valid.

#include "chainrule/io/checkpoint.h"

#include "chainrule/autograd/grad_mode.h"
#include "core/tensor_internal.h"

namespace cr::io {

TensorMap state_dict(const nn::Module& module) {
  TensorMap state;
  for (auto& [name, t] : module.named_parameters())
    if (t.defined()) state.emplace(name, t);
  for (auto& [name, t] : module.named_buffers())
    if (t.defined()) state.emplace(name, t);
  return state;
}

LoadResult load_state_dict(nn::Module& module, const TensorMap& state, bool strict, SourceLocation loc) {
  const TensorMap own = state_dict(module);
  LoadResult result;
  std::vector<std::string> mismatches;
  for (const auto& [name, target] : own) {
    auto it = state.find(name);
    if (it == state.end()) {
      result.missing_keys.push_back(name);
      continue;
    }
    const Tensor& source = it->second;
    if (!source.defined()) mismatches.push_back(name + ": the state holds an undefined tensor");
    else if (source.sizes() != target.sizes() || source.dtype() != target.dtype())
      mismatches.push_back(name + ": the state holds " + cr::detail::describe(source) + ", the module " +
                           cr::detail::describe(target));
  }
  for (const auto& [name, unused] : state)
    if (!own.contains(name)) result.unexpected_keys.push_back(name);

  std::string problems;
  auto list = [&problems](const std::string& title, const std::vector<std::string>& items) {
    if (items.empty()) return;
    problems += (problems.empty() ? "" : "; ") + title + ": ";
    for (std::size_t i = 0; i < items.size(); ++i) problems += (i ? ", " : "") + items[i];
  };
  list("shape or dtype mismatches", mismatches);
  if (strict) {
    list("missing keys", result.missing_keys);
    list("unexpected keys", result.unexpected_keys);
  }
  if (!problems.empty()) throw_error("load_state_dict", problems + " (nothing was loaded)", loc);

  NoGradGuard no_grad;
  for (const auto& [name, target] : own) {
    auto it = state.find(name);
    if (it == state.end()) continue;
    Tensor handle = target;  // shares the module's TensorImpl
    handle.copy_(it->second, loc);
  }
  return result;
}

void save(const nn::Module& module, const std::string& path, const Metadata& metadata, SourceLocation loc) {
  save_tensors(state_dict(module), path, metadata, loc);
}

LoadResult load(nn::Module& module, const std::string& path, bool strict, SourceLocation loc) {
  return load_state_dict(module, load_tensors(path, loc), strict, loc);
}

}  // namespace cr::io
