#pragma once
// cr::Error: the one exception type chainrule throws for bad input.
// Its message starts with the op's name, shows the shapes and dtypes involved,
// and ends with the caller's file:line, so a user can act on it.

#include <source_location>
#include <stdexcept>
#include <string>
#include <string_view>

namespace cr {

using SourceLocation = std::source_location;

// The defaulted last parameter of every public op: the caller's file:line.
#define CR_LOC ::cr::SourceLocation loc = ::cr::SourceLocation::current()

class Error : public std::runtime_error {
 public:
  Error(std::string op, const std::string& what, const SourceLocation& where);

  /// The op that rejected its input ("matmul", "backward", ...).
  const std::string& op() const { return op_; }
  /// Where the user called the op.
  const SourceLocation& where() const { return where_; }

 private:
  std::string op_;
  SourceLocation where_;
};

/// "file.cpp:12", with the directory part of the file name dropped.
std::string format_location(const SourceLocation& where);

[[noreturn]] void throw_error(std::string_view op, const std::string& what,
                              const SourceLocation& where);

}  // namespace cr
