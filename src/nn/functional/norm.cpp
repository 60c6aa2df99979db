// batch_norm and layer_norm.
//
// Forward: fused kernels. Statistics are accumulated in double, in one pass,
// shifted by the group's first element (so a large mean does not cancel the
// variance away); the output is then written in a second pass as x·a + b with
// a and b folded per channel (batch_norm) or per row (layer_norm).
//
// Backward: two paths giving the same values.
//  - Plain backward (no create_graph): a fused kernel, one pass for the
//    per-group sums Σg and Σg·(x−μ), one for dx.
//  - With create_graph: the same formula written in public ops, recomputing
//    the statistics from x, so the gradient is itself differentiable.
//
// With x̂ = (x − μ)·σ⁻¹ and ĝ = g·w, the gradient over a group of M elements is
//   dx = σ⁻¹·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)),   dw = Σ g·x̂,   db = Σ g
// (in eval mode batch_norm's μ, σ are constants: dx = ĝ·σ⁻¹).

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "backend/cpu/loops.h"
#include "chainrule/autograd/record.h"
#include "chainrule/core/factories.h"
#include "chainrule/nn/functional.h"
#include "chainrule/ops/elementwise.h"
#include "chainrule/ops/reduction.h"
#include "core/tensor_internal.h"

namespace cr::nn::functional {

using autograd::GradList;
using autograd::Node;
using autograd::SavedTensor;

namespace {

// Mean and biased variance of n values at p[0], p[stride], ..., in double.
struct Moments {
  double mean = 0, var = 0;
};

// Running shifted sums for one group: Σ(v−K) and Σ(v−K)² with K its first value.
struct ShiftedSums {
  double shift = 0, s1 = 0, s2 = 0;
  template <class T>
  void add_block(const T* p, std::int64_t n) {
    const double k = shift;
    double a = 0, b = 0;
#pragma omp simd reduction(+ : a, b)
    for (std::int64_t i = 0; i < n; ++i) {
      const double d = static_cast<double>(p[i]) - k;
      a += d;
      b += d * d;
    }
    s1 += a;
    s2 += b;
  }
  Moments finish(std::int64_t count) const {
    const double m = s1 / static_cast<double>(count);
    Moments r;
    r.mean = shift + m;
    r.var = std::max(0.0, s2 / static_cast<double>(count) - m * m);
    return r;
  }
};

// A tensor's data, made contiguous if it is not (no history: kernels only).
Tensor dense(const Tensor& t) { return t.is_contiguous() ? t : t.detach().contiguous(); }

template <class T>
const T* cdata(const Tensor& t) {
  return static_cast<const T*>(t.raw_data());
}

// ---- batch_norm kernels: input viewed as [N, C, S] ---------------------------

struct Channels {
  std::int64_t n, c, s;
  std::int64_t per_channel() const { return n * s; }
  std::int64_t numel() const { return n * c * s; }
  bool parallel() const { return c > 1 && numel() > cpu::kParallelGrain; }
};

template <class T>
void channel_moments(const T* x, const Channels& L, std::vector<Moments>& out) {
  out.assign(static_cast<std::size_t>(L.c), {});
  if (L.s == 1) {  // [N, C]: walk rows, accumulating every channel at once
    std::vector<ShiftedSums> sums(static_cast<std::size_t>(L.c));
    for (std::int64_t c = 0; c < L.c; ++c) sums[c].shift = x[c];
    for (std::int64_t n = 0; n < L.n; ++n) {
      const T* row = x + n * L.c;
      for (std::int64_t c = 0; c < L.c; ++c) {
        const double d = static_cast<double>(row[c]) - sums[c].shift;
        sums[c].s1 += d;
        sums[c].s2 += d * d;
      }
    }
    for (std::int64_t c = 0; c < L.c; ++c) out[c] = sums[c].finish(L.n);
    return;
  }
  cpu::parallel_for(L.c, L.parallel(), [&](std::int64_t c) {
    ShiftedSums sums;
    sums.shift = x[c * L.s];
    for (std::int64_t n = 0; n < L.n; ++n) sums.add_block(x + (n * L.c + c) * L.s, L.s);
    out[c] = sums.finish(L.per_channel());
  });
}

// y = x·scale[c] + shift[c].
template <class T>
void channel_affine(const T* x, T* y, const Channels& L, const std::vector<double>& scale,
                    const std::vector<double>& shift) {
  if (L.s == 1) {
    std::vector<T> a(scale.begin(), scale.end()), b(shift.begin(), shift.end());
    for (std::int64_t n = 0; n < L.n; ++n) {
      const T* px = x + n * L.c;
      T* py = y + n * L.c;
#pragma omp simd
      for (std::int64_t c = 0; c < L.c; ++c) py[c] = px[c] * a[c] + b[c];
    }
    return;
  }
  cpu::parallel_for(L.c, L.parallel(), [&](std::int64_t c) {
    const T a = static_cast<T>(scale[c]), b = static_cast<T>(shift[c]);
    for (std::int64_t n = 0; n < L.n; ++n) {
      const std::int64_t off = (n * L.c + c) * L.s;
      const T* px = x + off;
      T* py = y + off;
#pragma omp simd
      for (std::int64_t i = 0; i < L.s; ++i) py[i] = px[i] * a + b;
    }
  });
}

// Per channel Σg and Σg·(x−μ).
template <class T>
void channel_grad_sums(const T* g, const T* x, const Channels& L, const std::vector<double>& mean,
                       std::vector<double>& sum_g, std::vector<double>& sum_gxc) {
  sum_g.assign(static_cast<std::size_t>(L.c), 0.0);
  sum_gxc.assign(static_cast<std::size_t>(L.c), 0.0);
  if (L.s == 1) {
    for (std::int64_t n = 0; n < L.n; ++n)
      for (std::int64_t c = 0; c < L.c; ++c) {
        const double gv = g[n * L.c + c];
        sum_g[c] += gv;
        sum_gxc[c] += gv * (static_cast<double>(x[n * L.c + c]) - mean[c]);
      }
    return;
  }
  cpu::parallel_for(L.c, L.parallel(), [&](std::int64_t c) {
    const double mu = mean[c];
    double a = 0, b = 0;
    for (std::int64_t n = 0; n < L.n; ++n) {
      const std::int64_t off = (n * L.c + c) * L.s;
      const T* pg = g + off;
      const T* px = x + off;
#pragma omp simd reduction(+ : a, b)
      for (std::int64_t i = 0; i < L.s; ++i) {
        const double gv = pg[i];
        a += gv;
        b += gv * (static_cast<double>(px[i]) - mu);
      }
    }
    sum_g[c] = a;
    sum_gxc[c] = b;
  });
}

// dx = g·ka[c] + x·kb[c] + kc[c].
template <class T>
void channel_grad_input(const T* g, const T* x, T* dx, const Channels& L, const std::vector<double>& ka,
                        const std::vector<double>& kb, const std::vector<double>& kc) {
  if (L.s == 1) {
    std::vector<T> a(ka.begin(), ka.end()), b(kb.begin(), kb.end()), c0(kc.begin(), kc.end());
    for (std::int64_t n = 0; n < L.n; ++n) {
      const std::int64_t off = n * L.c;
#pragma omp simd
      for (std::int64_t c = 0; c < L.c; ++c) dx[off + c] = g[off + c] * a[c] + x[off + c] * b[c] + c0[c];
    }
    return;
  }
  cpu::parallel_for(L.c, L.parallel(), [&](std::int64_t c) {
    const T a = static_cast<T>(ka[c]), b = static_cast<T>(kb[c]), c0 = static_cast<T>(kc[c]);
    for (std::int64_t n = 0; n < L.n; ++n) {
      const std::int64_t off = (n * L.c + c) * L.s;
#pragma omp simd
      for (std::int64_t i = 0; i < L.s; ++i) dx[off + i] = g[off + i] * a + x[off + i] * b + c0;
    }
  });
}

std::vector<double> to_doubles(const Tensor& t) {
  std::vector<double> v(static_cast<std::size_t>(t.numel()));
  if (!t.defined()) return v;
  Tensor c = dense(t);
  dispatch_floating(c.dtype(), [&]<class T>() {
    const T* p = cdata<T>(c);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(p[i]);
  });
  return v;
}

Tensor from_doubles(const std::vector<double>& v, DType dtype) {
  Tensor t = detail::make_tensor(Shape{static_cast<std::int64_t>(v.size())}, dtype);
  dispatch_floating(dtype, [&]<class T>() {
    T* p = t.data_ptr<T>();
    for (std::size_t i = 0; i < v.size(); ++i) p[i] = static_cast<T>(v[i]);
  });
  return t;
}

// The dims batch_norm reduces over: all but dim 1.
std::vector<std::int64_t> batch_norm_dims(std::int64_t ndim) {
  std::vector<std::int64_t> dims{0};
  for (std::int64_t d = 2; d < ndim; ++d) dims.push_back(d);
  return dims;
}

// Shape [1, C, 1, ...] that broadcasts a per-channel [C] tensor against the input.
Shape channel_shape(std::int64_t c, std::int64_t ndim) {
  Shape s;
  s.resize(static_cast<int>(ndim), 1);
  s[1] = c;
  return s;
}

void check_per_channel(const Tensor& t, const char* what, const Tensor& input, std::int64_t c,
                       const SourceLocation& loc) {
  if (!t.defined()) return;
  if (t.dim() != 1 || t.sizes()[0] != c)
    throw_error("batch_norm",
                std::string(what) + " must be 1-D of " + std::to_string(c) + " elements (the channels of input " +
                    detail::describe(input) + "), got " + detail::describe(t),
                loc);
  if (t.dtype() != input.dtype())
    throw_error("batch_norm",
                std::string("dtype mismatch: ") + what + " " + detail::describe(t) + " for input " +
                    detail::describe(input),
                loc);
}

}  // namespace

Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, double momentum, double eps,
                  SourceLocation loc) {
  constexpr const char* op = "batch_norm";
  detail::check_floating(input, op, loc);
  if (input.dim() < 2)
    throw_error(op, "expects input [N, C] or [N, C, ...], got " + detail::describe(input), loc);
  const std::int64_t ndim = input.dim();
  Channels L{input.sizes()[0], input.sizes()[1], 1};
  for (std::int64_t d = 2; d < ndim; ++d) L.s *= input.sizes()[d];
  check_per_channel(weight, "weight", input, L.c, loc);
  check_per_channel(bias, "bias", input, L.c, loc);
  check_per_channel(running_mean, "running_mean", input, L.c, loc);
  check_per_channel(running_var, "running_var", input, L.c, loc);
  if (running_mean.defined() != running_var.defined())
    throw_error(op, "running_mean and running_var must both be given or both be undefined", loc);
  if (!training && !running_mean.defined())
    throw_error(op, "evaluation mode (training=false) needs running_mean and running_var", loc);
  if (training && L.per_channel() <= 1)
    throw_error(op, "expected more than 1 value per channel when training, got input " + detail::describe(input),
                loc);
  if (eps < 0) throw_error(op, "eps must be non-negative, got " + std::to_string(eps), loc);

  const DType dtype = input.dtype();
  const Tensor x = dense(input);
  std::vector<double> mean(static_cast<std::size_t>(L.c)), invstd(static_cast<std::size_t>(L.c));
  if (training) {
    std::vector<Moments> moments;
    if (L.numel() > 0) dispatch_floating(dtype, [&]<class T>() { channel_moments<T>(cdata<T>(x), L, moments); });
    std::vector<double> unbiased(static_cast<std::size_t>(L.c));
    const double m = static_cast<double>(L.per_channel());
    for (std::int64_t c = 0; c < L.c; ++c) {
      mean[c] = moments[c].mean;
      invstd[c] = 1.0 / std::sqrt(moments[c].var + eps);
      unbiased[c] = moments[c].var * m / (m - 1);
    }
    if (running_mean.defined()) {
      NoGradGuard no_grad;
      Tensor rm = running_mean, rv = running_var;
      rm.mul_(1.0 - momentum, loc).add_(from_doubles(mean, dtype), momentum, loc);
      rv.mul_(1.0 - momentum, loc).add_(from_doubles(unbiased, dtype), momentum, loc);
    }
  } else {
    mean = to_doubles(running_mean);
    const std::vector<double> var = to_doubles(running_var);
    for (std::int64_t c = 0; c < L.c; ++c) invstd[c] = 1.0 / std::sqrt(var[c] + eps);
  }

  const std::vector<double> w = weight.defined() ? to_doubles(weight) : std::vector<double>(L.c, 1.0);
  const std::vector<double> b = bias.defined() ? to_doubles(bias) : std::vector<double>(L.c, 0.0);
  std::vector<double> scale(static_cast<std::size_t>(L.c)), shift(static_cast<std::size_t>(L.c));
  for (std::int64_t c = 0; c < L.c; ++c) {
    scale[c] = w[c] * invstd[c];
    shift[c] = b[c] - mean[c] * scale[c];
  }
  Tensor out = detail::make_tensor(input.sizes(), dtype);
  if (L.numel() > 0)
    dispatch_floating(dtype, [&]<class T>() { channel_affine<T>(cdata<T>(x), out.data_ptr<T>(), L, scale, shift); });

  if (autograd::needs_grad(input) || autograd::needs_grad(weight, bias)) {
    autograd::record(
        "BatchNormBackward", loc, {&input, &weight, &bias}, out,
        [L, ndim, training, eps, mean = std::move(mean), invstd = std::move(invstd), sx = SavedTensor(input, false),
         sw = SavedTensor(weight, false)](Node& self, const Tensor& g) {
          const Tensor xv = sx.unpack(self), wv = sw.unpack(self);
          const bool need_x = self.needs_input_grad(0), need_w = self.needs_input_grad(1),
                     need_b = self.needs_input_grad(2);
          const std::vector<std::int64_t> dims = batch_norm_dims(ndim);
          const Shape cshape = channel_shape(L.c, ndim);

          if (autograd::is_grad_enabled()) {  // create_graph: differentiable formula
            Tensor xhat, invstd_b;
            if (training) {
              Tensor xc = sub(xv, cr::mean(xv, dims, true));
              invstd_b = rsqrt(add(cr::mean(mul(xc, xc), dims, true), eps));
              xhat = mul(xc, invstd_b);
            } else {
              invstd_b = from_doubles(invstd, xv.dtype()).reshape(cshape);
              xhat = mul(sub(xv, from_doubles(mean, xv.dtype()).reshape(cshape)), invstd_b);
            }
            const Tensor ghat = wv.defined() ? mul(g, wv.reshape(cshape)) : g;
            Tensor gx;
            if (need_x) {
              gx = training ? mul(invstd_b, sub(sub(ghat, cr::mean(ghat, dims, true)),
                                                mul(xhat, cr::mean(mul(ghat, xhat), dims, true))))
                            : mul(ghat, invstd_b);
            }
            return GradList{gx, need_w ? sum(mul(g, xhat), dims) : Tensor(), need_b ? sum(g, dims) : Tensor()};
          }

          // Plain backward: fused kernels.
          const Tensor x = dense(xv), gd = dense(g);
          const DType dtype = x.dtype();
          const std::vector<double> w = wv.defined() ? to_doubles(wv) : std::vector<double>(L.c, 1.0);
          std::vector<double> sum_g(static_cast<std::size_t>(L.c), 0.0), sum_gxc(static_cast<std::size_t>(L.c), 0.0);
          const bool need_sums = need_w || need_b || (need_x && training);
          if (need_sums && L.numel() > 0)
            dispatch_floating(dtype, [&]<class T>() { channel_grad_sums<T>(cdata<T>(gd), cdata<T>(x), L, mean, sum_g, sum_gxc); });
          Tensor gx;
          if (need_x) {
            const double m = static_cast<double>(L.per_channel());
            std::vector<double> ka(L.c), kb(L.c, 0.0), kc(L.c, 0.0);
            for (std::int64_t c = 0; c < L.c; ++c) {
              ka[c] = w[c] * invstd[c];
              if (training) {
                // dx = ka·(g − Σg/M) − ka·σ⁻²·(x−μ)·Σg(x−μ)/M
                kb[c] = -ka[c] * invstd[c] * invstd[c] * sum_gxc[c] / m;
                kc[c] = -ka[c] * sum_g[c] / m - kb[c] * mean[c];
              }
            }
            gx = detail::make_tensor(x.sizes(), dtype);
            if (L.numel() > 0)
              dispatch_floating(dtype, [&]<class T>() {
                channel_grad_input<T>(cdata<T>(gd), cdata<T>(x), gx.data_ptr<T>(), L, ka, kb, kc);
              });
          }
          Tensor gw, gb;
          if (need_w) {
            std::vector<double> v(L.c);
            for (std::int64_t c = 0; c < L.c; ++c) v[c] = sum_gxc[c] * invstd[c];
            gw = from_doubles(v, dtype);
          }
          if (need_b) gb = from_doubles(sum_g, dtype);
          return GradList{gx, gw, gb};
        });
  }
  return out;
}

