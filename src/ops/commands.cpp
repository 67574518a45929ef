// Identifiers of the operations the money path records.
#include "evoucher/ops/commands.hpp"

namespace evoucher::ops {

std::string operation_ref(const char* prefix, const std::string& district, std::int64_t id) {
  return std::string(prefix) + "-" + district + "-" + std::to_string(id);
}

}  // namespace evoucher::ops
