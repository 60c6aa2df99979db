// dropout: keeps each element with probability 1 − p, scaled by 1/(1 − p), so
// the expected value is unchanged. The mask is drawn from the global generator
// (cr::manual_seed makes it reproducible) and holds 0 or 1/(1 − p); backward
// multiplies by the same mask, in public ops.

#include <string>

#include "backend/cpu/loops.h"
#include "chainrule/autograd/record.h"
#include "chainrule/core/factories.h"
#include "chainrule/nn/functional.h"
#include "chainrule/ops/elementwise.h"
#include "core/tensor_internal.h"

namespace cr::nn::functional {

using autograd::GradList;
using autograd::Node;
using autograd::SavedTensor;

Tensor dropout(const Tensor& input, double p, bool training, SourceLocation loc) {
  constexpr const char* op = "dropout";
  detail::check_floating(input, op, loc);
  if (!(p >= 0.0 && p <= 1.0))
    throw_error(op, "probability p must be in [0, 1], got " + std::to_string(p), loc);
  if (!training || p == 0.0) return input;
  if (p == 1.0) return mul(input, 0.0, loc);  // all dropped; the gradient is zero too

  // One uniform draw per element, turned in place into the scaled mask.
  Tensor mask = rand(input.sizes(), input.dtype(), loc);
  Tensor out = detail::make_tensor(input.sizes(), input.dtype());
  dispatch_floating(input.dtype(), [&]<class T>() {
    const T keep = static_cast<T>(1.0 / (1.0 - p)), drop = static_cast<T>(p);
    T* m = mask.data_ptr<T>();
    const std::int64_t n = mask.numel();
    for (std::int64_t i = 0; i < n; ++i) m[i] = m[i] < drop ? T(0) : keep;
    cpu::map2<T, T, T>(out, input, mask, [](T x, T k) { return x * k; });
  });
  if (autograd::needs_grad(input))
    autograd::record("DropoutBackward", loc, {&input}, out, [sm = SavedTensor(mask, false)](Node& self, const Tensor& g) {
      return GradList{mul(g, sm.unpack(self))};
    });
  return out;
}

}  // namespace cr::nn::functional
