// The optimizer base: parameter groups, zero_grad, step, and the strict
// state_dict round trip that checkpoints rely on for resuming.

#include "chainrule/optim/optimizer.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>
#include <unordered_set>

#include "chainrule/autograd/grad_mode.h"
#include "chainrule/core/factories.h"
#include "core/tensor_internal.h"

namespace cr::optim {

// ---- ParamGroup -----------------------------------------------------------

ParamGroup::ParamGroup(std::vector<Tensor> params) : params_(std::move(params)) {}

ParamGroup::ParamGroup(const ParamGroup& other)
    : params_(other.params_),
      options_(other.options_ ? other.options_->clone() : nullptr),
      initial_lr_(other.initial_lr_) {}

ParamGroup& ParamGroup::operator=(const ParamGroup& other) {
  if (this != &other) {
    params_ = other.params_;
    options_ = other.options_ ? other.options_->clone() : nullptr;
    initial_lr_ = other.initial_lr_;
  }
  return *this;
}

OptimizerOptions& ParamGroup::options() {
  if (!options_)
    throw Error("ParamGroup.options", "this group has no options yet; add it to an optimizer first",
                SourceLocation::current());
  return *options_;
}

const OptimizerOptions& ParamGroup::options() const { return const_cast<ParamGroup*>(this)->options(); }

// ---- hyperparameters by name ----------------------------------------------

namespace {

// The hyperparameters of `options` by name, in declaration order.
std::vector<std::pair<std::string, double>> named_values(const OptimizerOptions& options) {
  struct Collect : OptionVisitor {
    std::vector<std::pair<std::string, double>> out;
    void operator()(const char* name, double& value) override { out.emplace_back(name, value); }
    void operator()(const char* name, bool& value) override { out.emplace_back(name, value ? 1.0 : 0.0); }
  } collect;
  const_cast<OptimizerOptions&>(options).visit(collect);  // visit only reads here
  return collect.out;
}

// Sets the hyperparameter `name`; false when there is none of that name.
bool set_value(OptimizerOptions& options, const std::string& name, double value) {
  struct Assign : OptionVisitor {
    const std::string& name;
    double value;
    bool found = false;
    Assign(const std::string& n, double v) : name(n), value(v) {}
    void operator()(const char* field, double& slot) override {
      if (name == field) slot = value, found = true;
    }
    void operator()(const char* field, bool& slot) override {
      if (name == field) slot = value != 0.0, found = true;
    }
  } assign(name, value);
  options.visit(assign);
  return assign.found;
}

// Splits "<prefix><index>.<rest>"; false when the index is not a plain number.
bool split_indexed(const std::string& key, std::string_view prefix, std::size_t& index, std::string& rest) {
  if (key.rfind(prefix, 0) != 0) return false;
  const std::size_t dot = key.find('.', prefix.size());
  if (dot == std::string::npos || dot == prefix.size() || dot + 1 == key.size()) return false;
  const char* first = key.data() + prefix.size();
  const char* last = key.data() + dot;
  if (*first == '0' && last - first > 1) return false;  // one spelling per index
  auto [end, error] = std::from_chars(first, last, index);
  if (error != std::errc() || end != last) return false;
  rest = key.substr(dot + 1);
  return true;
}

double scalar_value(const std::string& key, const Tensor& t, const std::string& op, const SourceLocation& loc) {
  if (!t.defined() || t.numel() != 1 || t.dtype() == kBool)
    throw_error(op, "'" + key + "' must hold one number, got " +
                        (t.defined() ? detail::describe(t) : std::string("an undefined tensor")),
                loc);
  return t.item<double>();
}

}  // namespace

// ---- Optimizer --------------------------------------------------------------

Optimizer::Optimizer(std::string name, std::unique_ptr<OptimizerOptions> defaults)
    : name_(std::move(name)), defaults_(std::move(defaults)) {}

void Optimizer::init(std::vector<ParamGroup> groups, const SourceLocation& loc) {
  defaults_->validate(name_, loc);
  std::size_t count = 0;
  for (const ParamGroup& group : groups) count += group.params().size();
  if (count == 0) throw_error(name_, "got an empty parameter list", loc);
  for (ParamGroup& group : groups) add_param_group(std::move(group), loc);
}

void Optimizer::add_param_group(ParamGroup group, SourceLocation loc) {
  const std::string op = name_ + ".add_param_group";
  if (!group.has_options()) {
    group.set_options(defaults_->clone());
  } else if (!accepts(group.options())) {
    throw_error(op, "a parameter group's options are not " + name_ + "Options", loc);
  }
  group.options().validate(name_, loc);
  std::unordered_set<const TensorImpl*> seen;
  for (const ParamGroup& other : groups_)
    for (const Tensor& p : other.params()) seen.insert(p.impl());
  for (std::size_t i = 0; i < group.params().size(); ++i) {
    const Tensor& p = group.params()[i];
    const std::string which = "parameter " + std::to_string(i) + " of the new group";
    if (!p.defined()) throw_error(op, which + " is undefined", loc);
    if (!is_floating(p.dtype()))
      throw_error(op, which + " is " + detail::describe(p) + "; only float32 and float64 tensors can be optimized",
                  loc);
    if (!p.is_leaf())
      throw_error(op, which + " (" + detail::describe(p) + ") is not a leaf tensor; optimize leaves (detach() it)",
                  loc);
    if (!seen.insert(p.impl()).second)
      throw_error(op, which + " (" + detail::describe(p) + ") already appears in a parameter group", loc);
  }
  groups_.push_back(std::move(group));
}

Tensor Optimizer::step(const LossClosure& closure, SourceLocation loc) {
  Tensor loss;
  if (closure) {
    EnableGradGuard enable;
    loss = closure();
  }
  NoGradGuard no_grad;
  for (ParamGroup& group : groups_) update(group, loc);
  return loss;
}

void Optimizer::zero_grad(bool set_to_none) {
  NoGradGuard no_grad;
  for (ParamGroup& group : groups_) {
    for (Tensor& p : group.params()) {
      Tensor grad = p.grad();
      if (!grad.defined()) continue;
      if (set_to_none) {
        p.set_grad(Tensor());
      } else if (grad.grad_fn() || grad.requires_grad()) {
        // A gradient built with create_graph: keep the values' buffer, drop its history.
        Tensor plain = grad.detach();
        plain.zero_();
        p.set_grad(plain);
      } else {
        grad.zero_();
      }
    }
  }
}

Optimizer::ParamState& Optimizer::state_of(const Tensor& param) {
  auto it = state_.find(param.impl());
  if (it != state_.end()) return it->second;
  ParamState& state = state_[param.impl()];
  state.buffers.resize(buffer_names().size());
  return state;
}

bool Optimizer::ensure_buffer(ParamState& state, int k, const Tensor& param, const SourceLocation& loc) const {
  Tensor& buffer = state.buffers[k];
  if (!buffer.defined()) {
    buffer = zeros(param.sizes(), param.dtype());
    return true;
  }
  if (buffer.dtype() != param.dtype() || buffer.sizes() != param.sizes())
    throw_error(name_ + ".step",
                std::string("the state '") + buffer_names()[k] + "' " + detail::describe(buffer) +
                    " no longer matches its parameter " + detail::describe(param) +
                    " (was the parameter's data replaced?)",
                loc);
  return false;
}

Tensor Optimizer::checked_grad(const Tensor& param, const SourceLocation& loc) const {
  Tensor grad = param.grad();
  if (!grad.defined()) return grad;
  if (grad.dtype() != param.dtype() || grad.sizes() != param.sizes())
    throw_error(name_ + ".step",
                "the gradient " + detail::describe(grad) + " does not match its parameter " + detail::describe(param),
                loc);
  return grad;
}

std::map<std::string, Tensor> Optimizer::state(const Tensor& param) const {
  std::map<std::string, Tensor> out;
  auto it = state_.find(param.impl());
  if (it == state_.end()) return out;
  if (counts_steps()) out["step"] = scalar_tensor(it->second.step, kFloat64);
  const auto names = buffer_names();
  for (std::size_t k = 0; k < names.size(); ++k)
    if (it->second.buffers[k].defined()) out[names[k]] = it->second.buffers[k];
  return out;
}

std::map<std::string, Tensor> Optimizer::state_dict() const {
  std::map<std::string, Tensor> out;
  std::int64_t index = 0;
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const ParamGroup& group = groups_[g];
    const std::string prefix = "param_groups." + std::to_string(g) + ".";
    for (const auto& [name, value] : named_values(group.options()))
      out[prefix + name] = scalar_tensor(value, kFloat64);
    if (group.initial_lr()) out[prefix + "initial_lr"] = scalar_tensor(*group.initial_lr(), kFloat64);
    std::vector<std::int64_t> ids;
    for (const Tensor& p : group.params()) {
      ids.push_back(index);
      for (const auto& [name, value] : state(p)) out["state." + std::to_string(index) + "." + name] = value;
      ++index;
    }
    out[prefix + "params"] = tensor(ids, Shape{static_cast<std::int64_t>(ids.size())}, kInt64);
  }
  return out;
}

