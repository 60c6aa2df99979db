#pragma once
// Which libraries and kernels run the heavy products, and how a program gets
// the fast ones.

#include <string>

namespace cr::cpu {

/// The kernel family OpenBLAS picked for this CPU ("SkylakeX", "Haswell", "Prescott", ...).
std::string blas_core_name();

/// The library that runs float32 matrix products: "oneDNN-<version>" when
/// chainrule was built with it (CMake option CHAINRULE_ONEDNN), else "OpenBLAS".
std::string float_gemm_library();

/// The library that runs float32 convolutions of 16 or more channels per group
/// with kernels larger than 1×1: "oneDNN-<version>" when chainrule was built
/// with it and the environment does not say CHAINRULE_ONEDNN_CONV=0, else
/// "im2col" (chainrule's im2col + GEMM, which also runs every other convolution).
std::string convolution_library();

/// Applies two settings that OpenBLAS and libgomp read from the environment
/// only when they load, by re-executing the program once with them set:
///  - Debian's OpenBLAS (0.3.21) does not recognise CPUs newer than itself and
///    falls back to its oldest SSE3 kernels ("Prescott"), 4-5x slower than the
///    AVX-512 ones such a CPU runs: OPENBLAS_CORETYPE names the best family the
///    CPU supports.
///  - libgomp's threads spin for a long time at every barrier; on a machine
///    whose cores are shared with other work that turns a 2-thread training
///    step 3x slower than 1 thread: GOMP_SPINCOUNT=10000 bounds the spinning.
/// Nothing is changed that the user set. Call it first thing in main(); it
/// returns when there is nothing to do (or the re-exec failed, and the
/// program goes on as it was).
void configure_runtime(char** argv);

}  // namespace cr::cpu
