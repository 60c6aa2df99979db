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
#include <vector>

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
bool onednn_conv2d_backward(const Conv2dShape&, const float*, const float*, const float*, float*, float*, float*) {
  return false;
}

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

memory::desc bias_desc(const Conv2dShape& s) { return {{s.c_out}, memory::data_type::f32, Tag::x}; }

dnnl::convolution_forward::primitive_desc forward_desc(const Conv2dShape& s, bool bias) {
  const Geometry g = geometry(s);
  const memory::desc src = any_layout(plain_input(s)), weights = any_layout(plain_weight(s)),
                     dst = any_layout(plain_output(s));
  using Desc = dnnl::convolution_forward::desc;
  const dnnl::prop_kind kind = dnnl::prop_kind::forward_training;
  const auto algo = dnnl::algorithm::convolution_direct;
  const Desc d = bias ? Desc(kind, algo, src, weights, bias_desc(s), dst, g.strides, g.dilations, g.padding,
                             g.padding)
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

// How one operand of a primitive moves between chainrule's plain layout and
// the layout the primitive chose: a reorder, or nothing where they agree.
struct Relayout {
  enum Role { read, written };
  Relayout(const memory::desc& plain, const memory::desc& chosen, Role role) : chosen(chosen) {
    if (plain == chosen) return;
    reorder = role == read ? dnnl::reorder({cpu_engine(), plain, cpu_engine(), chosen})
                           : dnnl::reorder({cpu_engine(), chosen, cpu_engine(), plain});
  }
  memory::desc chosen;
  std::optional<dnnl::reorder> reorder;
};

// One direction of one convolution geometry, ready to run: the primitive and
// how each of its operands is laid out. Building one JIT-compiles kernels
// (milliseconds), so plans are kept for the geometries a program meets again
// every step.
struct Plan {
  dnnl::primitive primitive;
  // Forward: x, weight read, y written. Gradient of the input: grad_y, weight
  // read, grad_x written. Gradient of the weight: x, grad_y read, grad_w written.
  Relayout a, b, out;
};

using PlanKey = std::array<std::int64_t, 18>;
PlanKey plan_key(Direction direction, const Conv2dShape& s, bool bias) {
  return {static_cast<std::int64_t>(direction), bias, s.n, s.c_in, s.h, s.w, s.c_out, s.kh, s.kw, s.stride_h,
          s.stride_w, s.pad_h, s.pad_w, s.dil_h, s.dil_w, s.groups, s.h_out, s.w_out};
}

// `bias`: the forward adds one, the gradient of the weight also sums grad_y
// into the gradient of the bias.
std::unique_ptr<Plan> build_plan(Direction direction, const Conv2dShape& s, bool bias) {
  const memory::desc x = plain_input(s), w = plain_weight(s), y = plain_output(s);
  const Geometry g = geometry(s);
  const auto algo = dnnl::algorithm::convolution_direct;
  switch (direction) {
    case Direction::forward: {
      const auto pd = forward_desc(s, bias);
      return std::make_unique<Plan>(Plan{dnnl::convolution_forward(pd), {x, pd.src_desc(), Relayout::read},
                                         {w, pd.weights_desc(), Relayout::read},
                                         {y, pd.dst_desc(), Relayout::written}});
    }
    case Direction::backward_input: {
      const dnnl::convolution_backward_data::desc d(algo, any_layout(x), any_layout(w), any_layout(y), g.strides,
                                                     g.dilations, g.padding, g.padding);
      const dnnl::convolution_backward_data::primitive_desc pd(d, cpu_engine(), forward_desc(s, false));
      return std::make_unique<Plan>(Plan{dnnl::convolution_backward_data(pd),
                                         {y, pd.diff_dst_desc(), Relayout::read},
                                         {w, pd.weights_desc(), Relayout::read},
                                         {x, pd.diff_src_desc(), Relayout::written}});
    }
    case Direction::backward_weight: {
      using Desc = dnnl::convolution_backward_weights::desc;
      const Desc d = bias ? Desc(algo, any_layout(x), any_layout(w), bias_desc(s), any_layout(y), g.strides,
                                 g.dilations, g.padding, g.padding)
                          : Desc(algo, any_layout(x), any_layout(w), any_layout(y), g.strides, g.dilations,
                                 g.padding, g.padding);
      const dnnl::convolution_backward_weights::primitive_desc pd(d, cpu_engine(), forward_desc(s, bias));
      return std::make_unique<Plan>(Plan{dnnl::convolution_backward_weights(pd),
                                         {x, pd.src_desc(), Relayout::read},
                                         {y, pd.diff_dst_desc(), Relayout::read},
                                         {w, pd.diff_weights_desc(), Relayout::written}});
    }
  }
  return nullptr;
}

// The plan for a geometry, built on first use; null where oneDNN declines it
// (remembered too, so it is asked once). Plans live as long as the program
// and are never replaced, so a pointer stays valid without the lock.
const Plan* find_plan(Direction direction, const Conv2dShape& s, bool bias) {
  // The engine first: statics die in reverse order, and the plans use it.
  cpu_engine();
  static std::mutex mutex;
  static std::map<PlanKey, std::unique_ptr<Plan>> plans;
  // A program that keeps changing shapes (variable image sizes) would grow the
  // map without bound: past this many it stops remembering new geometries.
  constexpr std::size_t kMaxPlans = 256;
  const PlanKey key = plan_key(direction, s, bias);
  std::lock_guard lock(mutex);
  if (auto it = plans.find(key); it != plans.end()) return it->second.get();
  if (plans.size() >= kMaxPlans) return nullptr;
  std::unique_ptr<Plan> plan;
  try {
    plan = build_plan(direction, s, bias);
  } catch (const dnnl::error&) {
    // No implementation for this geometry: the caller's kernels answer.
  }
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

memory wrap(const memory::desc& desc, const float* data) {
  // oneDNN takes a mutable pointer; read-only operands are only read.
  return memory(desc, cpu_engine(), const_cast<float*>(data));
}

// Runs primitives on plain operands: reorders what they read into the layouts
// they chose (each operand once, however many primitives read it) and gives
// them scratch buffers to write in their layouts, which finish() reorders
// into the plain outputs.
class Execution {
 public:
  Execution() : stream_(cpu_engine()) {}

  memory read(const Relayout& r, const memory& plain) {
    if (!r.reorder) return plain;
    for (const Copy& c : copies_)
      if (c.plain.get_data_handle() == plain.get_data_handle() && c.copy.get_desc() == r.chosen) return c.copy;
    auto buffer = std::make_unique<Scratch>(r.chosen.get_size());
    memory from = plain, copy(r.chosen, cpu_engine(), buffer->data());  // handles: copies share the data
    r.reorder->execute(stream_, from, copy);
    copies_.push_back({plain, copy, std::move(buffer)});
    return copy;
  }

  memory write(const Relayout& r, const memory& plain) {
    if (!r.reorder) return plain;
    auto buffer = std::make_unique<Scratch>(r.chosen.get_size());
    memory out(r.chosen, cpu_engine(), buffer->data());
    pending_.push_back({&*r.reorder, out, plain, std::move(buffer)});
    return out;
  }

  void run(const Plan& plan, const std::unordered_map<int, memory>& args) { plan.primitive.execute(stream_, args); }

  // Moves what the primitives run so far wrote into its plain outputs and
  // hands their buffers back, for the next primitive's copies to reuse.
  void finish() {
    for (Pending& p : pending_) p.reorder->execute(stream_, p.from, p.to);
    stream_.wait();
    pending_.clear();
  }

 private:
  struct Copy {
    memory plain, copy;
    std::unique_ptr<Scratch> buffer;
  };
  struct Pending {
    const dnnl::reorder* reorder;
    memory from, to;
    std::unique_ptr<Scratch> buffer;
  };
  dnnl::stream stream_;
  std::vector<Copy> copies_;
  std::vector<Pending> pending_;
};

}  // namespace

bool onednn_conv2d_forward(const Conv2dShape& s, const float* x, const float* weight, const float* bias, float* y) {
  if (!usable(s)) return false;
  const Plan* plan = find_plan(Direction::forward, s, bias != nullptr);
  if (plan == nullptr) return false;
  try {
    Execution e;
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, e.read(plan->a, wrap(plain_input(s), x))},
                                         {DNNL_ARG_WEIGHTS, e.read(plan->b, wrap(plain_weight(s), weight))},
                                         {DNNL_ARG_DST, e.write(plan->out, wrap(plain_output(s), y))}};
    if (bias) args.emplace(DNNL_ARG_BIAS, wrap(bias_desc(s), bias));
    e.run(*plan, args);
    e.finish();
    return true;
  } catch (const dnnl::error&) {
    return false;  // the caller's fallback overwrites all of y
  }
}

