// Built against an installed chainrule: one forward and backward, checked by hand.
#include <chainrule/chainrule.h>

#include <cmath>
#include <cstdio>

int main() {
  // loss = sum(x² · w), so dloss/dx = 2·x·w and dloss/dw = x².
  cr::Tensor x = cr::tensor({1.0, 2.0, 3.0}, cr::TensorOptions().requires_grad(true));
  cr::Tensor w = cr::tensor({0.5, -1.0, 2.0}, cr::TensorOptions().requires_grad(true));
  cr::Tensor loss = (x * x * w).sum();
  loss.backward();

  const float expected_loss = 0.5f - 4.0f + 18.0f;
  const float expected_dx[] = {1.0f, -4.0f, 12.0f};
  const float expected_dw[] = {1.0f, 4.0f, 9.0f};
  int failures = 0;
  if (std::fabs(loss.item<float>() - expected_loss) > 1e-5f) {
    std::printf("loss: got %g, expected %g\n", loss.item<float>(), expected_loss);
    ++failures;
  }
  const cr::Tensor x_grad = x.grad().contiguous();
  const cr::Tensor w_grad = w.grad().contiguous();
  const float* dx = x_grad.data_ptr<float>();
  const float* dw = w_grad.data_ptr<float>();
  for (int i = 0; i < 3; ++i) {
    if (std::fabs(dx[i] - expected_dx[i]) > 1e-5f || std::fabs(dw[i] - expected_dw[i]) > 1e-5f) {
      std::printf("grad[%d]: got dx=%g dw=%g, expected dx=%g dw=%g\n", i, dx[i], dw[i],
                  expected_dx[i], expected_dw[i]);
      ++failures;
    }
  }
  std::printf("%s\n", failures == 0 ? "installed chainrule works" : "installed chainrule is broken");
  return failures == 0 ? 0 : 1;
}