// ---- layer_norm: input viewed as [R, D] with D the normalized elements -------

namespace {

struct Rows {
  std::int64_t r, d;
  bool parallel() const { return r > 1 && r * d > cpu::kParallelGrain; }
};

// Per row: mean and 1/σ; y = (x − μ)·σ⁻¹·w + b.
template <class T>
void layer_norm_rows(const T* x, T* y, const Rows& L, const T* w, const T* b, double eps, double* mean,
                     double* invstd) {
  cpu::parallel_for(L.r, L.parallel(), [&](std::int64_t r) {
    const T* px = x + r * L.d;
    T* py = y + r * L.d;
    ShiftedSums sums;
    sums.shift = px[0];
    sums.add_block(px, L.d);
    const Moments m = sums.finish(L.d);
    const double is = 1.0 / std::sqrt(m.var + eps);
    mean[r] = m.mean;
    invstd[r] = is;
    const T mu = static_cast<T>(m.mean), s = static_cast<T>(is);
    if (w && b) {
#pragma omp simd
      for (std::int64_t i = 0; i < L.d; ++i) py[i] = (px[i] - mu) * s * w[i] + b[i];
    } else if (w) {
#pragma omp simd
      for (std::int64_t i = 0; i < L.d; ++i) py[i] = (px[i] - mu) * s * w[i];
    } else if (b) {
#pragma omp simd
      for (std::int64_t i = 0; i < L.d; ++i) py[i] = (px[i] - mu) * s + b[i];
    } else {
#pragma omp simd
      for (std::int64_t i = 0; i < L.d; ++i) py[i] = (px[i] - mu) * s;
    }
  });
}

// dx per row, from ĝ = g·w: σ⁻¹·(ĝ − Σĝ/D − (x−μ)·σ⁻²·Σĝ(x−μ)/D).
template <class T>
void layer_norm_grad_input(const T* g, const T* x, const T* w, T* dx, const Rows& L, const double* mean,
                           const double* invstd) {
  cpu::parallel_for(L.r, L.parallel(), [&](std::int64_t r) {
    const T* pg = g + r * L.d;
    const T* px = x + r * L.d;
    T* pd = dx + r * L.d;
    const double mu = mean[r], is = invstd[r];
    double s1 = 0, s2 = 0;
    if (w) {  // two loops: a branch inside would keep the reduction from vectorising
#pragma omp simd reduction(+ : s1, s2)
      for (std::int64_t i = 0; i < L.d; ++i) {
        const double gh = static_cast<double>(pg[i]) * static_cast<double>(w[i]);
        s1 += gh;
        s2 += gh * (static_cast<double>(px[i]) - mu);
      }
    } else {
#pragma omp simd reduction(+ : s1, s2)
      for (std::int64_t i = 0; i < L.d; ++i) {
        const double gh = static_cast<double>(pg[i]);
        s1 += gh;
        s2 += gh * (static_cast<double>(px[i]) - mu);
      }
    }
    const double dd = static_cast<double>(L.d);
    // dx = ĝ·is + x·kb + kc
    const T ka = static_cast<T>(is);
    const double kb_d = -is * is * is * s2 / dd;
    const T kb = static_cast<T>(kb_d), kc = static_cast<T>(-is * s1 / dd - kb_d * mu);
    if (w) {
#pragma omp simd
      for (std::int64_t i = 0; i < L.d; ++i) pd[i] = pg[i] * w[i] * ka + px[i] * kb + kc;
    } else {
#pragma omp simd
      for (std::int64_t i = 0; i < L.d; ++i) pd[i] = pg[i] * ka + px[i] * kb + kc;
    }
  });
}

// dw[i] = Σ_rows g·x̂ and db[i] = Σ_rows g (either output may be null).
template <class T>
void layer_norm_grad_affine(const T* g, const T* x, const Rows& L, const double* mean, const double* invstd,
                            double* dw, double* db) {
  for (std::int64_t r = 0; r < L.r; ++r) {
    const T* pg = g + r * L.d;
    const T* px = x + r * L.d;
    const double mu = mean[r], is = invstd[r];
    if (dw) {
#pragma omp simd
      for (std::int64_t i = 0; i < L.d; ++i) dw[i] += static_cast<double>(pg[i]) * (static_cast<double>(px[i]) - mu) * is;
    }
    if (db) {
#pragma omp simd
      for (std::int64_t i = 0; i < L.d; ++i) db[i] += static_cast<double>(pg[i]);
    }
  }
}

Tensor shaped_from_doubles(const std::vector<double>& v, const Shape& shape, DType dtype) {
  Tensor t = from_doubles(v, dtype);
  t.impl()->sizes = shape;
  t.impl()->strides = contiguous_strides(shape);
  return t;
}

}  // namespace

