#include "common/page_token.h"

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/errors.h"
#include "common/fingerprint.h"
#include "common/string_view.h"

namespace thb {
namespace {

// Decoded layout: the version, the filter hash in 16 hex digits, the last key,
// and a checksum of all that in 8 hex digits. The version lets a later release
// change the layout and still refuse old tokens clearly; the checksum turns an
// edited or truncated token into an error instead of a wrong page.
constexpr char kVersion = '1';
constexpr size_t kHashDigits = 16;
constexpr size_t kChecksumDigits = 8;

std::string Checksum(std::string_view body) {
  return absl::StrFormat("%08x", static_cast<uint32_t>(Fingerprint64(body)));
}

absl::Status NotAPageToken(std::string_view token) {
  return InvalidArgument(
      "page_token",
      absl::StrCat("\"", ShownValue(token, 40),
                   "\" is not a page token returned by this method; send the "
                   "next_page_token of the previous response unchanged"));
}

}  // namespace

std::string EncodePageToken(std::string_view last_key, uint64_t filter_hash) {
  std::string body =
      absl::StrCat(absl::string_view(&kVersion, 1),
                   absl::StrFormat("%016x", filter_hash), ToAbsl(last_key));
  absl::StrAppend(&body, Checksum(body));
  return absl::WebSafeBase64Escape(body);
}

absl::StatusOr<std::string> DecodePageToken(std::string_view token,
                                            uint64_t filter_hash) {
  if (token.empty()) return std::string();
  std::string decoded;
  if (!absl::WebSafeBase64Unescape(ToAbsl(token), &decoded) ||
      decoded.size() < 1 + kHashDigits + kChecksumDigits ||
      decoded[0] != kVersion) {
    return NotAPageToken(token);
  }
  const std::string_view view(decoded);
  const std::string_view body = view.substr(0, view.size() - kChecksumDigits);
  if (view.substr(body.size()) != Checksum(body)) return NotAPageToken(token);
  uint64_t token_hash = 0;
  if (!absl::SimpleHexAtoi(ToAbsl(body.substr(1, kHashDigits)), &token_hash)) {
    return NotAPageToken(token);
  }
  if (token_hash != filter_hash) {
    return InvalidArgument(
        "page_token",
        absl::StrCat("\"", ShownValue(token, 40),
                     "\" was returned for other filters; send the filters of "
                     "the first page, or no page_token to start again"));
  }
  return std::string(body.substr(1 + kHashDigits));
}

absl::StatusOr<int> EffectivePageSize(int32_t requested, int default_size,
                                      int max_size) {
  if (requested < 0) {
    return InvalidArgument(
        "page_size",
        absl::StrCat(requested, " is negative; send 0 for the default of ",
                     default_size, " or up to ", max_size));
  }
  if (requested == 0) return default_size < max_size ? default_size : max_size;
  return requested < max_size ? static_cast<int>(requested) : max_size;
}

}  // namespace thb
