#include "common/grpc_status.h"

#include <string>

#include "absl/strings/cord.h"
#include "common/string_view.h"
#include "google/protobuf/any.pb.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace thb {
namespace {

constexpr char kErrorInfoUrl[] = "type.googleapis.com/google.rpc.ErrorInfo";

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status, std::string_view domain) {
  if (status.ok()) return grpc::Status::OK;

  google::rpc::Status rpc_status;
  rpc_status.set_code(static_cast<int>(status.code()));
  rpc_status.set_message(std::string(status.message()));

  // Every payload already is a serialized google.rpc message under its type
  // URL, so each one becomes an Any as it is; only the ErrorInfo is completed
  // here, because the domain is the caller's and a reason is always sent.
  google::rpc::ErrorInfo info;
  status.ForEachPayload(
      [&](absl::string_view type_url, const absl::Cord& payload) {
        if (type_url == kErrorInfoUrl) {
          info.ParseFromString(std::string(payload));
          return;
        }
        google::protobuf::Any* any = rpc_status.add_details();
        any->set_type_url(std::string(type_url));
        any->set_value(std::string(payload));
      });
  if (info.reason().empty()) {
    // absl spells the canonical codes in UPPER_SNAKE_CASE already.
    info.set_reason(absl::StatusCodeToString(status.code()));
  }
  info.set_domain(std::string(domain));
  google::protobuf::Any* any = rpc_status.add_details();
  any->set_type_url(kErrorInfoUrl);
  any->set_value(info.SerializeAsString());

  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()),
                      rpc_status.SerializeAsString());
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  absl::Status result(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
  google::rpc::Status rpc_status;
  // Details from a peer that sends none, or garbage, still leave the code and
  // the message, which is all a plain gRPC status has.
  if (status.error_details().empty() ||
      !rpc_status.ParseFromString(status.error_details())) {
    return result;
  }
  for (const google::protobuf::Any& detail : rpc_status.details()) {
    result.SetPayload(detail.type_url(), absl::Cord(detail.value()));
  }
  return result;
}

}  // namespace thb
