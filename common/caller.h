#ifndef THB_COMMON_CALLER_H_
#define THB_COMMON_CALLER_H_

#include <string>

namespace thb {

// The principal of callers of a server without authentication (--insecure).
inline constexpr char kUnauthenticatedPrincipal[] = "anonymous";

// Who made a call and from where, as cores and the audit log see it: plain
// strings, no gRPC types.
struct Caller {
  std::string principal;
  std::string peer;
};

}  // namespace thb

#endif  // THB_COMMON_CALLER_H_
