// Custom differentiable ops (cr::autograd::Function) and the gradient checker itself.

#include <gtest/gtest.h>

#include "chainrule/chainrule.h"
#include "support/tensor_testing.h"

namespace {

using cr::Tensor;
using cr::autograd::AutogradContext;
using cr::autograd::tensor_list;
using cr::testing::values;

struct ScaledCube : cr::autograd::Function<ScaledCube> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x, double scale) {
    ctx->save_for_backward({x});
    ctx->saved_data["scale"] = scale;
    return x * x * x * scale;
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    Tensor x = ctx->get_saved_variables()[0];
    const double scale = std::any_cast<double>(ctx->saved_data["scale"]);
    return {grads[0] * x * x * (3.0 * scale)};
  }
};

// Saves its own output, as exp-like ops do.
struct MyExp : cr::autograd::Function<MyExp> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x) {
    Tensor y = x.exp();
    ctx->save_for_backward({y});
    return y;
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    return {grads[0] * ctx->get_saved_variables()[0]};
  }
};

// Two inputs, two outputs.
struct SumAndProduct : cr::autograd::Function<SumAndProduct> {
  static tensor_list forward(AutogradContext* ctx, const Tensor& a, const Tensor& b) {
    ctx->save_for_backward({a, b});
    return {a + b, a * b};
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    auto saved = ctx->get_saved_variables();
    return {grads[0] + grads[1] * saved[1], grads[0] + grads[1] * saved[0]};
  }
};

// A deliberately wrong backward, to prove that gradcheck can fail.
struct WrongSquare : cr::autograd::Function<WrongSquare> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x) {
    ctx->save_for_backward({x});
    return x * x;
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    return {grads[0] * ctx->get_saved_variables()[0] * 2.1};
  }
};

TEST(Function, ForwardAndBackward) {
  Tensor x = cr::tensor({1.0, 2.0}).requires_grad_();
  Tensor y = ScaledCube::apply(x, 2.0);
  EXPECT_EQ(values(y), (std::vector<double>{2.0, 16.0}));
  EXPECT_STREQ(y.grad_fn()->name(), "(anonymous namespace)::ScaledCubeBackward");
  y.sum().backward();
  EXPECT_EQ(values(x.grad()), (std::vector<double>{6.0, 24.0}));
}

TEST(Function, PassesGradcheckIncludingSecondOrder) {
  cr::manual_seed(5);
  auto f = [](const std::vector<Tensor>& in) { return ScaledCube::apply(in[0], 0.5); };
  EXPECT_GRADCHECK(f, std::vector<Tensor>{cr::testing::strided_leaf({2, 3})});
  EXPECT_GRADGRADCHECK(f, std::vector<Tensor>{cr::testing::leaf({2, 3})});
  auto g = [](const std::vector<Tensor>& in) { return MyExp::apply(in[0]); };
  EXPECT_GRADCHECK(g, std::vector<Tensor>{cr::testing::leaf({4})});
  EXPECT_GRADGRADCHECK(g, std::vector<Tensor>{cr::testing::leaf({4})});
}

TEST(Function, MultipleOutputs) {
  Tensor a = cr::tensor({2.0}, cr::kFloat64).requires_grad_();
  Tensor b = cr::tensor({3.0}, cr::kFloat64).requires_grad_();
  tensor_list out = SumAndProduct::apply(a, b);
  ASSERT_EQ(out.size(), 2u);
  (out[0] * 2.0 + out[1]).sum().backward();
  EXPECT_EQ(values(a.grad()), (std::vector<double>{5.0}));
  EXPECT_EQ(values(b.grad()), (std::vector<double>{4.0}));
  Tensor c = cr::tensor({1.0}, cr::kFloat64).requires_grad_();
  SumAndProduct::apply(c, c)[1].sum().backward();  // only the second output used
  EXPECT_EQ(values(c.grad()), (std::vector<double>{2.0}));
}

TEST(Function, ForwardRecordsNothingInside) {
  Tensor x = cr::ones({2}).requires_grad_();
  Tensor y = ScaledCube::apply(x, 1.0);
  // The only node is the Function's: no MulBackward from inside forward.
  EXPECT_EQ(y.grad_fn()->next_edges().size(), 1u);
  EXPECT_STREQ(y.grad_fn()->next_edges()[0].fn->name(), "AccumulateGrad");
}

TEST(Function, ModifiedSavedInputIsDetected) {
  Tensor x = cr::ones({2}).requires_grad_();
  Tensor h = x * 1.0;
  Tensor y = ScaledCube::apply(h, 1.0);
  h.add_(1.0);
  EXPECT_THROW(y.sum().backward(), cr::Error);
}

TEST(Gradcheck, CatchesAWrongGradient) {
  auto f = [](const std::vector<Tensor>& in) { return WrongSquare::apply(in[0]); };
  auto result = cr::autograd::gradcheck(f, {cr::testing::leaf({3})});
  EXPECT_FALSE(result.ok);
  EXPECT_NE(result.message.find("analytical"), std::string::npos) << result.message;
}

TEST(Gradcheck, CatchesAWrongSecondDerivative) {
  // First derivative right, second wrong: backward uses a detached x.
  struct DetachedSquare : cr::autograd::Function<DetachedSquare> {
    static Tensor forward(AutogradContext* ctx, const Tensor& x) {
      ctx->save_for_backward({x});
      return x * x;
    }
    static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
      return {grads[0] * ctx->get_saved_variables()[0].detach() * 2.0};
    }
  };
  auto f = [](const std::vector<Tensor>& in) { return DetachedSquare::apply(in[0]); };
  EXPECT_TRUE(cr::autograd::gradcheck(f, {cr::testing::leaf({3})}).ok);
  EXPECT_FALSE(cr::autograd::gradgradcheck(f, {cr::testing::leaf({3})}).ok);
}

TEST(Gradcheck, RequiresFloat64) {
  auto f = [](const std::vector<Tensor>& in) { return in[0] * 2.0; };
  EXPECT_THROW((void)cr::autograd::gradcheck(f, {cr::ones({2}).requires_grad_()}), cr::Error);
}

}  // namespace
