#ifndef THB_COMMON_PAGE_TOKEN_H_
#define THB_COMMON_PAGE_TOKEN_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace thb {

// An opaque, URL-safe page token: the key of the last item returned and a
// fingerprint of the request's filters, so a token replayed with other
// filters is refused instead of silently skipping items.
std::string EncodePageToken(std::string_view last_key, uint64_t filter_hash);

// The last key of a token made by EncodePageToken with the same
// `filter_hash`. Anything else is INVALID_ARGUMENT on field "page_token".
// An empty token decodes to an empty key (the first page).
absl::StatusOr<std::string> DecodePageToken(std::string_view token,
                                            uint64_t filter_hash);

// The page size to use: 0 → `default_size`, over `max_size` → `max_size`,
// negative → INVALID_ARGUMENT on field "page_size".
absl::StatusOr<int> EffectivePageSize(int32_t requested, int default_size,
                                      int max_size);

}  // namespace thb

#endif  // THB_COMMON_PAGE_TOKEN_H_
