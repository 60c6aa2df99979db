#include <cstring>

#include "backend/cpu/loops.h"

namespace cr::cpu {

void copy_into(Tensor& dst, const Tensor& src) {
  if (dst.dtype() == src.dtype() && dst.is_contiguous() && src.is_contiguous()) {
    std::memcpy(dst.raw_data(), src.raw_data(), static_cast<std::size_t>(dst.numel()) * dst.element_size());
    return;
  }
  dispatch_all(dst.dtype(), [&]<class D>() {
    dispatch_all(src.dtype(), [&]<class S>() {
      D* pd = static_cast<D*>(dst.raw_data());
      const S* ps = static_cast<const S*>(src.raw_data());
      std::array<Shape, 2> strides{dst.strides(), src.strides()};
      detail::for_each_row<2>(dst.sizes(), strides, [&](auto off, std::int64_t n, auto st) {
        for (std::int64_t i = 0; i < n; ++i)
          pd[off[0] + i * st[0]] = static_cast<D>(ps[off[1] + i * st[1]]);
      });
    });
  });
}

}  // namespace cr::cpu
