#ifndef THB_COMMON_CALLER_OF_H_
#define THB_COMMON_CALLER_OF_H_

#include "common/caller.h"
#include "grpcpp/server_context.h"

namespace thb {

// The caller of a call the server's authorization step admitted: the
// subject of its bearer token, else the principal of its verified client
// certificate (URI SAN, else DNS SAN, else CN); kUnauthenticatedPrincipal on
// a plaintext server. Only for admitted calls: the token is not verified
// again here. Apart from common/caller.h, so that the cores and the audit
// log, which take a Caller, include no gRPC.
Caller CallerOf(const grpc::ServerContextBase& context);

}  // namespace thb

#endif  // THB_COMMON_CALLER_OF_H_
