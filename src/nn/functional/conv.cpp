// conv2d and its two gradients. A convolution is bilinear in (input, weight),
// so its whole derivative family closes over three differentiable ops:
//
//   y  = conv(x, w)               forward
//   gx = conv_input_backward(g, w)   the adjoint of conv(·, w)
//   gw = conv_weight_backward(x, g)  the adjoint of conv(x, ·)
//
// and the backward rule of each is written with the other two, so gradients
// of gradients (create_graph) come out of the same three kernels.

#include <string>

#include "backend/cpu/conv.h"
#include "chainrule/autograd/record.h"
#include "chainrule/core/factories.h"
#include "chainrule/nn/functional.h"
#include "core/tensor_internal.h"

namespace cr::nn::functional {

using autograd::GradList;
using autograd::Node;
using autograd::SavedTensor;

namespace {

// Everything about a convolution except its operands' sizes.
struct ConvParams {
  std::int64_t stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, groups;
};

// Input and output extents of one convolution of x [N, C_in, H, W] by a
// weight [C_out, C_in / groups, kH, kW].
cpu::Conv2dShape conv_shape(const Shape& x, const Shape& w, std::int64_t h_out, std::int64_t w_out,
                            const ConvParams& p) {
  cpu::Conv2dShape s;
  s.n = x[0], s.c_in = x[1], s.h = x[2], s.w = x[3];
  s.c_out = w[0], s.kh = w[2], s.kw = w[3];
  s.stride_h = p.stride_h, s.stride_w = p.stride_w, s.pad_h = p.pad_h, s.pad_w = p.pad_w;
  s.dil_h = p.dil_h, s.dil_w = p.dil_w, s.groups = p.groups;
  s.h_out = h_out, s.w_out = w_out;
  return s;
}

std::int64_t conv_out_size(std::int64_t in, std::int64_t k, std::int64_t stride, std::int64_t pad,
                           std::int64_t dil) {
  const std::int64_t span = in + 2 * pad - dil * (k - 1) - 1;
  return span < 0 ? 0 : span / stride + 1;
}

// A contiguous tensor with x's data and no history: what the kernels read.
Tensor dense(const Tensor& x) { return x.detach().contiguous(); }

Tensor convolve(const Tensor& x, const Tensor& w, const Tensor& b, const ConvParams& p, const SourceLocation& loc);
Tensor conv_input_backward(const Tensor& grad_y, const Tensor& w, std::int64_t h, std::int64_t wd,
                           const ConvParams& p, const SourceLocation& loc);
Tensor conv_weight_backward(const Tensor& x, const Tensor& grad_y, std::int64_t kh, std::int64_t kw,
                            const ConvParams& p, const SourceLocation& loc);

// Each gradient kernel's result is itself differentiable (for create_graph);
// these attach the node that says how, to a gradient already computed.

// gb = grad_y summed over images and positions: its backward spreads the
// incoming gradient back over those positions.
void record_bias_backward(Tensor& gb, const Tensor& grad_y, const SourceLocation& loc) {
  if (!autograd::needs_grad(grad_y)) return;
  const Shape gs = grad_y.sizes();
  autograd::record("ConvolutionBackwardBiasBackward", loc, {&grad_y}, gb, [gs](Node&, const Tensor& gg) {
    return GradList{gg.reshape({1, gs[1], 1, 1}).expand(gs)};
  });
}

// gx = the adjoint of conv(·, w) applied to grad_y.
// <gg, A_w(g)> = <conv(gg, w), g> = <conv_weight_backward(gg, g), w>.
void record_input_backward(Tensor& gx, const Tensor& grad_y, const Tensor& w, const ConvParams& p,
                           const SourceLocation& loc) {
  if (!autograd::needs_grad(grad_y, w)) return;
  autograd::record("ConvolutionBackwardInputBackward", loc, {&grad_y, &w}, gx,
                   [p, loc, sg = SavedTensor(grad_y, false), sw = SavedTensor(w, false)](Node& self,
                                                                                        const Tensor& gg) {
                     const Tensor vg = sg.unpack(self), vw = sw.unpack(self);
                     return GradList{
                         self.needs_input_grad(0) ? convolve(gg, vw, Tensor(), p, loc) : Tensor(),
                         self.needs_input_grad(1)
                             ? conv_weight_backward(gg, vg, vw.sizes()[2], vw.sizes()[3], p, loc)
                             : Tensor()};
                   });
}

// gw = Σ over images of grad_y ⋆ x.
// <gg, B_x(g)> = <conv(x, gg), g> = <x, conv_input_backward(g, gg)>.
void record_weight_backward(Tensor& gw, const Tensor& x, const Tensor& grad_y, const ConvParams& p,
                            const SourceLocation& loc) {
  if (!autograd::needs_grad(x, grad_y)) return;
  autograd::record("ConvolutionBackwardWeightBackward", loc, {&x, &grad_y}, gw,
                   [p, loc, sx = SavedTensor(x, false), sg = SavedTensor(grad_y, false)](Node& self,
                                                                                        const Tensor& gg) {
                     const Tensor vx = sx.unpack(self), vg = sg.unpack(self);
                     return GradList{
                         self.needs_input_grad(0)
                             ? conv_input_backward(vg, gg, vx.sizes()[2], vx.sizes()[3], p, loc)
                             : Tensor(),
                         self.needs_input_grad(1) ? convolve(vx, gg, Tensor(), p, loc) : Tensor()};
                   });
}

// A tensor's data for a kernel, or null for an operand it does not need.
template <class T>
T* data_or_null(Tensor& t) {
  return t.defined() ? t.data_ptr<T>() : nullptr;
}

// The gradients of y = conv(x, w) + b that `self` needs, from one backward
// pass over grad_y (which lets oneDNN reorder grad_y once for both products
// and sum the bias gradient on the way).
GradList convolution_backward(Node& self, const Tensor& grad_y, const Tensor& x, const Tensor& w,
                              const ConvParams& p, const SourceLocation& loc) {
  const bool need_x = self.needs_input_grad(0), need_w = self.needs_input_grad(1), need_b = self.needs_input_grad(2);
  const cpu::Conv2dShape s = conv_shape(x.sizes(), w.sizes(), grad_y.sizes()[2], grad_y.sizes()[3], p);
  const DType dtype = grad_y.dtype();
  Tensor gx = need_x ? detail::make_tensor(x.sizes(), dtype) : Tensor();
  Tensor gw = need_w ? detail::make_tensor(w.sizes(), dtype) : Tensor();
  Tensor gb = need_b ? detail::make_tensor({s.c_out}, dtype) : Tensor();
  {
    Tensor gc = dense(grad_y), xc = need_w ? dense(x) : Tensor(), wc = need_x ? dense(w) : Tensor();
    dispatch_floating(dtype, [&]<class T>() {
      cpu::conv2d_backward<T>(s, data_or_null<T>(xc), gc.data_ptr<T>(), data_or_null<T>(wc), data_or_null<T>(gx),
                              data_or_null<T>(gw), data_or_null<T>(gb));
    });
  }
  if (need_x) record_input_backward(gx, grad_y, w, p, loc);
  if (need_w) record_weight_backward(gw, x, grad_y, p, loc);
  if (need_b) record_bias_backward(gb, grad_y, loc);
  return {gx, gw, gb};
}

// y = conv(x, w) + b for checked 4-D operands; b may be undefined.
Tensor convolve(const Tensor& x, const Tensor& w, const Tensor& b, const ConvParams& p, const SourceLocation& loc) {
  const std::int64_t h_out = conv_out_size(x.sizes()[2], w.sizes()[2], p.stride_h, p.pad_h, p.dil_h);
  const std::int64_t w_out = conv_out_size(x.sizes()[3], w.sizes()[3], p.stride_w, p.pad_w, p.dil_w);
  const cpu::Conv2dShape s = conv_shape(x.sizes(), w.sizes(), h_out, w_out, p);
  Tensor y = detail::make_tensor({s.n, s.c_out, h_out, w_out}, x.dtype());
  {
    Tensor xc = dense(x), wc = dense(w), bc = b.defined() ? dense(b) : Tensor();
    dispatch_floating(x.dtype(), [&]<class T>() {
      cpu::conv2d_forward<T>(s, xc.data_ptr<T>(), wc.data_ptr<T>(), bc.defined() ? bc.data_ptr<T>() : nullptr,
                             y.data_ptr<T>());
    });
  }
  if (autograd::needs_grad(x, w) || (b.defined() && autograd::needs_grad(b)))
    autograd::record("ConvolutionBackward", loc, {&x, &w, &b}, y,
                     [p, loc, sx = SavedTensor(x, false), sw = SavedTensor(w, false)](Node& self, const Tensor& g) {
                       return convolution_backward(self, g, sx.unpack(self), sw.unpack(self), p, loc);
                     });
  return y;
}

// The gradient of conv(x, w) with respect to x, for an x of spatial size h×wd.
Tensor conv_input_backward(const Tensor& grad_y, const Tensor& w, std::int64_t h, std::int64_t wd,
                           const ConvParams& p, const SourceLocation& loc) {
  const Shape x_shape{grad_y.sizes()[0], w.sizes()[1] * p.groups, h, wd};
  const cpu::Conv2dShape s = conv_shape(x_shape, w.sizes(), grad_y.sizes()[2], grad_y.sizes()[3], p);
  Tensor gx = detail::make_tensor(x_shape, grad_y.dtype());
  {
    Tensor gc = dense(grad_y), wc = dense(w);
    dispatch_floating(grad_y.dtype(), [&]<class T>() {
      cpu::conv2d_backward_input<T>(s, gc.data_ptr<T>(), wc.data_ptr<T>(), gx.data_ptr<T>());
    });
  }
  record_input_backward(gx, grad_y, w, p, loc);
  return gx;
}

// The gradient of conv(x, w) with respect to a weight of kernel size kh×kw.
Tensor conv_weight_backward(const Tensor& x, const Tensor& grad_y, std::int64_t kh, std::int64_t kw,
                            const ConvParams& p, const SourceLocation& loc) {
  const Shape w_shape{grad_y.sizes()[1], x.sizes()[1] / p.groups, kh, kw};
  const cpu::Conv2dShape s = conv_shape(x.sizes(), w_shape, grad_y.sizes()[2], grad_y.sizes()[3], p);
  Tensor gw = detail::make_tensor(w_shape, x.dtype());
  {
    Tensor xc = dense(x), gc = dense(grad_y);
    dispatch_floating(x.dtype(), [&]<class T>() {
      cpu::conv2d_backward_weight<T>(s, xc.data_ptr<T>(), gc.data_ptr<T>(), gw.data_ptr<T>());
    });
  }
  record_weight_backward(gw, x, grad_y, p, loc);
  return gw;
}

}  // namespace

Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, Size2 stride, Size2 padding,
              Size2 dilation, std::int64_t groups, SourceLocation loc) {
  constexpr const char* op = "conv2d";
  detail::check_floating(input, op, loc);
  detail::check_floating(weight, op, loc);
  if (input.dim() != 4 && input.dim() != 3)
    throw_error(op, "expected input [N, C_in, H, W] or [C_in, H, W], got " + detail::describe(input), loc);
  if (weight.dim() != 4)
    throw_error(op, "expected weight [C_out, C_in/groups, kH, kW], got " + detail::describe(weight), loc);
  detail::check_same_dtype(input, weight, op, loc);
  if (input.dim() == 3)  // unbatched, as PyTorch allows
    return conv2d(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups, loc).squeeze(0);

  const Shape& xs = input.sizes();
  const Shape& ws = weight.sizes();
  if (groups <= 0) throw_error(op, "groups must be positive, got " + std::to_string(groups), loc);
  if (stride.h <= 0 || stride.w <= 0) throw_error(op, "stride must be positive, got " + stride.str(), loc);
  if (dilation.h <= 0 || dilation.w <= 0)
    throw_error(op, "dilation must be positive, got " + dilation.str(), loc);
  if (padding.h < 0 || padding.w < 0)
    throw_error(op, "padding must be non-negative, got " + padding.str(), loc);
  if (ws[0] % groups != 0)
    throw_error(op, "groups " + std::to_string(groups) + " must divide the output channels of weight " +
                        detail::describe(weight), loc);
  if (xs[1] % groups != 0)
    throw_error(op, "groups " + std::to_string(groups) + " must divide the input channels of input " +
                        detail::describe(input), loc);
  if (ws[1] * groups != xs[1])
    throw_error(op, "input " + detail::describe(input) + " has " + std::to_string(xs[1]) +
                        " channels, but weight " + detail::describe(weight) + " with groups " +
                        std::to_string(groups) + " expects " + std::to_string(ws[1] * groups),
                loc);
  if (bias.defined()) {
    detail::check_same_dtype(input, bias, op, loc);
    if (bias.dim() != 1 || bias.sizes()[0] != ws[0])
      throw_error(op, "expected bias [" + std::to_string(ws[0]) + "], got " + detail::describe(bias), loc);
  }
  const std::int64_t h_out = conv_out_size(xs[2], ws[2], stride.h, padding.h, dilation.h);
  const std::int64_t w_out = conv_out_size(xs[3], ws[3], stride.w, padding.w, dilation.w);
  if (h_out <= 0 || w_out <= 0)
    throw_error(op, "kernel " + Size2{ws[2], ws[3]}.str() + " with dilation " + dilation.str() +
                        " is larger than the padded input " + Size2{xs[2] + 2 * padding.h, xs[3] + 2 * padding.w}.str() +
                        " of " + detail::describe(input), loc);

  const ConvParams p{stride.h, stride.w, padding.h, padding.w, dilation.h, dilation.w, groups};
  return convolve(input, weight, bias, p, loc);
}

}  // namespace cr::nn::functional
