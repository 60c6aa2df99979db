#pragma once
// Optimizers, learning-rate schedulers and gradient clipping in one include.

#include "chainrule/optim/adagrad.h"
#include "chainrule/optim/adam.h"
#include "chainrule/optim/adamw.h"
#include "chainrule/optim/clip_grad.h"
#include "chainrule/optim/lr_scheduler.h"
#include "chainrule/optim/optimizer.h"
#include "chainrule/optim/rmsprop.h"
#include "chainrule/optim/sgd.h"
