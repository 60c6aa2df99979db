#pragma once
// Everything in cr::nn: modules, layers, initialisers and the functional API.

#include "chainrule/nn/activation.h"
#include "chainrule/nn/container.h"
#include "chainrule/nn/conv.h"
#include "chainrule/nn/dropout.h"
#include "chainrule/nn/embedding.h"
#include "chainrule/nn/functional.h"
#include "chainrule/nn/init.h"
#include "chainrule/nn/linear.h"
#include "chainrule/nn/module.h"
#include "chainrule/nn/normalization.h"
#include "chainrule/nn/pooling.h"
#include "chainrule/nn/residual.h"
