// safetensors: round trips, the exact bytes (so files move to and from
// PyTorch / Hugging Face), a hand-made file in the reference writer's layout,
// every malformed header, and saves that fail without harming the old file.

#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "chainrule/io.h"
#include "support/temp_dir.h"
#include "support/tensor_testing.h"

namespace cr::io {
namespace {

namespace fs = std::filesystem;
using Bytes = std::string;  // raw file contents
using cr::testing::expect_error;
using cr::testing::values;

using cr::testing::TempDir;

void write_file(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

Bytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

Bytes le64(std::uint64_t v) {
  Bytes b(8, '\0');
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));
  return b;
}

template <class T>
Bytes raw(const std::vector<T>& v) {
  return Bytes(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

// A file with the given JSON header (unpadded) and data bytes.
Bytes file_with(const std::string& json, const Bytes& data) { return le64(json.size()) + json + data; }

void expect_same(const Tensor& a, const Tensor& b, const std::string& name) {
  EXPECT_EQ(a.dtype(), b.dtype()) << name;
  EXPECT_EQ(a.sizes(), b.sizes()) << name;
  EXPECT_EQ(values(a), values(b)) << name;
}

TEST(Safetensors, RoundTripsEveryDtypeAndShape) {
  TempDir dir;
  TensorMap tensors;
  tensors["f32"] = randn({3, 4});
  tensors["f64"] = randn({2, 3, 2}, kFloat64);
  tensors["i64"] = tensor(std::vector<std::int64_t>{-5, 0, 7, INT64_MAX, INT64_MIN}, {5});
  tensors["bool"] = randn({4, 2}).gt(0.0);
  tensors["scalar"] = scalar_tensor(3.5, kFloat64);
  tensors["empty"] = zeros({0, 3});
  tensors["empty_i64"] = zeros({2, 0}, kInt64);
  tensors["transposed"] = randn({3, 5}).t();             // non-contiguous
  tensors["sliced"] = randn({6, 4}, kFloat64).slice(0, 1, 6, 2);  // strided rows
  tensors["layers.0.weight"] = randn({2, 2}).requires_grad_();
  const Metadata metadata = {{"format", "pt"}, {"epoch", "7"}, {"note", "ünïcödé \"quoted\""}};
  save_tensors(tensors, dir / "all.safetensors", metadata);

  const SafetensorsFile file = read_safetensors(dir / "all.safetensors");
  EXPECT_EQ(file.metadata, metadata);
  ASSERT_EQ(file.tensors.size(), tensors.size());
  for (const auto& [name, t] : tensors) {
    ASSERT_TRUE(file.tensors.contains(name)) << name;
    const Tensor& loaded = file.tensors.at(name);
    expect_same(loaded, t, name);
    EXPECT_TRUE(loaded.is_contiguous()) << name;
    EXPECT_FALSE(loaded.requires_grad()) << name;
  }
  EXPECT_EQ(load_tensors(dir / "all.safetensors").size(), tensors.size());

  save_tensors({}, dir / "none.safetensors");
  EXPECT_TRUE(load_tensors(dir / "none.safetensors").empty());
  EXPECT_EQ(read_file(dir / "none.safetensors"), le64(8) + "{}      ");
}

TEST(Safetensors, ExactBytesOfATinyFile) {
  TempDir dir;
  save_tensors({{"b", tensor({1.0, -2.0})}, {"a", tensor(std::vector<std::int64_t>{258}, {1, 1})}}, dir / "tiny.safetensors",
               {{"format", "pt"}});
  // Metadata first, then tensors by name; offsets follow the same order.
  std::string json =
      R"({"__metadata__":{"format":"pt"},)"
      R"("a":{"dtype":"I64","shape":[1,1],"data_offsets":[0,8]},)"
      R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})";
  json.append((8 - json.size() % 8) % 8, ' ');
  const Bytes data = raw(std::vector<std::int64_t>{258}) + raw(std::vector<float>{1.0f, -2.0f});
  const Bytes expected = le64(json.size()) + json + data;
  const Bytes actual = read_file(dir / "tiny.safetensors");
  EXPECT_EQ(actual, expected);
  EXPECT_EQ(actual.size() % 8, 0u);  // header padded: data starts 8-byte aligned
  // Little-endian on disk, spelled out.
  EXPECT_EQ(actual.substr(8 + json.size(), 8), Bytes("\x02\x01\0\0\0\0\0\0", 8));
  EXPECT_EQ(actual.substr(8 + json.size() + 8, 4), Bytes("\0\0\x80\x3f", 4));
}

TEST(Safetensors, LoadsAFileInTheReferenceWritersLayout) {
  // As Python's safetensors.torch.save_file writes it: keys in its own order,
  // data sorted by dtype alignment then name, header padded with spaces.
  TempDir dir;
  std::string json =
      R"({"__metadata__":{"format":"pt"},"weight":{"dtype":"F32","shape":[2,2],"data_offsets":[17,33]},)"
      R"("steps":{"dtype":"I64","shape":[],"data_offsets":[8,16]},)"
      R"("mean":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},)"
      R"( "mask" : {"dtype":"BOOL","shape":[1],"data_offsets":[16,17]}, "bias":{"dtype":"F32","shape":[0],"data_offsets":[33,33]}})";
  json.append((8 - json.size() % 8) % 8, ' ');
  const Bytes data = raw(std::vector<double>{0.25}) + raw(std::vector<std::int64_t>{1000}) + Bytes("\x01", 1) +
                     raw(std::vector<float>{1, 2, 3, 4});
  write_file(dir / "torch.safetensors", le64(json.size()) + json + data);
  const SafetensorsFile file = read_safetensors(dir / "torch.safetensors");
  EXPECT_EQ(file.metadata, (Metadata{{"format", "pt"}}));
  ASSERT_EQ(file.tensors.size(), 5u);
  EXPECT_EQ(file.tensors.at("weight").sizes(), Shape({2, 2}));
  EXPECT_EQ(values(file.tensors.at("weight")), (std::vector<double>{1, 2, 3, 4}));
  EXPECT_EQ(file.tensors.at("steps").dim(), 0);
  EXPECT_EQ(file.tensors.at("steps").item<std::int64_t>(), 1000);
  EXPECT_EQ(file.tensors.at("mean").dtype(), kFloat64);
  EXPECT_EQ(values(file.tensors.at("mean")), (std::vector<double>{0.25}));
  EXPECT_EQ(file.tensors.at("mask").dtype(), kBool);
  EXPECT_EQ(values(file.tensors.at("mask")), (std::vector<double>{1}));
  EXPECT_EQ(file.tensors.at("bias").numel(), 0);
}

// Writes `bytes` and expects load_tensors to reject them with `fragment`.
void expect_rejected(const TempDir& dir, const Bytes& bytes, const std::string& fragment) {
  const std::string path = dir / "bad.safetensors";
  write_file(path, bytes);
  expect_error([&] { load_tensors(path); }, "load_tensors", fragment);
  expect_error([&] { load_tensors(path); }, "load_tensors", "bad.safetensors: ");  // names the file
}

const Bytes kFourFloats = raw(std::vector<float>{1, 2, 3, 4});

std::string one_tensor(const std::string& fields) { return R"({"x":{)" + fields + "}}"; }

TEST(Safetensors, RejectsBrokenFraming) {
  TempDir dir;
  expect_error([&] { load_tensors(dir / "missing.safetensors"); }, "load_tensors", "cannot open");
  expect_rejected(dir, "abc", "too short (3 bytes)");
  expect_rejected(dir, le64(200'000'000) + "{}", "header length 200000000 exceeds the limit of 100000000");
  expect_rejected(dir, le64(~std::uint64_t{0}) + "{}", "exceeds the limit");
  expect_rejected(dir, le64(50) + "{}", "header length 50 is larger than the 2 bytes after it");
  expect_rejected(dir, le64(2) + "[]", "does not start with '{'");
  expect_rejected(dir, le64(0), "does not start with '{'");
  expect_rejected(dir, file_with(R"({"x":{"dtype":"F32",)", ""), "invalid JSON header");
  expect_rejected(dir, file_with("{} trailing", ""), "invalid JSON header");
  expect_rejected(dir, file_with("{\"\xff\xfe\":1}", ""), "invalid JSON header");  // not UTF-8
}

TEST(Safetensors, RejectsBadEntries) {
  TempDir dir;
  const std::string shape = R"("shape":[4],)";
  const std::string offsets = R"("data_offsets":[0,16])";
  expect_rejected(dir, file_with(one_tensor(R"("dtype":"F16",)" + shape + offsets), kFourFloats),
                  R"(tensor 'x': unsupported dtype "F16")");
  expect_rejected(dir, file_with(one_tensor(R"("dtype":32,)" + shape + offsets), kFourFloats), "dtype must be a string");
  expect_rejected(dir, file_with(one_tensor(R"("dtype":"F32",)" + offsets), kFourFloats), "missing field 'shape'");
  expect_rejected(dir, file_with(one_tensor(R"("dtype":"F32",)" + shape + offsets + R"(,"extra":1)"), kFourFloats),
                  "unknown field 'extra'");
  expect_rejected(dir, file_with(R"({"x":[1,2]})", kFourFloats), "expected an object");
  expect_rejected(dir, file_with(one_tensor(R"("dtype":"F32","shape":[-4],)" + offsets), kFourFloats),
                  "holds -4, not a dim");
  expect_rejected(dir, file_with(one_tensor(R"("dtype":"F32","shape":[2.0,2],)" + offsets), kFourFloats),
                  "not a dim");
  expect_rejected(dir, file_with(one_tensor(R"("dtype":"F32","shape":4,)" + offsets), kFourFloats),
                  "shape must be an array");
  expect_rejected(dir, file_with(one_tensor(R"("dtype":"F32","shape":[1,1,1,1,1,1,1,1,4],)" + offsets), kFourFloats),
                  "more than 8 dims");
  // Shape and offsets disagree.
  expect_rejected(dir, file_with(one_tensor(R"("dtype":"F32","shape":[3],)" + offsets), kFourFloats),
                  "shape [3] F32 needs 12 bytes, but data_offsets [0,16] span 16");
  expect_rejected(dir, file_with(one_tensor(R"("dtype":"F64","shape":[4],)" + offsets), kFourFloats), "needs 32 bytes");
  // A shape whose element count overflows 64 bits.
  expect_rejected(dir,
                  file_with(one_tensor(R"("dtype":"F32","shape":[4611686018427387904,4611686018427387904],)" + offsets),
                            kFourFloats),
                  "needs more than 2^64 bytes");
  expect_rejected(dir, file_with(one_tensor(R"("dtype":"F32",)" + shape + R"("data_offsets":[0,16,3])"), kFourFloats),
                  "data_offsets must be [begin, end]");
  expect_rejected(dir, file_with(one_tensor(R"("dtype":"F32",)" + shape + R"("data_offsets":[-1,15])"), kFourFloats),
                  "data_offsets must be [begin, end]");
  expect_rejected(dir, file_with(one_tensor(R"("dtype":"F32","shape":[0],"data_offsets":[16,0])"), kFourFloats),
                  "end before they begin");
  expect_rejected(dir, file_with(one_tensor(R"("dtype":"F32",)" + shape + R"("data_offsets":[0,20])"), kFourFloats),
                  "out of range: the data region holds 16 bytes");
  expect_rejected(dir, file_with(R"({"__metadata__":{"epoch":7}})", ""), "__metadata__ value of 'epoch' must be a string");
  expect_rejected(dir, file_with(R"({"__metadata__":["a"]})", ""), "__metadata__ must be an object");
  expect_rejected(dir, file_with(R"({"x":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}})", Bytes("\x01\x02", 2)),
                  "BOOL tensor 'x' holds byte 2 at element 1");
  expect_rejected(dir, file_with(R"({"x":{"dtype":"F32","shape":[[[[1]]]],"data_offsets":[0,4]}})", Bytes(4, '\0')),
                  "nests deeper");
}

TEST(Safetensors, RejectsDataThatTheTensorsDoNotTileExactly) {
  TempDir dir;
  auto two = [](const std::string& a, const std::string& b) {
    return R"({"a":{"dtype":"F32","shape":[2],"data_offsets":)" + a + R"(},"b":{"dtype":"F32","shape":[2],"data_offsets":)" +
           b + "}}";
  };
  expect_rejected(dir, file_with(two("[0,8]", "[4,12]"), kFourFloats), "tensors 'a' and 'b' overlap");
  expect_rejected(dir, file_with(two("[0,8]", "[0,8]"), kFourFloats), "overlap");
  expect_rejected(dir, file_with(two("[0,8]", "[12,20]"), kFourFloats + Bytes(4, '\0')),
                  "data bytes [8, 12) belong to no tensor (a gap before 'b')");
  expect_rejected(dir, file_with(two("[0,8]", "[8,16]"), kFourFloats + "xyz"),
                  "3 bytes of data after the last tensor");
  expect_rejected(dir, file_with("{}", "junk"), "4 bytes of data after the last tensor");
  // An empty tensor inside another's bytes overlaps it too.
  expect_rejected(dir,
                  file_with(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                            R"("e":{"dtype":"F32","shape":[0],"data_offsets":[8,8]}})",
                            kFourFloats),
                  "overlap");
  // Duplicate names, which a plain JSON parser would resolve silently.
  expect_rejected(dir,
                  file_with(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                            R"("a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                            kFourFloats),
                  "duplicate key 'a'");
  expect_rejected(dir, file_with(one_tensor(R"("dtype":"F32","shape":[4],"shape":[4],"data_offsets":[0,16])"), kFourFloats),
                  "duplicate key 'shape'");
  // The same tiling, listed out of order, is fine.
  write_file(dir / "ok.safetensors", file_with(two("[8,16]", "[0,8]"), kFourFloats));
  const TensorMap ok = load_tensors(dir / "ok.safetensors");
  EXPECT_EQ(values(ok.at("a")), (std::vector<double>{3, 4}));
  EXPECT_EQ(values(ok.at("b")), (std::vector<double>{1, 2}));
}

TEST(Safetensors, SaveErrors) {
  TempDir dir;
  expect_error([&] { save_tensors({{"w", Tensor{}}}, dir / "x.safetensors"); }, "save_tensors", "tensor 'w' is undefined");
  expect_error([&] { save_tensors({{"__metadata__", ones({1})}}, dir / "x.safetensors"); }, "save_tensors", "reserved");
  expect_error([&] { save_tensors({{"\xff", ones({1})}}, dir / "x.safetensors"); }, "save_tensors", "not valid UTF-8");
  expect_error([&] { save_tensors({{"w", ones({1})}}, dir / "no/such/dir/x.safetensors"); }, "save_tensors",
               "cannot create the temporary file");
  expect_error([&] { save_tensors({{"w", ones({1})}}, dir / ""); }, "save_tensors", "cannot rename");
  EXPECT_TRUE(dir.files().empty()) << "a failed save left files behind";
}

TEST(Safetensors, FailedSavesLeaveTheOldFileIntact) {
  TempDir dir;
  const std::string path = dir / "model.safetensors";
  save_tensors({{"w", tensor({1.0, 2.0, 3.0})}}, path, {{"version", "1"}});
  const Bytes good = read_file(path);

  // Fails before writing: an undefined tensor.
  EXPECT_THROW(save_tensors({{"a", ones({2})}, {"w", Tensor{}}}, path), Error);
  EXPECT_EQ(read_file(path), good);

  // Fails midway through writing the data: the file-size limit stops write()
  // with EFBIG after 4 KiB of the 400 KB payload.
  rlimit old_limit{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small = old_limit;
  small.rlim_cur = 4096;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  bool threw = false;
  try {
    save_tensors({{"w", zeros({100000})}}, path);
  } catch (const Error& e) {
    threw = true;
    EXPECT_NE(std::string(e.what()).find("cannot write"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("the previous file, if any, is intact"), std::string::npos) << e.what();
  }
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old_limit), 0);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_TRUE(threw);
  EXPECT_EQ(read_file(path), good);
  EXPECT_EQ(read_safetensors(path).metadata.at("version"), "1");
  EXPECT_EQ(dir.files(), std::vector<std::string>{"model.safetensors"}) << "the temporary file was left behind";

  // A successful save replaces it.
  save_tensors({{"w", tensor({4.0})}}, path);
  EXPECT_EQ(values(load_tensors(path).at("w")), (std::vector<double>{4}));
  EXPECT_EQ(dir.files(), std::vector<std::string>{"model.safetensors"});
}

TEST(Safetensors, PrefixHelpersComposeCheckpoints) {
  const TensorMap model = {{"fc.weight", ones({2})}, {"fc.bias", zeros({1})}};
  const TensorMap optim = {{"state.0.momentum", ones({2})}};
  TensorMap all = with_prefix(model, "model.");
  all.merge(with_prefix(optim, "optim."));
  EXPECT_EQ(all.size(), 3u);
  EXPECT_TRUE(all.contains("model.fc.weight"));
  EXPECT_TRUE(all.at("model.fc.bias").is_same(model.at("fc.bias")));
  const TensorMap back = strip_prefix(all, "model.");
  EXPECT_EQ(back.size(), 2u);
  EXPECT_TRUE(back.at("fc.weight").is_same(model.at("fc.weight")));
  EXPECT_EQ(strip_prefix(all, "optim.").size(), 1u);
}

}  // namespace
}  // namespace cr::io
