#pragma once
// Random draws for the data pipeline, spelled out instead of taken from
// <random>'s distributions: those differ between standard libraries, and a
// seeded shuffle or augmentation should be the same everywhere.

#include <cstdint>
#include <vector>

#include "chainrule/data/transforms.h"

namespace cr::data::detail {

/// Uniform in [0, n) for n >= 1 (Lemire's multiply-shift; bias < n / 2^64).
inline std::uint64_t uniform_below(Generator& gen, std::uint64_t n) {
  return static_cast<std::uint64_t>((static_cast<unsigned __int128>(gen()) * n) >> 64);
}

/// Uniform in [0, 1) with 53 random bits.
inline double uniform_unit(Generator& gen) { return static_cast<double>(gen() >> 11) * 0x1.0p-53; }

/// Fisher-Yates.
inline void shuffle(std::vector<std::int64_t>& v, Generator& gen) {
  for (std::size_t i = v.size(); i > 1; --i) {
    const std::size_t j = uniform_below(gen, i);
    std::swap(v[i - 1], v[j]);
  }
}

}  // namespace cr::data::detail
