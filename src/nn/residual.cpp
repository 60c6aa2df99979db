#include "chainrule/nn/residual.h"

#include "chainrule/ops/elementwise.h"
#include "core/tensor_internal.h"

namespace cr::nn {

Residual::Residual(std::shared_ptr<Module> fn) : Module("Residual") {
  this->fn = register_module("fn", std::move(fn));
}

Tensor Residual::forward(const Tensor& input) {
  const SourceLocation loc = call_site();
  Tensor out = (*fn)(input, loc);
  if (out.sizes() != input.sizes())
    throw_error("Residual",
                describe_call() + ": its module turned " + detail::describe(input) + " into " + detail::describe(out) +
                    "; x + fn(x) needs the shape kept",
                loc);
  return add(input, out, loc);
}

}  // namespace cr::nn
