#include "common/reloading_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace thb {

absl::StatusOr<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file.is_open()) {
    const int error = errno;
    const std::string reason =
        absl::StrCat("cannot read \"", path, "\": ", std::strerror(error));
    if (error == EACCES) return absl::PermissionDeniedError(reason);
    return absl::NotFoundError(reason);
  }
  std::string contents;
  char buffer[16 << 10];
  while (file.read(buffer, sizeof buffer) || file.gcount() > 0) {
    contents.append(buffer, static_cast<size_t>(file.gcount()));
    if (contents.size() > kMaxReloadingFileBytes) {
      return absl::FailedPreconditionError(absl::StrCat(
          "\"", path, "\" is larger than ", kMaxReloadingFileBytes, " bytes"));
    }
  }
  return contents;
}

void LogReloadFailure(const std::string& path, const absl::Status& status) {
  THB_LOG(Warning) << "keeping the last good contents of " << path << ": "
                   << status;
}

void LogReloaded(const std::string& path) {
  THB_LOG(Info) << "reloaded " << path;
}

}  // namespace thb
