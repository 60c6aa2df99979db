#pragma once
// Element types. float32 is the default; float64 serves gradient checks;
// int64 holds labels and indices; bool holds masks and comparison results.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace cr {

enum class DType : std::uint8_t { Float32, Float64, Int64, Bool };

// LibTorch-style spellings, so ported code reads the same.
inline constexpr DType kFloat32 = DType::Float32;
inline constexpr DType kFloat = DType::Float32;
inline constexpr DType kFloat64 = DType::Float64;
inline constexpr DType kDouble = DType::Float64;
inline constexpr DType kInt64 = DType::Int64;
inline constexpr DType kLong = DType::Int64;
inline constexpr DType kBool = DType::Bool;

std::size_t element_size(DType dtype);
std::string_view dtype_name(DType dtype);
inline bool is_floating(DType dtype) { return dtype == kFloat32 || dtype == kFloat64; }

/// The dtype both operands of a binary op are computed in (float64 > float32 > int64 > bool).
DType promote_types(DType a, DType b);

template <class T>
constexpr DType dtype_of() {
  if constexpr (std::is_same_v<T, float>) return kFloat32;
  else if constexpr (std::is_same_v<T, double>) return kFloat64;
  else if constexpr (std::is_same_v<T, std::int64_t>) return kInt64;
  else if constexpr (std::is_same_v<T, bool>) return kBool;
  else static_assert(sizeof(T) == 0, "chainrule supports float, double, int64_t and bool");
}

/// Calls f.template operator()<T>() with T the C++ type of `dtype`.
template <class F>
decltype(auto) dispatch_all(DType dtype, F&& f) {
  switch (dtype) {
    case DType::Float32: return f.template operator()<float>();
    case DType::Float64: return f.template operator()<double>();
    case DType::Int64: return f.template operator()<std::int64_t>();
    case DType::Bool: break;
  }
  return f.template operator()<bool>();
}

/// As dispatch_all, for the floating dtypes only; the caller has checked.
template <class F>
decltype(auto) dispatch_floating(DType dtype, F&& f) {
  if (dtype == DType::Float64) return f.template operator()<double>();
  return f.template operator()<float>();
}

/// As dispatch_all without bool: the dtypes arithmetic is defined on.
template <class F>
decltype(auto) dispatch_numeric(DType dtype, F&& f) {
  switch (dtype) {
    case DType::Float64: return f.template operator()<double>();
    case DType::Int64: return f.template operator()<std::int64_t>();
    default: return f.template operator()<float>();
  }
}

}  // namespace cr