bool onednn_conv2d_backward(const Conv2dShape& s, const float* x, const float* grad_y, const float* weight,
                            float* grad_x, float* grad_w, float* grad_b) {
  if (!usable(s) || (grad_b && !grad_w)) return false;
  const Plan* data = grad_x ? find_plan(Direction::backward_input, s, false) : nullptr;
  const Plan* weights = grad_w ? find_plan(Direction::backward_weight, s, grad_b != nullptr) : nullptr;
  if ((grad_x && !data) || (grad_w && !weights)) return false;
  try {
    Execution e;
    const memory gy = wrap(plain_output(s), grad_y);
    if (data) {
      e.run(*data, {{DNNL_ARG_DIFF_DST, e.read(data->a, gy)},
                    {DNNL_ARG_WEIGHTS, e.read(data->b, wrap(plain_weight(s), weight))},
                    {DNNL_ARG_DIFF_SRC, e.write(data->out, wrap(plain_input(s), grad_x))}});
      e.finish();  // grad_x's buffer is the size of x's copy below: it is reused
    }
    if (weights) {
      std::unordered_map<int, memory> args{
          {DNNL_ARG_SRC, e.read(weights->a, wrap(plain_input(s), x))},
          {DNNL_ARG_DIFF_DST, e.read(weights->b, gy)},
          {DNNL_ARG_DIFF_WEIGHTS, e.write(weights->out, wrap(plain_weight(s), grad_w))}};
      if (grad_b) args.emplace(DNNL_ARG_DIFF_BIAS, wrap(bias_desc(s), grad_b));
      e.run(*weights, args);
    }
    e.finish();
    return true;
  } catch (const dnnl::error&) {
    return false;  // the caller's fallback overwrites every output
  }
}

#endif

}  // namespace cr::cpu
