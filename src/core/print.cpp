// operator<< for tensors, in PyTorch's format:
//   tensor([[1.0000, 2.0000]], size=[1, 2], dtype=float32, grad_fn=<MulBackward>)

#include <cmath>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "chainrule/autograd/node.h"
#include "chainrule/core/tensor.h"
#include "core/tensor_internal.h"

namespace cr {

namespace {

constexpr std::int64_t kSummariseAbove = 1000;  // elements; beyond this print the edges only
constexpr std::int64_t kEdgeItems = 3;

double element_at(const Tensor& t, const std::int64_t* index) {
  std::int64_t offset = 0;
  for (int d = 0; d < t.dim(); ++d) offset += index[d] * t.strides()[d];
  return dispatch_all(t.dtype(), [&]<class T>() {
    return static_cast<double>(static_cast<const T*>(t.raw_data())[offset]);
  });
}

struct Printer {
  const Tensor& t;
  std::ostream& os;
  bool summarise;
  bool integral;
  int precision = 4;
  std::int64_t index[kMaxDims] = {};

  void value(double v) {
    if (t.dtype() == kBool) os << (v != 0 ? "True" : "False");
    else if (integral) os << static_cast<std::int64_t>(v);
    else if (std::isnan(v)) os << "nan";
    else if (std::isinf(v)) os << (v > 0 ? "inf" : "-inf");
    else os << std::fixed << std::setprecision(precision) << v;
  }

  void dim(int d, int indent) {
    if (d == t.dim()) {
      value(element_at(t, index));
      return;
    }
    os << '[';
    const std::int64_t n = t.sizes()[d];
    for (std::int64_t i = 0; i < n; ++i) {
      if (summarise && n > 2 * kEdgeItems && i == kEdgeItems) {
        os << "...";
        i = n - kEdgeItems - 1;
        os << (d + 1 == t.dim() ? ", " : ",\n" + std::string(indent + 1, ' '));
        continue;
      }
      index[d] = i;
      dim(d + 1, indent + 1);
      if (i + 1 < n) os << (d + 1 == t.dim() ? ", " : ",\n" + std::string(indent + 1, ' '));
    }
    os << ']';
  }
};

}  // namespace

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "tensor(undefined)";
  std::ostringstream body;
  Printer printer{t, body, t.numel() > kSummariseAbove, t.dtype() == kInt64};
  printer.dim(0, 7);
  os << "tensor(" << body.str() << ", size=" << t.sizes() << ", dtype=" << dtype_name(t.dtype());
  if (t.grad_fn()) os << ", grad_fn=<" << t.grad_fn()->name() << '>';
  else if (t.requires_grad()) os << ", requires_grad=True";
  return os << ')';
}

std::string Tensor::to_string() const {
  std::ostringstream os;
  os << *this;
  return os.str();
}

}  // namespace cr
