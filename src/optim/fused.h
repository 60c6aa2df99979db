#pragma once
// The shape every optimizer update takes: one fused pass over a parameter's
// raw data that reads its gradient and updates its state buffers and the
// parameter together. Contiguous parameters (the usual case) are updated in
// place with no allocation; others go through a contiguous copy.

#include "backend/cpu/loops.h"
#include "chainrule/core/tensor.h"

namespace cr::optim::detail {

/// Calls body(p, g, begin, end) over ranges of [0, param.numel()), with p and
/// g typed pointers (float or double) to the parameter's and the gradient's
/// contiguous data, split across threads when the parameter is large. State
/// buffers are always contiguous; the body indexes them with the same i.
template <class Body>
void fused_update(const Tensor& param, const Tensor& grad, Body&& body) {
  const Tensor g = grad.is_contiguous() ? grad : grad.contiguous();
  const bool in_place = param.is_contiguous();
  Tensor target = in_place ? param : param.contiguous();
  dispatch_floating(param.dtype(), [&]<class T>() {
    T* p = static_cast<T*>(target.raw_data());
    const T* gp = static_cast<const T*>(g.raw_data());
    cpu::parallel_range(param.numel(), [&](std::int64_t begin, std::int64_t end) { body(p, gp, begin, end); });
  });
  if (!in_place) {
    Tensor destination = param.detach();
    cpu::copy_into(destination, target);
  }
  param.storage().bump_version();
}

/// The typed data of a state buffer (contiguous by construction).
template <class T>
T* data(const Tensor& buffer) {
  return static_cast<T*>(buffer.raw_data());
}

}  // namespace cr::optim::detail
