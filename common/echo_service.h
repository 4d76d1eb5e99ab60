#ifndef THB_COMMON_ECHO_SERVICE_H_
#define THB_COMMON_ECHO_SERVICE_H_

#include "grpcpp/generic/async_generic_service.h"

namespace thb {

// The method EchoService answers.
inline constexpr char kEchoMethod[] = "/thb.bench.v1.Echo/Echo";

// A trivial RPC served by the same server runner as a service's real ones:
// it sends the request's bytes back, doing no work, so that benchmarks can
// compare a real RPC with the transport's ceiling on the same server. Any
// other method the server does not know answers UNIMPLEMENTED, as without
// it. Off by default in every binary (a benchmark flag turns it on).
class EchoService : public grpc::CallbackGenericService {
 public:
  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override;
};

}  // namespace thb

#endif  // THB_COMMON_ECHO_SERVICE_H_
