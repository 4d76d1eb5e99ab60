#ifndef THB_COMMON_CALLER_H_
#define THB_COMMON_CALLER_H_

#include <string>

#include "grpcpp/server_context.h"

namespace thb {

// The principal of callers of a server without authentication (--insecure).
inline constexpr char kUnauthenticatedPrincipal[] = "anonymous";

// Who made a call and from where, as cores and the audit log see it: plain
// strings, no gRPC types.
struct Caller {
  std::string principal;
  std::string peer;
};

// The caller of a call the server's authorization step admitted: the
// subject of its bearer token, else the principal of its verified client
// certificate (URI SAN, else DNS SAN, else CN); kUnauthenticatedPrincipal on
// a plaintext server. Only for admitted calls: the token is not verified
// again here.
Caller CallerOf(const grpc::ServerContextBase& context);

}  // namespace thb

#endif  // THB_COMMON_CALLER_H_
