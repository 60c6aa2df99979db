// Loss functions.
//
// cross_entropy is fused: one pass per sample computes the max-shifted
// log-sum-exp and the loss, keeping softmax when a gradient will be needed;
// backward is then softmax − smoothed one-hot, scaled, in one exp-free kernel. With create_graph its backward is written in public ops instead
// (softmax, sub, mul), so the gradient can be differentiated again.
//
// The pointwise losses (mse, l1, bce, bce with logits) compute their forward in
// one fused pass (no temporaries). Their backward is one fused pass too, or,
// with create_graph, the same derivatives written in public ops.
//
// Reductions follow PyTorch: Mean over class-index losses divides by the number
// of targets that are not ignore_index.

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "backend/cpu/loops.h"
#include "chainrule/autograd/record.h"
#include "chainrule/core/factories.h"
#include "chainrule/nn/functional.h"
#include "chainrule/ops/elementwise.h"
#include "chainrule/ops/reduction.h"
#include "chainrule/ops/shape.h"
#include "core/tensor_internal.h"

namespace cr::nn::functional {

using autograd::GradList;
using autograd::Node;
using autograd::SavedTensor;

namespace {

Tensor dense(const Tensor& t) { return t.is_contiguous() ? t : t.detach().contiguous(); }

template <class T>
const T* cdata(const Tensor& t) {
  return static_cast<const T*>(t.raw_data());
}

Tensor scalar_of(double value, DType dtype) { return scalar_tensor(value, dtype); }

// ---- class-index losses (cross_entropy, nll_loss) ---------------------------

// Scores viewed as [N, C, D] (class dim 1, D the product of the trailing dims),
// targets as [N, D]. An unbatched [C] input with a 0-d target is N = D = 1.
struct ClassTargets {
  std::int64_t n = 1, c = 1, d = 1;
  std::int64_t class_dim = 1;
  Tensor target;          // contiguous int64
  std::int64_t count = 0;  // targets that are not ignore_index
  std::int64_t positions() const { return n * d; }
};

ClassTargets check_class_targets(const char* op, const Tensor& scores, const Tensor& target,
                                 std::int64_t ignore_index, const SourceLocation& loc) {
  detail::check_floating(scores, op, loc);
  detail::check_defined(target, op, loc);
  if (target.dtype() != kInt64)
    throw_error(op, "target must hold int64 class indices, got " + detail::describe(target), loc);
  ClassTargets ct;
  if (scores.dim() == 0)
    throw_error(op, "input must be [C], [N, C] or [N, C, d...], got " + detail::describe(scores), loc);
  bool shapes_match;
  if (scores.dim() == 1) {
    ct.class_dim = 0;
    ct.c = scores.sizes()[0];
    shapes_match = target.dim() == 0;
  } else {
    ct.n = scores.sizes()[0];
    ct.c = scores.sizes()[1];
    for (int i = 2; i < scores.dim(); ++i) ct.d *= scores.sizes()[i];
    shapes_match = target.dim() == scores.dim() - 1 && target.sizes()[0] == ct.n;
    for (int i = 2; shapes_match && i < scores.dim(); ++i) shapes_match = target.sizes()[i - 1] == scores.sizes()[i];
  }
  if (!shapes_match)
    throw_error(op,
                "target shape does not match input: input " + detail::describe(scores) + " (class dim " +
                    std::to_string(ct.class_dim) + ") needs target of its other dims, got " + detail::describe(target),
                loc);
  ct.target = dense(target);
  const std::int64_t* t = cdata<std::int64_t>(ct.target);
  for (std::int64_t i = 0; i < ct.positions(); ++i) {
    if (t[i] == ignore_index) continue;
    if (t[i] < 0 || t[i] >= ct.c)
      throw_error(op,
                  "target " + std::to_string(t[i]) + " at position " + std::to_string(i) + " is out of range for " +
                      std::to_string(ct.c) + " classes (valid: 0 to " + std::to_string(ct.c - 1) +
                      ", or ignore_index " + std::to_string(ignore_index) + ")",
                  loc);
    ++ct.count;
  }
  return ct;
}

// What d(reduced loss)/d(per-sample loss) is for a Sum or Mean reduction: 1 or
// 1/count. With nothing counted, the mean is NaN (0/0, as PyTorch) and the
// gradient zero.
double reduction_factor(Reduction reduction, std::int64_t count) {
  if (reduction != Reduction::Mean) return 1.0;
  return count > 0 ? 1.0 / static_cast<double>(count) : 0.0;
}

// The loss tensor from per-position losses (ignored positions hold 0).
Tensor reduce_losses(const std::vector<double>& losses, Reduction reduction, std::int64_t count,
                     const Shape& none_shape, DType dtype) {
  if (reduction == Reduction::None) {
    Tensor out = detail::make_tensor(none_shape, dtype);
    dispatch_floating(dtype, [&]<class T>() {
      T* p = out.data_ptr<T>();
      for (std::size_t i = 0; i < losses.size(); ++i) p[i] = static_cast<T>(losses[i]);
    });
    return out;
  }
  double total = 0;
  for (double v : losses) total += v;
  if (reduction == Reduction::Mean) total /= static_cast<double>(count);  // NaN when count == 0
  return scalar_of(total, dtype);
}

// Per-position scale of the gradient, [N, D]-shaped like the target (0 where
// ignored), in public ops so that it is differentiable in g.
Tensor class_grad_scale(const Tensor& g, const ClassTargets& ct, Reduction reduction, std::int64_t ignore_index,
                        DType dtype) {
  Tensor valid = detail::make_tensor(ct.target.sizes(), dtype);
  dispatch_floating(dtype, [&]<class T>() {
    const std::int64_t* t = cdata<std::int64_t>(ct.target);
    T* v = valid.data_ptr<T>();
    for (std::int64_t i = 0; i < ct.positions(); ++i) v[i] = t[i] == ignore_index ? T(0) : T(1);
  });
  Tensor scale = reduction == Reduction::None ? mul(g, valid) : mul(valid, mul(g, reduction_factor(reduction, ct.count)));
  return ct.class_dim == 1 ? scale.unsqueeze(1) : scale;
}

// A constant [N, C, d...] tensor: `on` at each valid target class, `off` elsewhere.
Tensor target_distribution(const ClassTargets& ct, const Shape& shape, double on, double off,
                           std::int64_t ignore_index, DType dtype) {
  Tensor dist = detail::make_tensor(shape, dtype);
  dispatch_floating(dtype, [&]<class T>() {
    T* p = dist.data_ptr<T>();
    std::fill_n(p, dist.numel(), static_cast<T>(off));
    const std::int64_t* t = cdata<std::int64_t>(ct.target);
    for (std::int64_t n = 0; n < ct.n; ++n)
      for (std::int64_t j = 0; j < ct.d; ++j) {
        const std::int64_t k = t[n * ct.d + j];
        if (k != ignore_index) p[(n * ct.c + k) * ct.d + j] = static_cast<T>(on);
      }
  });
  return dist;
}

// Forward of cross_entropy at every position: the loss and, when `probs` is
// given, softmax (laid out as x) for the backward pass, which then needs no exp.
template <class T>
void cross_entropy_rows(const T* x, const ClassTargets& ct, double smoothing, std::int64_t ignore_index,
                        double* loss, T* probs) {
  const std::int64_t c_count = ct.c, d = ct.d;
  const std::int64_t* target = cdata<std::int64_t>(ct.target);
  const bool parallel = ct.positions() > 1 && ct.positions() * c_count > cpu::kParallelGrain;
  cpu::parallel_for(ct.positions(), parallel, [&](std::int64_t pos) {
    const std::int64_t n = pos / d, j = pos % d;
    const std::int64_t base = n * c_count * d + j;  // class c at base + c·d
    const T* row = x + base;
    T m = -std::numeric_limits<T>::infinity();
    for (std::int64_t c = 0; c < c_count; ++c) {
      const T v = row[c * d];
      m = (v > m || v != v) ? v : m;  // a NaN sticks, so the loss is NaN
    }
    double total = 0, sum_x = 0;
    if (probs) {
      T* p = probs + base;
      for (std::int64_t c = 0; c < c_count; ++c) {
        const T e = std::exp(row[c * d] - m);
        p[c * d] = e;
        total += e;
        sum_x += static_cast<double>(row[c * d]);
      }
      const T inv = static_cast<T>(1.0 / total);
      for (std::int64_t c = 0; c < c_count; ++c) p[c * d] *= inv;
    } else {
      for (std::int64_t c = 0; c < c_count; ++c) {
        total += std::exp(row[c * d] - m);
        sum_x += static_cast<double>(row[c * d]);
      }
    }
    const std::int64_t k = target[pos];
    if (k == ignore_index) {
      loss[pos] = 0;
      return;
    }
    const double lse = static_cast<double>(m) + std::log(total);
    const double nll = lse - static_cast<double>(row[k * d]);
    loss[pos] = smoothing > 0 ? (1 - smoothing) * nll + smoothing * (lse - sum_x / static_cast<double>(c_count)) : nll;
  });
}

// dx = (softmax − (1−ε)·onehot − ε/C)·scale, with scale per position (0 where ignored).
template <class T>
void cross_entropy_grad(const T* probs, const ClassTargets& ct, const T* g, double g_factor, bool per_position,
                        double smoothing, std::int64_t ignore_index, T* dx) {
  const std::int64_t c_count = ct.c, d = ct.d;
  const std::int64_t* target = cdata<std::int64_t>(ct.target);
  const T off = static_cast<T>(smoothing / static_cast<double>(c_count));
  const bool parallel = ct.positions() > 1 && ct.positions() * c_count > cpu::kParallelGrain;
  const T shared_scale = static_cast<T>(static_cast<double>(g[0]) * g_factor);
  cpu::parallel_for(ct.positions(), parallel, [&](std::int64_t pos) {
    const std::int64_t n = pos / d, j = pos % d;
    const std::int64_t base = n * c_count * d + j;
    const std::int64_t k = target[pos];
    if (k == ignore_index) {
      for (std::int64_t c = 0; c < c_count; ++c) dx[base + c * d] = T(0);
      return;
    }
    const T s = per_position ? g[pos] : shared_scale;
    for (std::int64_t c = 0; c < c_count; ++c) dx[base + c * d] = (probs[base + c * d] - off) * s;
    dx[base + k * d] -= static_cast<T>(1 - smoothing) * s;
  });
}

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& target, Reduction reduction, double label_smoothing,
                     std::int64_t ignore_index, SourceLocation loc) {
  constexpr const char* op = "cross_entropy";
  if (!(label_smoothing >= 0.0 && label_smoothing <= 1.0))
    throw_error(op, "label_smoothing must be in [0, 1], got " + std::to_string(label_smoothing), loc);
  ClassTargets ct = check_class_targets(op, logits, target, ignore_index, loc);
  const DType dtype = logits.dtype();
  const Tensor x = dense(logits);
  const bool needs_grad = autograd::needs_grad(logits);
  // Softmax kept for backward, in x's contiguous layout.
  Tensor probs = needs_grad ? detail::make_tensor(x.sizes(), dtype) : Tensor();
  std::vector<double> losses(static_cast<std::size_t>(ct.positions()));
  if (ct.c > 0 && ct.positions() > 0)
    dispatch_floating(dtype, [&]<class T>() {
      cross_entropy_rows<T>(cdata<T>(x), ct, label_smoothing, ignore_index, losses.data(),
                            needs_grad ? probs.data_ptr<T>() : nullptr);
    });
  Tensor out = reduce_losses(losses, reduction, ct.count, target.sizes(), dtype);

  if (needs_grad) {
    autograd::record(
        "CrossEntropyBackward", loc, {&logits}, out,
        [ct = std::move(ct), probs = std::move(probs), reduction, label_smoothing, ignore_index,
         sx = SavedTensor(logits, false)](Node& self, const Tensor& g) {
          const DType dtype = probs.dtype();
          if (autograd::is_grad_enabled()) {  // create_graph: softmax − target distribution, in public ops
            const Tensor xv = sx.unpack(self);
            const double off = label_smoothing / static_cast<double>(ct.c);
            const Tensor dist = target_distribution(ct, xv.sizes(), 1.0 - label_smoothing + off, off, ignore_index, dtype);
            return GradList{mul(sub(cr::softmax(xv, ct.class_dim), dist),
                                class_grad_scale(g, ct, reduction, ignore_index, dtype))};
          }
          (void)sx.unpack(self);  // still checks that logits were not modified in place
          const Tensor gd = dense(g);
          Tensor dx = detail::make_tensor(probs.sizes(), dtype);
          if (ct.c > 0 && ct.positions() > 0)
            dispatch_floating(dtype, [&]<class T>() {
              cross_entropy_grad<T>(cdata<T>(probs), ct, cdata<T>(gd), reduction_factor(reduction, ct.count),
                                    reduction == Reduction::None, label_smoothing, ignore_index, dx.data_ptr<T>());
            });
          return GradList{dx};
        });
  }
  return out;
}

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction, std::int64_t ignore_index,
                SourceLocation loc) {
  ClassTargets ct = check_class_targets("nll_loss", log_probs, target, ignore_index, loc);
  const DType dtype = log_probs.dtype();
  std::vector<double> losses(static_cast<std::size_t>(ct.positions()), 0.0);
  dispatch_floating(dtype, [&]<class T>() {
    const T* x = static_cast<const T*>(log_probs.raw_data());
    const std::int64_t* t = cdata<std::int64_t>(ct.target);
    const Shape& st = log_probs.strides();
    const std::int64_t class_stride = st[static_cast<int>(ct.class_dim)];
    for (std::int64_t pos = 0; pos < ct.positions(); ++pos) {
      if (t[pos] == ignore_index) continue;
      // Offset of (n, t, j...) in log_probs' own strides.
      std::int64_t off = t[pos] * class_stride;
      if (ct.class_dim == 1) {
        off += (pos / ct.d) * st[0];
        std::int64_t j = pos % ct.d;
        for (int dim = log_probs.dim() - 1; dim >= 2; --dim) {
          off += (j % log_probs.sizes()[dim]) * st[dim];
          j /= log_probs.sizes()[dim];
        }
      }
      losses[pos] = -static_cast<double>(x[off]);
    }
  });
  Tensor out = reduce_losses(losses, reduction, ct.count, target.sizes(), dtype);
  if (autograd::needs_grad(log_probs)) {
    // d loss / d log_probs = −onehot·scale: constant in log_probs, linear in g.
    autograd::record("NllLossBackward", loc, {&log_probs}, out,
                     [ct = std::move(ct), reduction, ignore_index, shape = log_probs.sizes(), dtype](Node&, const Tensor& g) {
                       const Tensor onehot = target_distribution(ct, shape, -1.0, 0.0, ignore_index, dtype);
                       return GradList{mul(onehot, class_grad_scale(g, ct, reduction, ignore_index, dtype))};
                     });
  }
  return out;
}

