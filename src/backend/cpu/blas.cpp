#include "chainrule/backend/cpu/blas.h"

#include <cblas.h>
#include <unistd.h>

#include <cstdlib>
#include <strings.h>

namespace cr::cpu {

std::string blas_core_name() {
  const char* name = openblas_get_corename();
  return name ? name : "unknown";
}

void use_fast_blas_kernels(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return;  // the user (or a previous exec) chose
  if (strcasecmp(blas_core_name().c_str(), "prescott") != 0) return;
  const char* best = nullptr;
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    best = "SkylakeX";
  else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    best = "Haswell";
  if (best == nullptr) return;
  setenv("OPENBLAS_CORETYPE", best, 1);
  execv("/proc/self/exe", argv);
  // execv only returns on failure: carry on with the slow kernels.
}

}  // namespace cr::cpu
