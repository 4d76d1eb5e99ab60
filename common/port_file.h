#ifndef THB_COMMON_PORT_FILE_H_
#define THB_COMMON_PORT_FILE_H_

#include <string>

#include "absl/status/status.h"

namespace thb {

// Writes `port` to `path` atomically (a temporary file renamed over it), so
// that whoever started the server with --port=0 reads a whole number or
// nothing.
absl::Status WritePortFile(const std::string& path, int port);

}  // namespace thb

#endif  // THB_COMMON_PORT_FILE_H_
