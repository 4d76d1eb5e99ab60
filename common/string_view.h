#ifndef THB_COMMON_STRING_VIEW_H_
#define THB_COMMON_STRING_VIEW_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace thb {

// The Abseil of the target distribution is built with its own
// absl::string_view, not an alias of std::string_view, and neither converts
// to the other implicitly. The suite's APIs take std::string_view; these
// cross over where Abseil wants its own.
inline absl::string_view ToAbsl(std::string_view text) {
  return absl::string_view(text.data(), text.size());
}

inline std::string_view ToStd(absl::string_view text) {
  return std::string_view(text.data(), text.size());
}

}  // namespace thb

#endif  // THB_COMMON_STRING_VIEW_H_
