#include "chainrule/data/dataset.h"

#include <string>

namespace cr::data {

Subset::Subset(std::shared_ptr<const Dataset> source, std::int64_t count, SourceLocation loc)
    : source_(std::move(source)), count_(count) {
  if (!source_) throw_error("Subset", "got no dataset", loc);
  if (count < 0 || count > source_->size())
    throw_error("Subset", "count " + std::to_string(count) + " is outside [0, " + std::to_string(source_->size()) + "]",
                loc);
}

Batch Subset::get_batch(const std::vector<std::int64_t>& indices, SourceLocation loc) const {
  check_indices(indices, loc);  // against count_, not the source's size
  return source_->get_batch(indices, loc);
}

}  // namespace cr::data