void Optimizer::load_state_dict(const std::map<std::string, Tensor>& dict, SourceLocation loc) {
  const std::string op = name_ + ".load_state_dict";
  std::vector<const Tensor*> params;  // by state index
  std::vector<std::size_t> group_of;
  for (std::size_t g = 0; g < groups_.size(); ++g)
    for (const Tensor& p : groups_[g].params()) params.push_back(&p), group_of.push_back(g);

  // Work on copies of the options: nothing changes until every check passed.
  std::vector<std::unique_ptr<OptimizerOptions>> options;
  std::vector<std::optional<double>> initial_lrs(groups_.size());
  for (const ParamGroup& group : groups_) options.push_back(group.options().clone());
  std::vector<std::set<std::string>> group_keys(groups_.size());
  std::vector<std::map<std::string, const Tensor*>> param_keys(params.size());
  const auto names = buffer_names();

  for (const auto& [key, value] : dict) {
    std::size_t index = 0;
    std::string rest;
    if (split_indexed(key, "param_groups.", index, rest)) {
      if (index >= groups_.size())
        throw_error(op, "unexpected key '" + key + "': the optimizer has " + std::to_string(groups_.size()) +
                            " parameter group(s)",
                    loc);
      if (rest == "params") {
        const std::vector<Tensor>& group_params = groups_[index].params();
        const bool shaped = value.defined() && value.dtype() == kInt64 && value.dim() == 1;
        if (!shaped || value.numel() != static_cast<std::int64_t>(group_params.size()))
          throw_error(op, "'" + key + "' is " + (value.defined() ? detail::describe(value) : "undefined") +
                              " but parameter group " + std::to_string(index) + " has " +
                              std::to_string(group_params.size()) + " parameters",
                      loc);
        std::int64_t first = 0;
        for (std::size_t g = 0; g < index; ++g) first += groups_[g].params().size();
        Tensor ids = value.contiguous();
        for (std::int64_t j = 0; j < ids.numel(); ++j)
          if (ids.data_ptr<std::int64_t>()[j] != first + j)
            throw_error(op, "'" + key + "' numbers its parameters differently from this optimizer (expected " +
                                std::to_string(first) + ".." + std::to_string(first + ids.numel() - 1) + ")",
                        loc);
      } else if (rest == "initial_lr") {
        initial_lrs[index] = scalar_value(key, value, op, loc);
      } else if (!set_value(*options[index], rest, scalar_value(key, value, op, loc))) {
        throw_error(op, "unexpected key '" + key + "': " + name_ + " has no hyperparameter '" + rest + "'", loc);
      }
      group_keys[index].insert(rest);
    } else if (split_indexed(key, "state.", index, rest)) {
      if (index >= params.size())
        throw_error(op, "unexpected key '" + key + "': the optimizer has " + std::to_string(params.size()) +
                            " parameter(s)",
                    loc);
      const bool known = (rest == "step" && counts_steps()) ||
                         std::find(names.begin(), names.end(), rest) != names.end();
      if (!known) throw_error(op, "unexpected key '" + key + "': " + name_ + " keeps no state '" + rest + "'", loc);
      if (!value.defined()) throw_error(op, "'" + key + "' is an undefined tensor", loc);
      param_keys[index][rest] = &value;
    } else {
      throw_error(op, "unexpected key '" + key + "' (expected 'param_groups.<g>.<name>' or 'state.<i>.<name>')",
                  loc);
    }
  }

  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const std::string prefix = "param_groups." + std::to_string(g) + ".";
    if (!group_keys[g].count("params")) throw_error(op, "missing key '" + prefix + "params'", loc);
    for (const auto& [name, value] : named_values(*options[g]))
      if (!group_keys[g].count(name)) throw_error(op, "missing key '" + prefix + name + "'", loc);
    options[g]->validate(op, loc);
  }

  std::vector<ParamState> loaded(params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    const auto& keys = param_keys[i];
    if (keys.empty()) continue;
    const std::string prefix = "state." + std::to_string(i) + ".";
    const Tensor& param = *params[i];
    ParamState& state = loaded[i];
    state.buffers.resize(names.size());
    if (counts_steps()) {
      auto it = keys.find("step");
      if (it == keys.end()) throw_error(op, "missing key '" + prefix + "step'", loc);
      state.step = scalar_value(prefix + "step", *it->second, op, loc);
      if (!(state.step >= 0) || state.step != std::floor(state.step))
        throw_error(op, "'" + prefix + "step' is " + std::to_string(state.step) + "; expected a count", loc);
    }
    for (int k : required_buffers(*options[group_of[i]]))
      if (!keys.count(names[k])) throw_error(op, "missing key '" + prefix + names[k] + "'", loc);
    for (std::size_t k = 0; k < names.size(); ++k) {
      auto it = keys.find(names[k]);
      if (it == keys.end()) continue;
      const Tensor& value = *it->second;
      if (value.sizes() != param.sizes() || !is_floating(value.dtype()))
        throw_error(op, "'" + prefix + names[k] + "' is " + detail::describe(value) + " but parameter " +
                            std::to_string(i) + " is " + detail::describe(param),
                    loc);
      NoGradGuard no_grad;
      state.buffers[k] = value.detach().to(param.dtype()).contiguous().clone();  // our own copy
    }
  }

  // Every check passed: commit.
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    groups_[g].set_options(std::move(options[g]));
    if (initial_lrs[g]) groups_[g].set_initial_lr(initial_lrs[g]);
  }
  state_.clear();
  for (std::size_t i = 0; i < params.size(); ++i)
    if (!param_keys[i].empty()) state_[params[i]->impl()] = std::move(loaded[i]);
}

}  // namespace cr::optim
