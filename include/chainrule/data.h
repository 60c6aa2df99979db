#pragma once
// cr::data: datasets (IDX files, MNIST, Fashion-MNIST, tensors), the
// DataLoader and image augmentations.

#include "chainrule/data/dataloader.h"
#include "chainrule/data/dataset.h"
#include "chainrule/data/idx.h"
#include "chainrule/data/mnist.h"
#include "chainrule/data/transforms.h"
