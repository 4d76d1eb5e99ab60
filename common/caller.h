#ifndef THB_COMMON_CALLER_H_
#define THB_COMMON_CALLER_H_

#include <string>

#include "grpcpp/security/auth_context.h"
#include "grpcpp/server_context.h"

namespace thb {

// The AuthContext property under which the server's authorization step
// leaves the principal it admitted, before any handler runs.
inline constexpr char kPrincipalProperty[] = "thb.principal";

// The principal a server without authentication (--insecure) gives its
// callers.
inline constexpr char kUnauthenticatedPrincipal[] = "anonymous";

// Who made a call and from where, as cores and the audit log see it: plain
// strings, no gRPC types.
struct Caller {
  std::string principal;
  std::string peer;
};

// The caller of a call the server admitted.
inline Caller CallerOf(const grpc::ServerContextBase& context) {
  Caller caller;
  caller.peer = context.peer();
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth != nullptr) {
    for (const grpc::string_ref& value :
         auth->FindPropertyValues(kPrincipalProperty)) {
      caller.principal.assign(value.data(), value.size());
      break;
    }
  }
  if (caller.principal.empty()) caller.principal = kUnauthenticatedPrincipal;
  return caller;
}

}  // namespace thb

#endif  // THB_COMMON_CALLER_H_
