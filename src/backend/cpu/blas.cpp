#include "chainrule/backend/cpu/blas.h"

#include <cblas.h>
#include <strings.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#if defined(CHAINRULE_HAVE_ONEDNN)
#include <oneapi/dnnl/dnnl.h>
#endif

#include "backend/cpu/onednn_conv.h"

namespace cr::cpu {

namespace {

// The best OpenBLAS kernel family for this CPU when OpenBLAS fell back to
// Prescott without being told, else nullptr.
const char* better_blas_core() {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return nullptr;
  if (strcasecmp(blas_core_name().c_str(), "prescott") != 0) return nullptr;
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  return nullptr;
}

}  // namespace

std::string blas_core_name() {
  const char* name = openblas_get_corename();
  return name ? name : "unknown";
}

std::string float_gemm_library() {
#if defined(CHAINRULE_HAVE_ONEDNN)
  const dnnl_version_t* v = dnnl_version();
  return "oneDNN-" + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
#else
  return "OpenBLAS";
#endif
}

std::string convolution_library() { return onednn_convolution_enabled() ? float_gemm_library() : "im2col"; }

void configure_runtime(char** argv) {
  bool changed = false;
  if (const char* core = better_blas_core()) {
    setenv("OPENBLAS_CORETYPE", core, 1);
    changed = true;
  }
  if (std::getenv("GOMP_SPINCOUNT") == nullptr && std::getenv("OMP_WAIT_POLICY") == nullptr) {
    setenv("GOMP_SPINCOUNT", "10000", 1);
    changed = true;
  }
  if (!changed) return;
  execv("/proc/self/exe", argv);
  // execv returns only on failure: carry on as we are.
}

}  // namespace cr::cpu
