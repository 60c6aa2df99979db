#include "chainrule/data/transforms.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "core/tensor_internal.h"
#include "data/random.h"

namespace cr::data {

namespace {

// A contiguous copy-source of a [B, C, H, W] float image batch, after the checks.
Tensor checked_images(const Tensor& images, const char* op, const SourceLocation& loc) {
  cr::detail::check_defined(images, op, loc);
  if (images.dim() != 4)
    throw_error(op, "expected an image batch [B, C, H, W], got " + cr::detail::describe(images), loc);
  cr::detail::check_floating(images, op, loc);
  if (images.requires_grad())
    throw_error(op,
                "augmentations record no gradient, but the input " + cr::detail::describe(images) +
                    " requires grad (augment data before it enters the graph, or detach() it)",
                loc);
  return images.contiguous(loc);
}

// Writes image i of `src` mirrored into `dst`.
template <class T>
void flip_image(const T* src, T* dst, std::int64_t channels, std::int64_t h, std::int64_t w) {
  for (std::int64_t row = 0; row < channels * h; ++row)
    std::reverse_copy(src + row * w, src + (row + 1) * w, dst + row * w);
}

// Flips image i when flip(i) says so, copies it otherwise.
template <class Decide>
Tensor flip_where(const Tensor& images, Decide&& flip) {
  const std::int64_t b = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
  Tensor out = cr::detail::make_tensor(images.sizes(), images.dtype());
  dispatch_floating(images.dtype(), [&]<class T>() {
    const T* src = images.data_ptr<T>();
    T* dst = out.data_ptr<T>();
    const std::int64_t per_image = c * h * w;
    for (std::int64_t i = 0; i < b; ++i) {
      if (flip(i)) flip_image(src + i * per_image, dst + i * per_image, c, h, w);
      else std::copy(src + i * per_image, src + (i + 1) * per_image, dst + i * per_image);
    }
  });
  return out;
}

}  // namespace

Tensor hflip(const Tensor& images, SourceLocation loc) {
  const Tensor x = checked_images(images, "hflip", loc);
  return flip_where(x, [](std::int64_t) { return true; });
}

Tensor random_horizontal_flip(const Tensor& images, Generator& gen, double p, SourceLocation loc) {
  if (!(p >= 0 && p <= 1))
    throw_error("random_horizontal_flip", "p must lie in [0, 1], got " + std::to_string(p), loc);
  const Tensor x = checked_images(images, "random_horizontal_flip", loc);
  return flip_where(x, [&](std::int64_t) { return detail::uniform_unit(gen) < p; });
}

Tensor random_crop(const Tensor& images, std::int64_t padding, Generator& gen, SourceLocation loc) {
  if (padding < 0) throw_error("random_crop", "padding must be >= 0, got " + std::to_string(padding), loc);
  const Tensor x = checked_images(images, "random_crop", loc);
  const std::int64_t b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  Tensor out = cr::detail::make_tensor(x.sizes(), x.dtype());
  const auto span = static_cast<std::uint64_t>(2 * padding + 1);
  dispatch_floating(x.dtype(), [&]<class T>() {
    const T* src = x.data_ptr<T>();
    T* dst = out.data_ptr<T>();
    for (std::int64_t i = 0; i < b; ++i) {
      // The window's top-left corner in padded coordinates, as a shift of the
      // image: output pixel (y, x) shows input pixel (y + dy, x + dx), or 0.
      const std::int64_t dy = static_cast<std::int64_t>(detail::uniform_below(gen, span)) - padding;
      const std::int64_t dx = static_cast<std::int64_t>(detail::uniform_below(gen, span)) - padding;
      const std::int64_t x0 = std::clamp<std::int64_t>(-dx, 0, w), x1 = std::clamp<std::int64_t>(w - dx, 0, w);
      for (std::int64_t ch = 0; ch < c; ++ch) {
        const T* plane = src + (i * c + ch) * h * w;
        T* out_plane = dst + (i * c + ch) * h * w;
        for (std::int64_t y = 0; y < h; ++y) {
          T* row = out_plane + y * w;
          const std::int64_t sy = y + dy;
          if (sy < 0 || sy >= h || x0 >= x1) {
            std::fill(row, row + w, T(0));
            continue;
          }
          std::fill(row, row + x0, T(0));
          std::copy(plane + sy * w + x0 + dx, plane + sy * w + x1 + dx, row + x0);
          std::fill(row + x1, row + w, T(0));
        }
      }
    }
  });
  return out;
}

}  // namespace cr::data
