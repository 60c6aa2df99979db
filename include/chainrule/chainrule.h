#pragma once
// The whole public API of chainrule in one include.

#include "chainrule/autograd/engine.h"
#include "chainrule/autograd/function.h"
#include "chainrule/autograd/grad_mode.h"
#include "chainrule/autograd/gradcheck.h"
#include "chainrule/autograd/node.h"
#include "chainrule/core/dtype.h"
#include "chainrule/core/error.h"
#include "chainrule/core/factories.h"
#include "chainrule/core/shape.h"
#include "chainrule/core/tensor.h"
#include "chainrule/ops/elementwise.h"
#include "chainrule/ops/linalg.h"
#include "chainrule/ops/reduction.h"
#include "chainrule/ops/shape.h"
#include "chainrule/optim.h"
