#include "common/errors.h"

#include <optional>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/types/optional.h"
#include "common/string_view.h"
#include "google/rpc/error_details.pb.h"

namespace thb {
namespace {

// The type URLs a google.protobuf.Any of these messages carries, so the
// payloads turn into google.rpc details without any renaming.
constexpr char kBadRequestUrl[] = "type.googleapis.com/google.rpc.BadRequest";
constexpr char kErrorInfoUrl[] = "type.googleapis.com/google.rpc.ErrorInfo";

template <typename Message>
std::optional<Message> ParsePayload(const absl::Status& status,
                                    std::string_view type_url) {
  absl::optional<absl::Cord> payload = status.GetPayload(ToAbsl(type_url));
  if (!payload.has_value()) return std::nullopt;
  Message message;
  if (!message.ParseFromString(std::string(*payload))) return std::nullopt;
  return message;
}

void SetPayload(absl::Status& status, std::string_view type_url,
                const google::protobuf::MessageLite& message) {
  status.SetPayload(ToAbsl(type_url), absl::Cord(message.SerializeAsString()));
}

absl::Status WithViolations(absl::Status status,
                            const std::vector<FieldViolation>& violations) {
  google::rpc::BadRequest bad_request;
  for (const FieldViolation& violation : violations) {
    auto* field_violation = bad_request.add_field_violations();
    field_violation->set_field(violation.field);
    field_violation->set_description(violation.description);
  }
  SetPayload(status, kBadRequestUrl, bad_request);
  return status;
}

std::string Quoted(std::string_view text) {
  return absl::StrCat("\"", ToAbsl(text), "\"");
}

}  // namespace

absl::Status InvalidArgument(std::string_view field,
                             std::string_view description) {
  return InvalidArgument(
      {FieldViolation{std::string(field), std::string(description)}});
}

absl::Status InvalidArgument(std::vector<FieldViolation> violations) {
  if (violations.empty()) {
    return WithReason(absl::InvalidArgumentError("invalid request"),
                      "INVALID_ARGUMENT");
  }
  std::string message =
      absl::StrCat(violations[0].field, ": ", violations[0].description);
  if (violations.size() > 1) {
    absl::StrAppend(&message, " (and ", violations.size() - 1,
                    violations.size() == 2 ? " more field)" : " more fields)");
  }
  return WithReason(
      WithViolations(absl::InvalidArgumentError(message), violations),
      "INVALID_ARGUMENT");
}

absl::Status NotFound(std::string_view resource_type,
                      std::string_view resource_name) {
  return WithReason(
      absl::NotFoundError(absl::StrCat(ToAbsl(resource_type), " ",
                                       Quoted(resource_name), " not found")),
      "NOT_FOUND",
      {{"resource_type", std::string(resource_type)},
       {"resource_name", std::string(resource_name)}});
}

absl::Status AlreadyExists(std::string_view resource_type,
                           std::string_view resource_name) {
  return WithReason(absl::AlreadyExistsError(
                        absl::StrCat(ToAbsl(resource_type), " ",
                                     Quoted(resource_name), " already exists")),
                    "ALREADY_EXISTS",
                    {{"resource_type", std::string(resource_type)},
                     {"resource_name", std::string(resource_name)}});
}

absl::Status EtagMismatch(std::string_view resource_type,
                          std::string_view resource_name,
                          std::string_view sent_etag,
                          std::string_view current_etag) {
  // The current etag travels in the metadata too, so a client can decide to
  // re-read without parsing the message.
  return WithReason(
      absl::AbortedError(absl::StrCat(
          "etag ", Quoted(sent_etag), " does not match the current etag ",
          Quoted(current_etag), " of ", ToAbsl(resource_type), " ",
          Quoted(resource_name))),
      "ETAG_MISMATCH",
      {{"resource_type", std::string(resource_type)},
       {"resource_name", std::string(resource_name)},
       {"etag", std::string(sent_etag)},
       {"current_etag", std::string(current_etag)}});
}

absl::Status RevisionCompacted(int64_t requested, int64_t oldest_kept) {
  return WithReason(
      absl::OutOfRangeError(absl::StrCat("from_revision ", requested,
                                         " is older than the oldest kept "
                                         "revision ",
                                         oldest_kept, "; list again")),
      "REVISION_COMPACTED",
      {{"from_revision", absl::StrCat(requested)},
       {"oldest_kept_revision", absl::StrCat(oldest_kept)}});
}

absl::Status RevisionAhead(int64_t requested, int64_t current) {
  return WithReason(
      absl::OutOfRangeError(absl::StrCat(
          "from_revision ", requested, " is beyond the store's revision ",
          current, " (the store was reset or restored); list again")),
      "REVISION_AHEAD",
      {{"from_revision", absl::StrCat(requested)},
       {"current_revision", absl::StrCat(current)}});
}

absl::Status IncarnationChanged(const std::string& requested,
                                const std::string& current) {
  return WithReason(
      absl::OutOfRangeError(absl::StrCat(
          "incarnation \"", requested, "\" is not the store's (\"", current,
          "\"): the store was replaced since; list again")),
      "INCARNATION_CHANGED",
      {{"incarnation", requested}, {"current_incarnation", current}});
}

absl::Status WithReason(
    absl::Status status, std::string_view reason,
    std::vector<std::pair<std::string, std::string>> metadata) {
  if (status.ok()) return status;
  google::rpc::ErrorInfo info =
      ParsePayload<google::rpc::ErrorInfo>(status, kErrorInfoUrl)
          .value_or(google::rpc::ErrorInfo());
  info.set_reason(std::string(reason));
  for (auto& [key, value] : metadata) {
    (*info.mutable_metadata())[key] = std::move(value);
  }
  SetPayload(status, kErrorInfoUrl, info);
  return status;
}

std::vector<FieldViolation> FieldViolations(const absl::Status& status) {
  std::vector<FieldViolation> violations;
  std::optional<google::rpc::BadRequest> bad_request =
      ParsePayload<google::rpc::BadRequest>(status, kBadRequestUrl);
  if (!bad_request.has_value()) return violations;
  for (const auto& violation : bad_request->field_violations()) {
    violations.push_back({violation.field(), violation.description()});
  }
  return violations;
}

std::string ErrorReason(const absl::Status& status) {
  std::optional<google::rpc::ErrorInfo> info =
      ParsePayload<google::rpc::ErrorInfo>(status, kErrorInfoUrl);
  return info.has_value() ? info->reason() : "";
}

}  // namespace thb

namespace thb {

std::string ShownValue(std::string_view text, size_t max_chars) {
  if (text.size() <= max_chars) return absl::CHexEscape(ToAbsl(text));
  return absl::StrCat(absl::CHexEscape(ToAbsl(text.substr(0, max_chars))),
                      "...");
}

std::string QuotedValue(std::string_view text) {
  return absl::StrCat("\"", ShownValue(text), "\"");
}

}  // namespace thb
