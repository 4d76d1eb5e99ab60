#ifndef THB_COMMON_CHANNEL_H_
#define THB_COMMON_CHANNEL_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/tls.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/server_context.h"

namespace thb {

struct ChannelOptions {
  // From MakeChannelCredentials; null is TLS with the system's roots.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  // The name the server's certificate must carry, when it differs from the
  // target's host. A list of addresses has no host of its own: its first
  // address is used unless this is set.
  std::string tls_server_name;
  // Attempts (first call included) for idempotent reads that fail
  // UNAVAILABLE. 1 disables retries.
  int max_read_attempts = 4;
  absl::Duration initial_backoff = absl::Milliseconds(50);
  absl::Duration max_backoff = absl::Seconds(1);
  // Client keepalive; 0 disables.
  absl::Duration keepalive_time = absl::Seconds(30);
  int max_receive_message_bytes = 64 << 20;
};

// Turns a user's address list into a gRPC target: "host:port" stays as it
// is, "dns:///name:port" too, and a comma-separated list of IP:port
// ("127.0.0.1:50053,127.0.0.1:50063") becomes one "ipv4:" / "ipv6:" target
// that round_robin spreads calls over.
std::string ChannelTarget(std::string_view addresses);

// A channel with the suite's service config: round_robin over every address
// the target resolves to, and a retry policy on UNAVAILABLE for the
// idempotent reads of the thb services (Get*, BatchGet*, List*, and every
// StatisticsService RPC). Writes and Watch streams are never retried here.
std::shared_ptr<grpc::Channel> MakeChannel(std::string_view addresses,
                                           const ChannelOptions& options = {});

// The service config JSON MakeChannel uses (exposed for tests).
std::string ServiceConfigJson(const ChannelOptions& options);

// A context whose deadline is now + `timeout`.
std::unique_ptr<grpc::ClientContext> MakeClientContext(absl::Duration timeout);

// A context for an outgoing call made while serving `parent`: it inherits the
// parent's deadline (capped at now + `max_timeout`) and is cancelled with it.
std::unique_ptr<grpc::ClientContext> MakeChildContext(
    grpc::CallbackServerContext* parent, absl::Duration max_timeout);
std::unique_ptr<grpc::ClientContext> MakeChildContext(
    grpc::ServerContext* parent, absl::Duration max_timeout);

}  // namespace thb

#endif  // THB_COMMON_CHANNEL_H_
