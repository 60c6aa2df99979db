#include "chainrule/core/error.h"

#include <string>

namespace cr {

std::string format_location(const SourceLocation& where) {
  std::string_view file = where.file_name();
  auto slash = file.find_last_of('/');
  if (slash != std::string_view::npos) file.remove_prefix(slash + 1);
  return std::string(file) + ":" + std::to_string(where.line());
}

Error::Error(std::string op, const std::string& what, const SourceLocation& where)
    : std::runtime_error(op + ": " + what + " (at " + format_location(where) + ")"),
      op_(std::move(op)),
      where_(where) {}

void throw_error(std::string_view op, const std::string& what, const SourceLocation& where) {
  throw Error(std::string(op), what, where);
}

}  // namespace cr
