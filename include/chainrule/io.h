#pragma once
// cr::io: safetensors files and module checkpoints.

#include "chainrule/io/checkpoint.h"
#include "chainrule/io/safetensors.h"
