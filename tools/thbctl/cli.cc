#include "tools/thbctl/cli.h"

#include <ostream>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/grpc_status.h"
#include "common/string_view.h"
#include "common/tls.h"

namespace thb::thbctl {
namespace {

// ErrorInfo reasons of the errors thbctl makes itself; the services never
// send them.
constexpr char kUsageReason[] = "THBCTL_USAGE";
constexpr char kReportedReason[] = "THBCTL_REPORTED";

ChannelOptions ChannelOptionsOf(const Endpoints& endpoints) {
  ChannelOptions options;
  options.credentials = endpoints.credentials;
  return options;
}

}  // namespace

absl::Status UsageError(std::string_view message) {
  return WithReason(absl::InvalidArgumentError(ToAbsl(message)), kUsageReason);
}

bool IsUsageError(const absl::Status& status) {
  return ErrorReason(status) == kUsageReason;
}

absl::Status ReportedFailure(std::string_view summary) {
  return WithReason(absl::FailedPreconditionError(ToAbsl(summary)),
                    kReportedReason);
}

int ReportError(const absl::Status& status, std::ostream& err) {
  const std::string reason = ErrorReason(status);
  if (reason == kUsageReason) {
    err << "thbctl: " << status.message() << "\n"
        << "Run 'thbctl help' for the commands and flags.\n";
    return kExitUsage;
  }
  if (reason == kReportedReason) {
    err << "thbctl: " << status.message() << "\n";
    return kExitFailure;
  }
  err << "thbctl: " << absl::StatusCodeToString(status.code()) << ": "
      << status.message() << "\n";
  for (const FieldViolation& violation : FieldViolations(status)) {
    err << "  field " << violation.field << ": " << violation.description
        << "\n";
  }
  if (const std::string hint =
          SecurityHint(static_cast<grpc::StatusCode>(status.code()),
                       ToStd(status.message()));
      !hint.empty()) {
    err << "hint: " << hint << "\n";
  }
  return kExitFailure;
}

absl::Status CallError(std::string_view service, std::string_view address,
                       const grpc::Status& status) {
  absl::Status error = FromGrpcStatus(status);
  if (error.code() != absl::StatusCode::kUnavailable &&
      error.code() != absl::StatusCode::kDeadlineExceeded) {
    return error;
  }
  absl::Status named(
      error.code(), absl::StrCat(ToAbsl(service), " at ", ToAbsl(address), ": ",
                                 error.message()));
  error.ForEachPayload(
      [&](absl::string_view type_url, const absl::Cord& payload) {
        named.SetPayload(type_url, payload);
      });
  return named;
}

const Client<RegistryStub>& Clients::registry() {
  if (registry_ == nullptr) {
    registry_ = std::make_unique<Client<RegistryStub>>(
        "registry", endpoints_.registry, endpoints_.timeout,
        registry::v1::CountryRegistryService::NewStub(
            MakeChannel(endpoints_.registry, ChannelOptionsOf(endpoints_))));
  }
  return *registry_;
}

const Client<CooperationStub>& Clients::cooperation() {
  if (cooperation_ == nullptr) {
    cooperation_ = std::make_unique<Client<CooperationStub>>(
        "cooperation", endpoints_.cooperation, endpoints_.timeout,
        cooperation::v1::CooperationRecordService::NewStub(
            MakeChannel(endpoints_.cooperation, ChannelOptionsOf(endpoints_))));
  }
  return *cooperation_;
}

const Client<StatsStub>& Clients::stats() {
  if (stats_ == nullptr) {
    stats_ = std::make_unique<Client<StatsStub>>(
        "aggregator", endpoints_.aggregator, endpoints_.timeout,
        stats::v1::StatisticsService::NewStub(
            MakeChannel(endpoints_.aggregator, ChannelOptionsOf(endpoints_))));
  }
  return *stats_;
}

}  // namespace thb::thbctl
