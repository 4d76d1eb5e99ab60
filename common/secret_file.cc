#include "common/secret_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/string_view.h"

namespace thb {

absl::StatusOr<std::string> ReadSecretFile(std::string_view what,
                                           const std::string& path) {
  auto refused = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat(ToAbsl(what), " \"", path, "\": ", ToAbsl(why)));
  };
  if (path.empty()) return refused("no path given");
  std::ifstream in(path, std::ios::binary);
  if (!in) return refused(absl::StrCat("cannot open: ", std::strerror(errno)));
  // One byte more than allowed tells a file at the limit from a longer one.
  std::string content(kMaxSecretFileBytes + 1, '\0');
  in.read(content.data(), static_cast<std::streamsize>(content.size()));
  if (in.bad()) return refused("cannot read");
  content.resize(static_cast<size_t>(in.gcount()));
  if (content.size() > kMaxSecretFileBytes) {
    return refused(absl::StrCat("longer than ", kMaxSecretFileBytes, " bytes"));
  }
  return content;
}

}  // namespace thb
