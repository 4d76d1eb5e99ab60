#ifndef THB_COMMON_ERRORS_H_
#define THB_COMMON_ERRORS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace thb {

// One wrong field of a request: its path ("country.code",
// "filter.emn_statuses[1]") and why its value is refused.
struct FieldViolation {
  std::string field;
  std::string description;
};

// Errors are absl::Status values built here. Structured details travel as
// payloads (google.rpc messages, serialized), so cores stay free of gRPC
// types and one function (ToGrpcStatus) turns them into google.rpc details.

// A refused value as a message shows it: C-escaped, and cut after
// `max_chars` with "..." so that a huge or binary value cannot flood the
// message.
std::string ShownValue(std::string_view text, size_t max_chars = 32);
// The same between double quotes: "ZZ".
std::string QuotedValue(std::string_view text);

// INVALID_ARGUMENT naming one field and the refused value.
// Message: "<field>: <description>".
absl::Status InvalidArgument(std::string_view field,
                             std::string_view description);
// INVALID_ARGUMENT with several violations, the first one in the message.
absl::Status InvalidArgument(std::vector<FieldViolation> violations);

// NOT_FOUND for a resource: `NotFound("country", "XX")` says
// `country "XX" not found`.
absl::Status NotFound(std::string_view resource_type,
                      std::string_view resource_name);
// ALREADY_EXISTS for a resource.
absl::Status AlreadyExists(std::string_view resource_type,
                           std::string_view resource_name);
// ABORTED: the etag the client sent is not the current one.
absl::Status EtagMismatch(std::string_view resource_type,
                          std::string_view resource_name,
                          std::string_view sent_etag,
                          std::string_view current_etag);
// OUT_OF_RANGE for a watch from a revision older than the kept history.
absl::Status RevisionCompacted(int64_t requested, int64_t oldest_kept);

// OUT_OF_RANGE for a watch from a revision the store has not reached: it was
// reset or restored from an older copy, and the caller must list again.
absl::Status RevisionAhead(int64_t requested, int64_t current);

// OUT_OF_RANGE for a watch from a revision of another life of the store.
absl::Status IncarnationChanged(const std::string& requested,
                                const std::string& current);

// Attaches a machine-readable reason (google.rpc.ErrorInfo.reason, in
// UPPER_SNAKE_CASE) and metadata to `status`; a no-op on OK.
absl::Status WithReason(
    absl::Status status, std::string_view reason,
    std::vector<std::pair<std::string, std::string>> metadata = {});

// The field violations carried by `status`, if any.
std::vector<FieldViolation> FieldViolations(const absl::Status& status);
// The ErrorInfo reason carried by `status`, or "".
std::string ErrorReason(const absl::Status& status);

}  // namespace thb

#endif  // THB_COMMON_ERRORS_H_
