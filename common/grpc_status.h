#ifndef THB_COMMON_GRPC_STATUS_H_
#define THB_COMMON_GRPC_STATUS_H_

#include <string_view>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace thb {

// The one mapping from a core's absl::Status to the wire: the canonical code,
// the message, and a serialized google.rpc.Status in the details trailer with
// a BadRequest (field violations) when the status carries them and always an
// ErrorInfo {reason, domain, metadata}. `domain` names the service, e.g.
// "registry.thb".
grpc::Status ToGrpcStatus(const absl::Status& status, std::string_view domain);

// The reverse, for clients and for services that relay an upstream error:
// code, message, and the field violations and reason of the details.
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace thb

#endif  // THB_COMMON_GRPC_STATUS_H_
