#include "chainrule/autograd/gradcheck.h"

#include <cmath>
#include <sstream>

#include "chainrule/autograd/engine.h"
#include "chainrule/autograd/grad_mode.h"
#include "chainrule/core/factories.h"
#include "chainrule/ops/elementwise.h"
#include "chainrule/ops/reduction.h"

namespace cr::autograd {

namespace {

// Address of the i-th element (row-major order) of a possibly strided tensor.
double& element(const Tensor& t, std::int64_t flat) {
  std::int64_t offset = 0;
  for (int d = static_cast<int>(t.dim()) - 1; d >= 0; --d) {
    const std::int64_t size = t.sizes()[d];
    offset += (flat % size) * t.strides()[d];
    flat /= size;
  }
  return static_cast<double*>(t.raw_data())[offset];
}

std::vector<Tensor> outputs_as_float64(const DifferentiableFn& fn, const std::vector<Tensor>& inputs) {
  std::vector<Tensor> outs = fn(inputs);
  for (const Tensor& o : outs)
    if (o.defined() && o.dtype() != kFloat64)
      throw_error("gradcheck", "outputs must be float64, got " + std::string(dtype_name(o.dtype())),
                  SourceLocation::current());
  return outs;
}

}  // namespace

GradcheckResult gradcheck(const DifferentiableFn& fn, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options) {
  for (const Tensor& in : inputs)
    if (in.defined() && in.requires_grad() && in.dtype() != kFloat64)
      throw_error("gradcheck", "inputs that require grad must be float64 for a meaningful check",
                  SourceLocation::current());
  std::vector<Tensor> outputs = outputs_as_float64(fn, inputs);

  std::vector<Tensor> differentiable;
  for (const Tensor& in : inputs)
    if (in.defined() && in.requires_grad()) differentiable.push_back(in);

  for (std::size_t o = 0; o < outputs.size(); ++o) {
    const Tensor& out = outputs[o];
    if (!out.defined()) continue;
    for (std::int64_t j = 0; j < out.numel(); ++j) {
      // Row j of the analytical Jacobian: backward of a one-hot gradient. An
      // output with no history has a zero Jacobian, which is checked too.
      std::vector<Tensor> rows(differentiable.size());
      if (out.requires_grad()) {
        Tensor onehot = zeros(out.sizes(), kFloat64);
        onehot.data_ptr<double>()[j] = 1.0;
        rows = grad({out}, differentiable, {onehot}, /*retain_graph=*/true,
                    /*create_graph=*/false, /*allow_unused=*/true);
      }
      for (std::size_t k = 0; k < differentiable.size(); ++k) {
        const Tensor& x = differentiable[k];
        for (std::int64_t i = 0; i < x.numel(); ++i) {
          double& xi = element(x, i);
          const double saved = xi;
          // Grad mode stays on: for gradgradcheck fn itself differentiates.
          xi = saved + options.eps;
          const double plus = element(outputs_as_float64(fn, inputs)[o].contiguous(), j);
          xi = saved - options.eps;
          const double minus = element(outputs_as_float64(fn, inputs)[o].contiguous(), j);
          xi = saved;
          const double numerical = (plus - minus) / (2 * options.eps);
          const double analytical = rows[k].defined() ? element(rows[k].contiguous(), i) : 0.0;
          if (!(std::abs(analytical - numerical) <= options.atol + options.rtol * std::abs(numerical))) {
            std::ostringstream msg;
            msg << "gradcheck: d output" << o << "[" << j << "] / d input" << k << "[" << i
                << "]: analytical " << analytical << " vs numerical " << numerical;
            return {false, msg.str()};
          }
        }
      }
    }
  }
  return {};
}

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& options) {
  return gradcheck([&](const std::vector<Tensor>& in) { return std::vector<Tensor>{fn(in)}; }, inputs,
                   options);
}

GradcheckResult gradgradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                              const std::vector<Tensor>& inputs, const GradcheckOptions& options) {
  std::vector<Tensor> differentiable;
  for (const Tensor& in : inputs)
    if (in.defined() && in.requires_grad()) differentiable.push_back(in);
  Tensor probe = fn(inputs);
  // A fixed, non-trivial v (not all ones, which hides some errors).
  Tensor v = add(rand(probe.sizes(), kFloat64), 0.5).requires_grad_();
  std::vector<Tensor> all = inputs;
  all.push_back(v);
  return gradcheck(
      [&](const std::vector<Tensor>& in) {
        std::vector<Tensor> xs(in.begin(), in.end() - 1);
        std::vector<Tensor> diff;
        for (const Tensor& x : xs)
          if (x.defined() && x.requires_grad()) diff.push_back(x);
        Tensor out = fn(xs);
        std::vector<Tensor> grads = grad({out}, diff, {in.back()}, true, /*create_graph=*/true,
                                         /*allow_unused=*/true);
        for (std::size_t i = 0; i < grads.size(); ++i)
          if (!grads[i].defined()) grads[i] = zeros(diff[i].sizes(), kFloat64);
        return grads;
      },
      all, options);
}

}  // namespace cr::autograd
