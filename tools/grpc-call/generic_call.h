#ifndef THB_TOOLS_GRPC_CALL_GENERIC_CALL_H_
#define THB_TOOLS_GRPC_CALL_GENERIC_CALL_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/support/status.h"

namespace thb::grpc_call {

// Where an error status keeps the serialized google.rpc.Status of the
// grpc-status-details-bin trailer.
inline constexpr absl::string_view kStatusDetailsPayload =
    "type.googleapis.com/google.rpc.Status";

// The status of a finished call, with its details trailer as a payload.
absl::Status StatusFromRpc(const grpc::Status& status);

// Calls `method` ("/package.Service/Method") with one serialized request and
// hands each serialized response to `on_response`. Works for unary and
// server-streaming methods alike, since on the wire both are a stream that
// the client half-closes after its one message. When `on_response` returns
// false the call is cancelled; that ends it successfully.
absl::Status CallMethod(
    std::shared_ptr<grpc::Channel> channel, const std::string& method,
    const std::string& request, absl::Time deadline,
    const std::function<bool(const std::string&)>& on_response);

}  // namespace thb::grpc_call

#endif  // THB_TOOLS_GRPC_CALL_GENERIC_CALL_H_
