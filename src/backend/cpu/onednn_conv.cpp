#include "backend/cpu/onednn_conv.h"

#include <atomic>
#include <cstdlib>
#include <string_view>

#if defined(CHAINRULE_HAVE_ONEDNN)
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>

#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>

#include "core/block_cache.h"
#endif

namespace cr::cpu {

namespace {
// CHAINRULE_ONEDNN_CONV=0 in the environment starts with the path off: A/B
// timings, or ruling oneDNN out when a result looks wrong.
bool enabled_at_start() {
  const char* setting = std::getenv("CHAINRULE_ONEDNN_CONV");
  return setting == nullptr || std::string_view(setting) != "0";
}
std::atomic<bool> g_enabled{enabled_at_start()};
}  // namespace

void set_onednn_convolution_enabled(bool enabled) { g_enabled.store(enabled, std::memory_order_relaxed); }

#if !defined(CHAINRULE_HAVE_ONEDNN)

bool onednn_convolution_built() { return false; }
bool onednn_convolution_enabled() { return false; }
bool onednn_conv2d_forward(const Conv2dShape&, const float*, const float*, const float*, float*) { return false; }
bool onednn_conv2d_backward_input(const Conv2dShape&, const float*, const float*, float*) { return false; }
bool onednn_conv2d_backward_weight(const Conv2dShape&, const float*, const float*, float*) { return false; }

#else

bool onednn_convolution_built() { return true; }
bool onednn_convolution_enabled() { return g_enabled.load(std::memory_order_relaxed); }

namespace {

using dnnl::memory;
using Tag = memory::format_tag;

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// The three products of a convolution, each a separate oneDNN primitive.
enum class Direction { forward, backward_input, backward_weight };

// Plain (NCHW / OIHW) descriptions of the operands, as chainrule stores them.
// A grouped weight is [groups, c_out/groups, c_in/groups, kh, kw] to oneDNN.
memory::desc plain_image(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w) {
  return {{n, c, h, w}, memory::data_type::f32, Tag::nchw};
}
memory::desc plain_input(const Conv2dShape& s) { return plain_image(s.n, s.c_in, s.h, s.w); }
memory::desc plain_output(const Conv2dShape& s) { return plain_image(s.n, s.c_out, s.h_out, s.w_out); }
memory::desc plain_weight(const Conv2dShape& s) {
  if (s.groups == 1) return {{s.c_out, s.c_in, s.kh, s.kw}, memory::data_type::f32, Tag::oihw};
  return {{s.groups, s.c_out / s.groups, s.c_in / s.groups, s.kh, s.kw}, memory::data_type::f32, Tag::goihw};
}
// The same extents with the layout left to oneDNN, which picks blocked
// layouts (16 channels interleaved) its AVX-512 kernels run fastest on.
memory::desc any_layout(const memory::desc& plain) { return {plain.dims(), memory::data_type::f32, Tag::any}; }

// The geometry in oneDNN's terms. oneDNN counts dilation from 0 and wants the
// right/bottom padding; with it equal to the left one the output extents agree
// with ours (both round down).
struct Geometry {
  memory::dims strides, dilations, padding;
};
Geometry geometry(const Conv2dShape& s) {
  return {{s.stride_h, s.stride_w}, {s.dil_h - 1, s.dil_w - 1}, {s.pad_h, s.pad_w}};
}

dnnl::convolution_forward::primitive_desc forward_desc(const Conv2dShape& s, bool bias) {
  const Geometry g = geometry(s);
  const memory::desc src = any_layout(plain_input(s)), weights = any_layout(plain_weight(s)),
                     dst = any_layout(plain_output(s));
  using Desc = dnnl::convolution_forward::desc;
  const dnnl::prop_kind kind = dnnl::prop_kind::forward_training;
  const auto algo = dnnl::algorithm::convolution_direct;
  const Desc d = bias ? Desc(kind, algo, src, weights, {{s.c_out}, memory::data_type::f32, Tag::x}, dst, g.strides,
                             g.dilations, g.padding, g.padding)
                      : Desc(kind, algo, src, weights, dst, g.strides, g.dilations, g.padding, g.padding);
  return {d, cpu_engine()};
}

// A buffer for an operand in oneDNN's layout, from the block cache that
// tensors use: the same sizes come back every step, and fresh pages would
// cost a fault each (a reorder into new memory runs 3-5x slower).
class Scratch {
 public:
  explicit Scratch(std::size_t bytes) : bytes_(std::max<std::size_t>(bytes, detail::kCachedBlockMin)) {
    data_ = detail::acquire_block(bytes_);
  }
  ~Scratch() { detail::release_block(data_, bytes_); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  void* data() const { return data_; }

 private:
  std::size_t bytes_;
  void* data_;
};

// Moves an operand between chainrule's plain layout and the one a primitive
// chose, or not at all where they are the same: before the primitive for an
// operand it reads, after it for the one it writes.
class Relayout {
 public:
  enum Role { read, written };
  Relayout(const memory::desc& plain, const memory::desc& chosen, Role role) : chosen_(chosen) {
    if (plain == chosen) return;
    reorder_ = role == read ? dnnl::reorder({cpu_engine(), plain, cpu_engine(), chosen})
                            : dnnl::reorder({cpu_engine(), chosen, cpu_engine(), plain});
  }
  // The operand as the primitive reads it: `plain` itself, or a copy in `scratch`.
  memory in(dnnl::stream& stream, const memory& plain, std::optional<Scratch>& scratch) const {
    if (!reorder_) return plain;
    memory from = plain, copy = in_scratch(scratch);  // handles: copying them shares the data
    reorder_->execute(stream, from, copy);
    return copy;
  }
  // Where the primitive writes an operand that ends up in `plain`...
  memory out(const memory& plain, std::optional<Scratch>& scratch) const {
    return reorder_ ? in_scratch(scratch) : plain;
  }
  // ...and moving it there afterwards.
  void finish(dnnl::stream& stream, const memory& written, const memory& plain) const {
    memory from = written, to = plain;
    if (reorder_) reorder_->execute(stream, from, to);
  }