Tensor layer_norm(const Tensor& input, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps, SourceLocation loc) {
  constexpr const char* op = "layer_norm";
  detail::check_floating(input, op, loc);
  const int k = normalized_shape.size();
  bool matches = k > 0 && k <= input.dim();
  for (int i = 0; matches && i < k; ++i) matches = input.sizes()[input.dim() - k + i] == normalized_shape[i];
  if (!matches)
    throw_error(op,
                "normalized_shape " + normalized_shape.str() + " must be non-empty and match the trailing dims of input " +
                    detail::describe(input),
                loc);
  for (const Tensor* t : {&weight, &bias}) {
    if (!t->defined()) continue;
    const char* what = t == &weight ? "weight" : "bias";
    if (t->sizes() != normalized_shape)
      throw_error(op,
                  std::string(what) + " must have normalized_shape " + normalized_shape.str() + ", got " +
                      detail::describe(*t),
                  loc);
    if (t->dtype() != input.dtype())
      throw_error(op,
                  std::string("dtype mismatch: ") + what + " " + detail::describe(*t) + " for input " +
                      detail::describe(input),
                  loc);
  }
  if (eps < 0) throw_error(op, "eps must be non-negative, got " + std::to_string(eps), loc);

  const DType dtype = input.dtype();
  const Rows L{input.numel() / std::max<std::int64_t>(1, normalized_shape.numel()), normalized_shape.numel()};
  const Tensor x = dense(input);
  const Tensor w = weight.defined() ? dense(weight) : Tensor(), b = bias.defined() ? dense(bias) : Tensor();
  std::vector<double> mean(static_cast<std::size_t>(L.r)), invstd(static_cast<std::size_t>(L.r));
  Tensor out = detail::make_tensor(input.sizes(), dtype);
  if (input.numel() > 0)
    dispatch_floating(dtype, [&]<class T>() {
      layer_norm_rows<T>(cdata<T>(x), out.data_ptr<T>(), L, w.defined() ? cdata<T>(w) : nullptr,
                         b.defined() ? cdata<T>(b) : nullptr, eps, mean.data(), invstd.data());
    });

  if (autograd::needs_grad(input) || autograd::needs_grad(weight, bias)) {
    autograd::record(
        "LayerNormBackward", loc, {&input, &weight, &bias}, out,
        [L, k, eps, normalized_shape, mean = std::move(mean), invstd = std::move(invstd),
         sx = SavedTensor(input, false), sw = SavedTensor(weight, false)](Node& self, const Tensor& g) {
          const Tensor xv = sx.unpack(self), wv = sw.unpack(self);
          const bool need_x = self.needs_input_grad(0), need_w = self.needs_input_grad(1),
                     need_b = self.needs_input_grad(2);

          if (autograd::is_grad_enabled()) {  // create_graph: differentiable formula
            std::vector<std::int64_t> dims;
            for (int i = 0; i < k; ++i) dims.push_back(xv.dim() - k + i);
            const Tensor xc = sub(xv, cr::mean(xv, dims, true));
            const Tensor is = rsqrt(add(cr::mean(mul(xc, xc), dims, true), eps));
            const Tensor xhat = mul(xc, is);
            const Tensor ghat = wv.defined() ? mul(g, wv) : g;
            Tensor gx;
            if (need_x)
              gx = mul(is, sub(sub(ghat, cr::mean(ghat, dims, true)), mul(xhat, cr::mean(mul(ghat, xhat), dims, true))));
            // The engine sums dw and db over the leading dims.
            return GradList{gx, need_w ? mul(g, xhat) : Tensor(), need_b ? g : Tensor()};
          }

          const Tensor x = dense(xv), gd = dense(g), w = wv.defined() ? dense(wv) : Tensor();
          const DType dtype = x.dtype();
          Tensor gx, gw, gb;
          std::vector<double> dw(need_w ? L.d : 0, 0.0), db(need_b ? L.d : 0, 0.0);
          if (need_x) gx = detail::make_tensor(x.sizes(), dtype);
          if (x.numel() > 0)
            dispatch_floating(dtype, [&]<class T>() {
              if (need_x)
                layer_norm_grad_input<T>(cdata<T>(gd), cdata<T>(x), w.defined() ? cdata<T>(w) : nullptr,
                                         gx.data_ptr<T>(), L, mean.data(), invstd.data());
              if (need_w || need_b)
                layer_norm_grad_affine<T>(cdata<T>(gd), cdata<T>(x), L, mean.data(), invstd.data(),
                                          need_w ? dw.data() : nullptr, need_b ? db.data() : nullptr);
            });
          if (need_w) gw = shaped_from_doubles(dw, normalized_shape, dtype);
          if (need_b) gb = shaped_from_doubles(db, normalized_shape, dtype);
          return GradList{gx, gw, gb};
        });
  }
  return out;
}

}  // namespace cr::nn::functional
