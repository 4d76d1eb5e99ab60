#ifndef THB_COMMON_ETAG_H_
#define THB_COMMON_ETAG_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace thb {

// The etag of revision `revision` of the resource `id` in `scope` (a
// resource type, as a service names it: "record", "1"): sixteen hex digits
// of a fingerprint of "<scope>/<id>@<revision>". Stored resources carry it,
// so the form never changes: every etag a client holds stays valid.
std::string MakeEtag(std::string_view scope, std::string_view id,
                     int64_t revision);

// OK when `sent` is empty (an unconditional write) or is `current`; else
// ABORTED naming the resource, both etags and reason ETAG_MISMATCH
// (EtagMismatch of common/errors.h).
absl::Status CheckEtag(std::string_view resource_type,
                       std::string_view resource_name, std::string_view sent,
                       std::string_view current);

}  // namespace thb

#endif  // THB_COMMON_ETAG_H_
