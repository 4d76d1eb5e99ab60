#ifndef THB_COMMON_SECRET_FILE_H_
#define THB_COMMON_SECRET_FILE_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace thb {

// A password or a key is short; a path naming something large (a log, a
// device) is a mistake to refuse rather than read.
inline constexpr size_t kMaxSecretFileBytes = 4096;

// The bytes of the file at `path`, at most kMaxSecretFileBytes. Errors are
// INVALID_ARGUMENT and name `what` (a flag, say) and the path, never the
// content: "--redis_password_file \"/run/x\": cannot open: ...".
absl::StatusOr<std::string> ReadSecretFile(std::string_view what,
                                           const std::string& path);

}  // namespace thb

#endif  // THB_COMMON_SECRET_FILE_H_
