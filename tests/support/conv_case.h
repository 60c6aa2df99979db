#pragma once
// One convolution geometry for the conv2d tests, and how failures name it.

#include <cstdint>
#include <string>

#include "chainrule/nn/functional.h"

namespace cr::testing {

struct ConvCase {
  std::int64_t n, c_in, h, w, c_out, kh, kw;
  cr::nn::Size2 stride, padding, dilation;
  std::int64_t groups;
  bool bias;
};

inline std::string describe(const ConvCase& c) {
  return "n" + std::to_string(c.n) + " c" + std::to_string(c.c_in) + "->" + std::to_string(c.c_out) + " " +
         std::to_string(c.h) + "x" + std::to_string(c.w) + " k" + std::to_string(c.kh) + "x" + std::to_string(c.kw) +
         " s" + c.stride.str() + " p" + c.padding.str() + " d" + c.dilation.str() + " g" + std::to_string(c.groups) +
         (c.bias ? " bias" : "");
}

}  // namespace cr::testing