 private:
  // The chosen layout may pad channels to a multiple of 16: size the copy by it.
  memory in_scratch(std::optional<Scratch>& scratch) const {
    scratch.emplace(chosen_.get_size());
    return memory(chosen_, cpu_engine(), scratch->data());
  }

  memory::desc chosen_;
  std::optional<dnnl::reorder> reorder_;
};

// One direction of one convolution geometry, ready to run: the primitive and
// the reorders around it. Building one JIT-compiles kernels (milliseconds), so
// plans are kept for the geometries a program meets again every step.
struct Plan {
  dnnl::primitive primitive;
  Relayout a, b, c;  // the two operands read and the one written, in argument order below
};

using PlanKey = std::array<std::int64_t, 19>;
PlanKey plan_key(Direction direction, const Conv2dShape& s, bool bias) {
  return {static_cast<std::int64_t>(direction), bias, s.n, s.c_in, s.h, s.w, s.c_out, s.kh, s.kw, s.stride_h,
          s.stride_w, s.pad_h, s.pad_w, s.dil_h, s.dil_w, s.groups, s.h_out, s.w_out, 0};
}

std::unique_ptr<Plan> build_plan(Direction direction, const Conv2dShape& s, bool bias) {
  const memory::desc x = plain_input(s), w = plain_weight(s), y = plain_output(s);
  switch (direction) {
    case Direction::forward: {
      const auto pd = forward_desc(s, bias);
      return std::make_unique<Plan>(Plan{dnnl::convolution_forward(pd), Relayout(x, pd.src_desc(), Relayout::read),
                                         Relayout(w, pd.weights_desc(), Relayout::read),
                                         Relayout(y, pd.dst_desc(), Relayout::written)});
    }
    case Direction::backward_input: {
      const Geometry g = geometry(s);
      const dnnl::convolution_backward_data::desc d(dnnl::algorithm::convolution_direct, any_layout(x),
                                                     any_layout(w), any_layout(y), g.strides, g.dilations,
                                                     g.padding, g.padding);
      const dnnl::convolution_backward_data::primitive_desc pd(d, cpu_engine(), forward_desc(s, false));
      return std::make_unique<Plan>(Plan{dnnl::convolution_backward_data(pd), Relayout(y, pd.diff_dst_desc(), Relayout::read),
                                         Relayout(w, pd.weights_desc(), Relayout::read),
                                         Relayout(x, pd.diff_src_desc(), Relayout::written)});
    }
    case Direction::backward_weight: {
      const Geometry g = geometry(s);
      const dnnl::convolution_backward_weights::desc d(dnnl::algorithm::convolution_direct, any_layout(x),
                                                        any_layout(w), any_layout(y), g.strides, g.dilations,
                                                        g.padding, g.padding);
      const dnnl::convolution_backward_weights::primitive_desc pd(d, cpu_engine(), forward_desc(s, false));
      return std::make_unique<Plan>(Plan{dnnl::convolution_backward_weights(pd), Relayout(x, pd.src_desc(), Relayout::read),
                                         Relayout(y, pd.diff_dst_desc(), Relayout::read),
                                         Relayout(w, pd.diff_weights_desc(), Relayout::written)});
    }
  }
  return nullptr;
}

// The plan for a geometry, built on first use; null where oneDNN declines it
// (remembered too, so it is asked once). Plans live as long as the program
// and are never replaced, so a pointer stays valid without the lock.
const Plan* find_plan(Direction direction, const Conv2dShape& s, bool bias) {
  static std::mutex mutex;
  static std::map<PlanKey, std::unique_ptr<Plan>> plans;
  // A program that keeps changing shapes (variable image sizes) would grow the
  // map without bound: past this many it stops remembering new geometries.
  constexpr std::size_t kMaxPlans = 256;
  const PlanKey key = plan_key(direction, s, bias);
  std::lock_guard lock(mutex);
  if (auto it = plans.find(key); it != plans.end()) return it->second.get();
  std::unique_ptr<Plan> plan;
  try {
    plan = build_plan(direction, s, bias);
  } catch (const dnnl::error&) {
    // No implementation for this geometry: the caller's kernels answer.
  }
  if (plans.size() >= kMaxPlans) return nullptr;
  return plans.emplace(key, std::move(plan)).first->second.get();
}

// Where oneDNN's kernels beat im2col + GEMM. They work on blocks of 16
// channels, padding narrower operands: a convolution from 3 channels to 32 at
// 28×28 (batch 128) took 11.5 ms forward and backward against im2col's 6.7,
// from 1 channel the two tie, while from 32 channels up oneDNN takes half
// the time or less (32→64 at 14×14: 11.1 ms against 13.3; 64→64 at 7×7: 4.9
// against 9.0). A 1×1 kernel is a plain GEMM already (32→64 at stride 2:
// 1.3 ms against 1.1).
bool worth_onednn(const Conv2dShape& s) {
  constexpr std::int64_t kMinChannels = 16;
  return s.c_in / s.groups >= kMinChannels && s.c_out / s.groups >= kMinChannels && s.kh * s.kw > 1;
}

bool usable(const Conv2dShape& s) {
  return onednn_convolution_enabled() && worth_onednn(s) && s.n > 0 && s.h_out > 0 && s.w_out > 0;
}

// Runs a plan on three plain operands (two read, one written). Any failure
// leaves the output to the caller's fallback, which overwrites all of it.
bool run(const Plan* plan, int arg_a, const memory& a, int arg_b, const memory& b, int arg_c, const memory& c,
         const memory* bias = nullptr) {
  if (plan == nullptr) return false;
  try {
    dnnl::stream stream(cpu_engine());
    std::optional<Scratch> scratch_a, scratch_b, scratch_c;
    const memory in_a = plan->a.in(stream, a, scratch_a), in_b = plan->b.in(stream, b, scratch_b),
                 out = plan->c.out(c, scratch_c);
    std::unordered_map<int, memory> args{{arg_a, in_a}, {arg_b, in_b}, {arg_c, out}};
    if (bias != nullptr) args.emplace(DNNL_ARG_BIAS, *bias);
    plan->primitive.execute(stream, args);
    plan->c.finish(stream, out, c);
    stream.wait();
    return true;
  } catch (const dnnl::error&) {
    return false;
  }
}

memory wrap(const memory::desc& desc, const float* data) {
  // oneDNN takes a mutable pointer; read-only operands are only read.
  return memory(desc, cpu_engine(), const_cast<float*>(data));
}

}  // namespace

bool onednn_conv2d_forward(const Conv2dShape& s, const float* x, const float* weight, const float* bias, float* y) {
  if (!usable(s)) return false;
  const memory b = bias ? wrap({{s.c_out}, memory::data_type::f32, Tag::x}, bias) : memory();
  return run(find_plan(Direction::forward, s, bias != nullptr), DNNL_ARG_SRC, wrap(plain_input(s), x),
             DNNL_ARG_WEIGHTS, wrap(plain_weight(s), weight), DNNL_ARG_DST, wrap(plain_output(s), y),
             bias ? &b : nullptr);
}

bool onednn_conv2d_backward_input(const Conv2dShape& s, const float* grad_y, const float* weight, float* grad_x) {
  if (!usable(s)) return false;
  return run(find_plan(Direction::backward_input, s, false), DNNL_ARG_DIFF_DST, wrap(plain_output(s), grad_y),
             DNNL_ARG_WEIGHTS, wrap(plain_weight(s), weight), DNNL_ARG_DIFF_SRC, wrap(plain_input(s), grad_x));
}

bool onednn_conv2d_backward_weight(const Conv2dShape& s, const float* x, const float* grad_y, float* grad_w) {
  if (!usable(s)) return false;
  return run(find_plan(Direction::backward_weight, s, false), DNNL_ARG_SRC, wrap(plain_input(s), x),
             DNNL_ARG_DIFF_DST, wrap(plain_output(s), grad_y), DNNL_ARG_DIFF_WEIGHTS,
             wrap(plain_weight(s), grad_w));
}

#endif

}  // namespace cr::cpu
