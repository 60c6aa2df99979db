#pragma once
// Augmentations for image batches [B, C, H, W] (float32 or float64). Each
// image draws its own random choices from the caller's generator, in batch
// order, so a seeded generator gives the same result on every platform.
// They make new tensors and record no autograd history (inputs that require
// grad are rejected rather than silently cut off from backward).

#include <cstdint>
#include <random>

#include "chainrule/core/tensor.h"

namespace cr::data {

/// The random engine of the data pipeline (DataLoader shuffling, augmentations).
using Generator = std::mt19937_64;

/// Mirrors every image left to right.
Tensor hflip(const Tensor& images, CR_LOC);

/// Mirrors each image left to right with probability `p`.
Tensor random_horizontal_flip(const Tensor& images, Generator& gen, double p = 0.5, CR_LOC);

/// Pads each image with `padding` zeros on every side, then cuts an H x W
/// window at a random offset: the image shifts by up to `padding` pixels each
/// way, keeping its shape (the CIFAR-style "random crop 32, padding 4").
Tensor random_crop(const Tensor& images, std::int64_t padding, Generator& gen, CR_LOC);

}  // namespace cr::data
