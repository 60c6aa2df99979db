#pragma once
// Which OpenBLAS kernels run, and a way to get the fast ones.

#include <string>

namespace cr::cpu {

/// The kernel family OpenBLAS picked for this CPU ("SkylakeX", "Haswell", "Prescott", ...).
std::string blas_core_name();

/// Debian's OpenBLAS (0.3.21) does not recognise CPUs newer than itself and
/// falls back to its oldest SSE3 kernels ("Prescott"), about 4× slower than
/// the AVX-512 ones such a CPU runs. OpenBLAS reads its choice from the
/// environment only when it loads, so the remedy is to start again: when that
/// fallback happened and the user has not set OPENBLAS_CORETYPE, this sets it
/// to the best family the CPU supports and re-executes the program with the
/// same arguments. Call it first thing in main(); it returns when there is
/// nothing to do (or the re-exec failed, and the program goes on, slower).
void use_fast_blas_kernels(char** argv);

}  // namespace cr::cpu
