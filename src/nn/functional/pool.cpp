// max_pool2d, avg_pool2d and adaptive_avg_pool2d. Output sizes and windows
// follow PyTorch exactly (ceil_mode, count_include_pad, adaptive windows), so
// models and checkpoints move between the two unchanged.
//
// Average pooling is linear: its backward is the adjoint (spread each
// gradient over its window), and the adjoint's backward is the pooling again.
// Max pooling's backward scatters to the saved argmax; that scatter's
// backward gathers from the same positions, and the gather's scatters.

#include <limits>
#include <memory>
#include <string>

#include "backend/cpu/pool.h"
#include "chainrule/autograd/record.h"
#include "chainrule/core/factories.h"
#include "chainrule/nn/functional.h"
#include "core/tensor_internal.h"

namespace cr::nn::functional {

using autograd::GradList;
using autograd::Node;
using autograd::SavedTensor;

namespace {

// PyTorch's pooling_output_shape: with ceil_mode the last window may hang
// over the end, but must start inside the input or the left padding.
std::int64_t pool_out_size(std::int64_t in, std::int64_t k, std::int64_t stride, std::int64_t pad,
                           std::int64_t dil, bool ceil_mode) {
  const std::int64_t span = in + 2 * pad - dil * (k - 1) - 1 + (ceil_mode ? stride - 1 : 0);
  if (span < 0) return 0;  // floor division of a negative span: no window fits
  std::int64_t out = span / stride + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

// Checks the input (float, [N, C, H, W] or [C, H, W]) and the window settings
// shared by max and average pooling; returns the output size.
Size2 check_pool(const char* op, const Tensor& x, Size2 kernel, Size2 stride, Size2 padding, Size2 dilation,
                 bool ceil_mode, const SourceLocation& loc) {
  detail::check_floating(x, op, loc);
  if (x.dim() != 3 && x.dim() != 4)
    throw_error(op, "expected input [N, C, H, W] or [C, H, W], got " + detail::describe(x), loc);
  if (kernel.h <= 0 || kernel.w <= 0) throw_error(op, "kernel_size must be positive, got " + kernel.str(), loc);
  if (stride.h <= 0 || stride.w <= 0) throw_error(op, "stride must be positive, got " + stride.str(), loc);
  if (dilation.h <= 0 || dilation.w <= 0)
    throw_error(op, "dilation must be positive, got " + dilation.str(), loc);
  if (padding.h < 0 || padding.w < 0) throw_error(op, "padding must be non-negative, got " + padding.str(), loc);
  if (padding.h > kernel.h / 2 || padding.w > kernel.w / 2)
    throw_error(op, "padding " + padding.str() + " must be at most half of kernel_size " + kernel.str(),
                loc);
  const std::int64_t h = x.sizes()[x.dim() - 2], w = x.sizes()[x.dim() - 1];
  const Size2 out{pool_out_size(h, kernel.h, stride.h, padding.h, dilation.h, ceil_mode),
                  pool_out_size(w, kernel.w, stride.w, padding.w, dilation.w, ceil_mode)};
  if (out.h <= 0 || out.w <= 0)
    throw_error(op, "kernel_size " + kernel.str() + " with dilation " + dilation.str() +
                        " is larger than the padded input " + Size2{h + 2 * padding.h, w + 2 * padding.w}.str() +
                        " of " + detail::describe(x),
                loc);
  return out;
}

Tensor dense(const Tensor& x) { return x.detach().contiguous(); }

// ---- max pooling --------------------------------------------------------

// The argmax of every window (offsets within its plane, 32-bit) and the shape
// of the pooled output. Not a Tensor: there is no int32 dtype, and nothing but
// max pooling's backward reads it.
struct Argmax {
  std::shared_ptr<Storage> storage;
  Shape sizes;
  cpu::PoolIndex* data() const { return static_cast<cpu::PoolIndex*>(storage->data()); }
};

Tensor max_pool2d_gather(const Tensor& grad_x, const Argmax& indices, const cpu::MaxPool2dShape& window,
                         const SourceLocation& loc);

// The forward pass's window (kernel, stride, ...) with the sizes of the
// tensors at hand.
cpu::MaxPool2dShape scatter_shape(const Shape& x_shape, const Shape& y_shape, cpu::MaxPool2dShape window) {
  window.planes = x_shape[0] * x_shape[1], window.h = x_shape[2], window.w = x_shape[3];
  window.h_out = y_shape[2], window.w_out = y_shape[3];
  return window;
}

// Scatters grad_y [N, C, h_out, w_out] to the argmax positions in a zero
// tensor of x_shape. Linear in grad_y: its backward is the matching gather.
Tensor max_pool2d_backward(const Tensor& grad_y, const Argmax& indices, const Shape& x_shape,
                           const cpu::MaxPool2dShape& window, const SourceLocation& loc) {
  const cpu::MaxPool2dShape s = scatter_shape(x_shape, grad_y.sizes(), window);
  Tensor gx = detail::make_tensor(x_shape, grad_y.dtype());
  {
    Tensor gc = dense(grad_y);
    dispatch_floating(grad_y.dtype(), [&]<class T>() {
      cpu::max_pool2d_backward<T>(s, gc.data_ptr<T>(), indices.data(), gx.data_ptr<T>());
    });
  }
  if (autograd::needs_grad(grad_y))
    autograd::record("MaxPool2DBackwardBackward", loc, {&grad_y}, gx,
                     [indices, window, loc](Node&, const Tensor& gg) {
                       return GradList{max_pool2d_gather(gg, indices, window, loc)};
                     });
  return gx;
}

// Reads grad_x [N, C, H, W] at the argmax positions: the adjoint of the scatter.
Tensor max_pool2d_gather(const Tensor& grad_x, const Argmax& indices, const cpu::MaxPool2dShape& window,
                         const SourceLocation& loc) {
  const cpu::MaxPool2dShape s = scatter_shape(grad_x.sizes(), indices.sizes, window);
  Tensor gy = detail::make_tensor(indices.sizes, grad_x.dtype());
  {
    Tensor gc = dense(grad_x);
    dispatch_floating(grad_x.dtype(), [&]<class T>() {
      cpu::max_pool2d_gather<T>(s, gc.data_ptr<T>(), indices.data(), gy.data_ptr<T>());
    });
  }
  if (autograd::needs_grad(grad_x))
    autograd::record("MaxPool2DGatherBackward", loc, {&grad_x}, gy,
                     [indices, window, loc, x_shape = grad_x.sizes()](Node&, const Tensor& g) {
                       return GradList{max_pool2d_backward(g, indices, x_shape, window, loc)};
                     });
  return gy;
}

// ---- average pooling ----------------------------------------------------

// Both average poolings share one linear map and its adjoint; `names` say
// which the autograd graph shows.
struct AvgPlan {
  cpu::AvgPool2dShape shape;  // planes unset: taken from the tensor at hand
  const char* forward_name;
  const char* adjoint_name;
};

Tensor avg_adjoint(const Tensor& grad_y, const Shape& x_shape, const std::shared_ptr<const AvgPlan>& plan,
                   const SourceLocation& loc);

// y = the window means of x [N, C, H, W].
Tensor avg_apply(const Tensor& x, const std::shared_ptr<const AvgPlan>& plan, const SourceLocation& loc) {
  cpu::AvgPool2dShape s = plan->shape;
  s.planes = x.sizes()[0] * x.sizes()[1];
  Tensor y = detail::make_tensor({x.sizes()[0], x.sizes()[1], s.h_out(), s.w_out()}, x.dtype());
  {
    Tensor xc = dense(x);
    dispatch_floating(x.dtype(), [&]<class T>() { cpu::avg_pool2d_forward<T>(s, xc.data_ptr<T>(), y.data_ptr<T>()); });
  }
  if (autograd::needs_grad(x))
    autograd::record(plan->forward_name, loc, {&x}, y, [plan, loc, x_shape = x.sizes()](Node&, const Tensor& g) {
      return GradList{avg_adjoint(g, x_shape, plan, loc)};
    });
  return y;
}

// The adjoint of avg_apply: each gradient spread evenly over its window.
Tensor avg_adjoint(const Tensor& grad_y, const Shape& x_shape, const std::shared_ptr<const AvgPlan>& plan,
                   const SourceLocation& loc) {
  cpu::AvgPool2dShape s = plan->shape;
  s.planes = x_shape[0] * x_shape[1];
  Tensor gx = detail::make_tensor(x_shape, grad_y.dtype());
  {
    Tensor gc = dense(grad_y);
    dispatch_floating(grad_y.dtype(),
                      [&]<class T>() { cpu::avg_pool2d_backward<T>(s, gc.data_ptr<T>(), gx.data_ptr<T>()); });
  }
  if (autograd::needs_grad(grad_y))
    autograd::record(plan->adjoint_name, loc, {&grad_y}, gx,
                     [plan, loc](Node&, const Tensor& gg) { return GradList{avg_apply(gg, plan, loc)}; });
  return gx;
}

// avg_pool2d's windows along one axis, as PyTorch computes them.
cpu::PoolWindows avg_windows(std::int64_t in, std::int64_t out, std::int64_t k, std::int64_t stride,
                             std::int64_t pad, bool count_include_pad) {
  cpu::PoolWindows win;
  for (std::int64_t o = 0; o < out; ++o) {
    std::int64_t begin = o * stride - pad;
    std::int64_t end = std::min(begin + k, in + pad);
    const std::int64_t padded = end - begin;
    begin = std::max<std::int64_t>(begin, 0);
    end = std::min(end, in);
    win.begin.push_back(begin);
    win.end.push_back(end);
    win.divisor.push_back(count_include_pad ? padded : std::max<std::int64_t>(end - begin, 1));
  }
  return win;
}

// adaptive_avg_pool2d's windows: [floor(o·in/out), ceil((o+1)·in/out)).
cpu::PoolWindows adaptive_windows(std::int64_t in, std::int64_t out) {
  cpu::PoolWindows win;
  for (std::int64_t o = 0; o < out; ++o) {
    const std::int64_t begin = o * in / out;
    const std::int64_t end = ((o + 1) * in + out - 1) / out;
    win.begin.push_back(begin);
    win.end.push_back(end);
    win.divisor.push_back(end - begin);
  }
  return win;
}

// Runs f on a batched view of x: [C, H, W] inputs go through as [1, C, H, W].
template <class F>
Tensor batched(const Tensor& x, F&& f) {
  if (x.dim() == 3) return f(x.unsqueeze(0)).squeeze(0);
  return f(x);
}

}  // namespace

Tensor max_pool2d(const Tensor& input, Size2 kernel_size, std::optional<Size2> stride, Size2 padding,
                  Size2 dilation, bool ceil_mode, SourceLocation loc) {
  const Size2 step = stride.value_or(kernel_size);
  const Size2 out = check_pool("max_pool2d", input, kernel_size, step, padding, dilation, ceil_mode, loc);
  return batched(input, [&](const Tensor& x) {
    cpu::MaxPool2dShape s;
    s.planes = x.sizes()[0] * x.sizes()[1], s.h = x.sizes()[2], s.w = x.sizes()[3];
    s.h_out = out.h, s.w_out = out.w;
    s.kh = kernel_size.h, s.kw = kernel_size.w, s.stride_h = step.h, s.stride_w = step.w;
    s.pad_h = padding.h, s.pad_w = padding.w, s.dil_h = dilation.h, s.dil_w = dilation.w;
    if (s.h * s.w > std::numeric_limits<cpu::PoolIndex>::max())
      throw_error("max_pool2d", "planes of more than 2^31 - 1 elements are not supported, got " + detail::describe(input),
                  loc);
    Tensor y = detail::make_tensor({x.sizes()[0], x.sizes()[1], out.h, out.w}, x.dtype());
    const Argmax indices{Storage::allocate(static_cast<std::size_t>(y.numel()) * sizeof(cpu::PoolIndex)), y.sizes()};
    {
      Tensor xc = dense(x);
      dispatch_floating(x.dtype(), [&]<class T>() {
        cpu::max_pool2d_forward<T>(s, xc.data_ptr<T>(), y.data_ptr<T>(), indices.data());
      });
    }
    if (autograd::needs_grad(x))
      autograd::record("MaxPool2DWithIndicesBackward", loc, {&x}, y,
                       [indices, s, loc, x_shape = x.sizes()](Node&, const Tensor& g) {
                         return GradList{max_pool2d_backward(g, indices, x_shape, s, loc)};
                       });
    return y;
  });
}

Tensor avg_pool2d(const Tensor& input, Size2 kernel_size, std::optional<Size2> stride, Size2 padding,
                  bool ceil_mode, bool count_include_pad, SourceLocation loc) {
  const Size2 step = stride.value_or(kernel_size);
  const Size2 out = check_pool("avg_pool2d", input, kernel_size, step, padding, 1, ceil_mode, loc);
  const std::int64_t h = input.sizes()[input.dim() - 2], w = input.sizes()[input.dim() - 1];
  auto plan = std::make_shared<AvgPlan>();
  plan->shape.h = h, plan->shape.w = w;
  plan->shape.rows = avg_windows(h, out.h, kernel_size.h, step.h, padding.h, count_include_pad);
  plan->shape.cols = avg_windows(w, out.w, kernel_size.w, step.w, padding.w, count_include_pad);
  plan->forward_name = "AvgPool2DBackward";
  plan->adjoint_name = "AvgPool2DBackwardBackward";
  return batched(input, [&](const Tensor& x) { return avg_apply(x, plan, loc); });
}

Tensor adaptive_avg_pool2d(const Tensor& input, Size2 output_size, SourceLocation loc) {
  constexpr const char* op = "adaptive_avg_pool2d";
  detail::check_floating(input, op, loc);
  if (input.dim() != 3 && input.dim() != 4)
    throw_error(op, "expected input [N, C, H, W] or [C, H, W], got " + detail::describe(input), loc);
  if (output_size.h <= 0 || output_size.w <= 0)
    throw_error(op, "output_size must be positive, got " + output_size.str(), loc);
  const std::int64_t h = input.sizes()[input.dim() - 2], w = input.sizes()[input.dim() - 1];
  if (h <= 0 || w <= 0) throw_error(op, "input " + detail::describe(input) + " has an empty spatial dim", loc);
  auto plan = std::make_shared<AvgPlan>();
  plan->shape.h = h, plan->shape.w = w;
  plan->shape.rows = adaptive_windows(h, output_size.h);
  plan->shape.cols = adaptive_windows(w, output_size.w);
  plan->forward_name = "AdaptiveAvgPool2DBackward";
  plan->adjoint_name = "AdaptiveAvgPool2DBackwardBackward";
  return batched(input, [&](const Tensor& x) { return avg_apply(x, plan, loc); });
}

}  // namespace cr::nn::functional
