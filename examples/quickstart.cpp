// The README's example: one forward pass, one backward pass, the gradients.
#include <chainrule/chainrule.h>

#include <iostream>

int main() {
  cr::manual_seed(0);
  cr::Tensor x = cr::randn({4, 3});                    // a batch of 4 inputs
  cr::Tensor w = cr::randn({3, 2}).requires_grad_();   // parameters: leaves that want gradients
  cr::Tensor b = cr::zeros({2}, cr::TensorOptions().requires_grad(true));

  cr::Tensor y = cr::tanh(cr::addmm(b, x, w));         // forward: y = tanh(b + x·w)
  cr::Tensor loss = (y * y).mean();
  loss.backward();                                     // backward: blame flows back to w and b

  std::cout << "loss = " << loss.item<float>() << "\n";
  std::cout << "dloss/dw =\n" << w.grad() << "\n";
  std::cout << "dloss/db =\n" << b.grad() << "\n";

  cr::NoGradGuard no_grad;                             // one step of gradient descent
  w.sub_(w.grad() * 0.1);
  b.sub_(b.grad() * 0.1);
  std::cout << "loss after one step = " << cr::tanh(cr::addmm(b, x, w)).pow(2).mean().item<float>() << "\n";
}