// ---- pointwise losses ---------------------------------------------------------

namespace {

void check_pair(const char* op, const Tensor& input, const Tensor& target, const SourceLocation& loc) {
  detail::check_floating(input, op, loc);
  detail::check_floating(target, op, loc);
  if (input.dtype() != target.dtype())
    throw_error(op, "dtype mismatch: input " + detail::describe(input) + ", target " + detail::describe(target), loc);
  // Broadcasting a loss ([N, 1] against [N]) is almost always a bug, so shapes must agree.
  if (input.sizes() != target.sizes())
    throw_error(op, "input and target shapes differ: input " + detail::describe(input) + ", target " +
                        detail::describe(target),
                loc);
}

// Calls f(value) for every element of `t` (any strides).
template <class T, class F>
void for_each_value(const Tensor& t, F&& f) {
  const T* p = static_cast<const T*>(t.raw_data());
  std::array<Shape, 1> strides{t.strides()};
  cpu::detail::for_each_row<1>(t.sizes(), strides, [&](auto off, std::int64_t count, auto st) {
    for (std::int64_t i = 0; i < count; ++i) f(p[off[0] + i * st[0]]);
  });
}

// The loss of f(x, t) per element (computed in the tensors' dtype), reduced in
// double; one pass, no temporaries but the result.
template <class F>
Tensor pointwise_forward(const Tensor& input, const Tensor& target, Reduction reduction, F f) {
  const DType dtype = input.dtype();
  if (reduction == Reduction::None) {
    Tensor out = detail::make_tensor(input.sizes(), dtype);
    dispatch_floating(dtype, [&]<class T>() {
      cpu::map2<T, T, T>(out, input, target, [&](T x, T t) { return static_cast<T>(f(x, t)); });
    });
    return out;
  }
  double total = 0;
  dispatch_floating(dtype, [&]<class T>() {
    const T* px = static_cast<const T*>(input.raw_data());
    const T* pt = static_cast<const T*>(target.raw_data());
    if (input.is_contiguous() && target.is_contiguous()) {
      const std::int64_t n = input.numel();
      for (std::int64_t i = 0; i < n; ++i) total += static_cast<double>(f(px[i], pt[i]));
      return;
    }
    std::array<Shape, 2> strides{input.strides(), target.strides()};
    cpu::detail::for_each_row<2>(input.sizes(), strides, [&](auto off, std::int64_t count, auto st) {
      for (std::int64_t i = 0; i < count; ++i)
        total += static_cast<double>(f(px[off[0] + i * st[0]], pt[off[1] + i * st[1]]));
    });
  });
  if (reduction == Reduction::Mean) total /= static_cast<double>(input.numel());
  return scalar_of(total, dtype);
}

// Gradients of a pointwise loss without create_graph: one pass computing
// ∂f/∂x·scale and ∂f/∂t·scale per element (scale = g, or g/n for Mean).
template <class T, class DF>
void pointwise_grad_kernel(const Tensor& x, const Tensor& t, const Tensor& g, bool per_element, double factor,
                           T* dx, T* dt, DF df) {
  const T* px = cdata<T>(x);
  const T* pt = cdata<T>(t);
  const T* pg = cdata<T>(g);
  const T shared = static_cast<T>(static_cast<double>(pg[0]) * factor);
  const std::int64_t n = x.numel();
  for (std::int64_t i = 0; i < n; ++i) {
    const T s = per_element ? pg[i] : shared;
    const auto [a, b] = df(px[i], pt[i]);
    if (dx) dx[i] = a * s;
    if (dt) dt[i] = b * s;
  }
}

// Records a pointwise loss. `scalar_df(x, t)` gives {∂f/∂x, ∂f/∂t} for one
// element (the plain backward, fused); `tensor_df(x, t, need_x, need_t)` gives
// the same in public ops (the create_graph backward, differentiable again).
template <class SDF, class TDF>
void record_pointwise(const char* name, const SourceLocation& loc, const Tensor& input, const Tensor& target,
                      Tensor& out, Reduction reduction, SDF scalar_df, TDF tensor_df) {
  if (!autograd::needs_grad(input, target)) return;
  autograd::record(
      name, loc, {&input, &target}, out,
      [reduction, n = input.numel(), scalar_df, tensor_df, sx = SavedTensor(input, false),
       st = SavedTensor(target, false)](Node& self, const Tensor& g) {
        const bool need_x = self.needs_input_grad(0), need_t = self.needs_input_grad(1);
        const Tensor x = sx.unpack(self), t = st.unpack(self);
        if (autograd::is_grad_enabled()) {
          const Tensor scale = reduction == Reduction::Mean ? div(g, static_cast<double>(n)) : g;
          auto [dx, dt] = tensor_df(x, t, need_x, need_t);
          return GradList{need_x ? mul(dx, scale) : Tensor(), need_t ? mul(dt, scale) : Tensor()};
        }
        const DType dtype = x.dtype();
        Tensor dx = need_x ? detail::make_tensor(x.sizes(), dtype) : Tensor();
        Tensor dt = need_t ? detail::make_tensor(x.sizes(), dtype) : Tensor();
        const double factor = reduction == Reduction::Mean ? 1.0 / static_cast<double>(n) : 1.0;
        dispatch_floating(dtype, [&]<class T>() {
          pointwise_grad_kernel<T>(dense(x), dense(t), dense(g), reduction == Reduction::None, factor,
                                   need_x ? dx.data_ptr<T>() : nullptr, need_t ? dt.data_ptr<T>() : nullptr,
                                   scalar_df);
        });
        return GradList{dx, dt};
      });
}

constexpr double kLogClamp = -100.0;  // PyTorch's floor for log terms in binary_cross_entropy
constexpr double kInf = std::numeric_limits<double>::infinity();

template <class T>
T clamped_log(T v) {
  return std::max(std::log(v), static_cast<T>(kLogClamp));
}
template <class T>
T clamped_log1m(T v) {  // log(1 − v)
  return std::max(std::log1p(-v), static_cast<T>(kLogClamp));
}

}  // namespace

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction, SourceLocation loc) {
  check_pair("mse_loss", input, target, loc);
  Tensor out = pointwise_forward(input, target, reduction, [](auto x, auto t) {
    const auto d = x - t;
    return d * d;
  });
  record_pointwise(
      "MseLossBackward", loc, input, target, out, reduction,
      [](auto x, auto t) {
        const auto d = 2 * (x - t);
        return std::pair{d, -d};
      },
      [](const Tensor& x, const Tensor& t, bool, bool need_t) {
        const Tensor dx = mul(sub(x, t), 2.0);
        return std::pair{dx, need_t ? neg(dx) : Tensor()};
      });
  return out;
}

Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction, SourceLocation loc) {
  check_pair("l1_loss", input, target, loc);
  Tensor out = pointwise_forward(input, target, reduction, [](auto x, auto t) { return std::abs(x - t); });
  record_pointwise(
      "L1LossBackward", loc, input, target, out, reduction,
      [](auto x, auto t) {
        using T = decltype(x);
        const T s = static_cast<T>((x > t) - (x < t));
        return std::pair{s, -s};
      },
      [](const Tensor& x, const Tensor& t, bool, bool need_t) {
        const Tensor dx = sign(sub(x, t));
        return std::pair{dx, need_t ? neg(dx) : Tensor()};
      });
  return out;
}

Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, Reduction reduction, SourceLocation loc) {
  constexpr const char* op = "binary_cross_entropy";
  check_pair(op, input, target, loc);
  dispatch_floating(input.dtype(), [&]<class T>() {
    for_each_value<T>(input, [&](T p) {
      if (!(p >= T(0) && p <= T(1)))
        throw_error(op,
                    "input holds probabilities and must lie in [0, 1], found " + std::to_string(static_cast<double>(p)) +
                        " in " + detail::describe(input) + " (pass logits to binary_cross_entropy_with_logits)",
                    loc);
    });
  });
  Tensor out = pointwise_forward(input, target, reduction,
                                 [](auto p, auto t) { return -(t * clamped_log(p) + (1 - t) * clamped_log1m(p)); });
  record_pointwise(
      "BinaryCrossEntropyBackward", loc, input, target, out, reduction,
      [](auto p, auto t) {
        // ∂/∂p = (p − t) / (p·(1 − p)), the denominator floored at 1e-12 as PyTorch does.
        using T = decltype(p);
        return std::pair{(p - t) / std::max(p * (1 - p), static_cast<T>(1e-12)), clamped_log1m(p) - clamped_log(p)};
      },
      [](const Tensor& p, const Tensor& t, bool need_x, bool need_t) {
        Tensor dx, dt;
        if (need_x) dx = div(sub(p, t), clamp(mul(p, sub(1.0, p)), 1e-12, kInf));
        if (need_t) dt = sub(clamp(log(sub(1.0, p)), kLogClamp, kInf), clamp(log(p), kLogClamp, kInf));
        return std::pair{dx, dt};
      });
  return out;
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target, Reduction reduction,
                                        SourceLocation loc) {
  check_pair("binary_cross_entropy_with_logits", logits, target, loc);
  // max(x, 0) − x·t + log(1 + exp(−|x|)): no exp of a positive number, no log of 0.
  Tensor out = pointwise_forward(logits, target, reduction, [](auto x, auto t) {
    using T = decltype(x);
    return std::max(x, T(0)) - x * t + std::log1p(std::exp(-std::abs(x)));
  });
  record_pointwise(
      "BinaryCrossEntropyWithLogitsBackward", loc, logits, target, out, reduction,
      [](auto x, auto t) {
        // sigmoid(x) in the form that never overflows exp.
        using T = decltype(x);
        const T e = std::exp(-std::abs(x));
        const T sig = x >= 0 ? 1 / (1 + e) : e / (1 + e);
        return std::pair{sig - t, -x};
      },
      [](const Tensor& x, const Tensor& t, bool need_x, bool need_t) {
        return std::pair{need_x ? sub(sigmoid(x), t) : Tensor(), need_t ? neg(x) : Tensor()};
      });
  return out;
}

}  // namespace cr::nn::functional
