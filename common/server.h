#ifndef THB_COMMON_SERVER_H_
#define THB_COMMON_SERVER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/call_authenticator.h"
#include "common/tls.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"

namespace thb {

// How the main port is protected. The default is the secure one: a server
// without TLS files refuses to start unless it is told `insecure`.
struct ServerSecurity {
  // Plaintext, and every caller admitted unauthenticated: for development on
  // loopback only, so a non-loopback host is refused.
  bool insecure = false;
  TlsFiles tls;
  AuthOptions auth;
};

struct ServerOptions {
  // Listen address: "127.0.0.1", "::1", "0.0.0.0" ...
  std::string host = "127.0.0.1";
  // 0 picks a free port; Server::port() tells which.
  int port = 0;
  // If set, Start() writes the bound port to this file (atomically), so
  // that whoever started the process with port 0 learns it.
  std::string port_file;
  // After SIGTERM: how long readiness stays NOT_SERVING before the server
  // stops accepting (so load balancers move away first).
  absl::Duration drain = absl::Seconds(2);
  // How long in-flight calls may run after the drain before being cancelled.
  absl::Duration shutdown_grace = absl::Seconds(5);
  // Connections older than this are told to go away (GOAWAY) so clients
  // spread onto new replicas; 0 disables.
  absl::Duration max_connection_age = absl::Minutes(5);
  absl::Duration max_connection_age_grace = absl::Seconds(30);
  // Server keepalive pings on idle connections.
  absl::Duration keepalive_time = absl::Seconds(30);
  absl::Duration keepalive_timeout = absl::Seconds(10);
  int max_receive_message_bytes = 64 << 20;
  int max_send_message_bytes = 64 << 20;
  // Calls one connection may carry at once (HTTP/2 streams); the client
  // queues the rest. Bounds what one caller holds on its own.
  int max_concurrent_streams = 100;
  // gRPC's resource quota for this server: the memory its connections and
  // calls may hold before it stops reading new data, and the threads it
  // may run. 0 leaves gRPC's own (unbounded) defaults.
  int64_t resource_quota_bytes = int64_t{512} << 20;
  int max_threads = 256;
  ServerSecurity security;
  // A plaintext port on `host` that serves grpc.health.v1.Health and nothing
  // else, for probes that cannot speak TLS (Kubernetes'); 0 picks a free
  // one, a negative port has none.
  int health_port = -1;
  std::string health_port_file;
};

// True for 127.0.0.0/8, ::1 and "localhost".
bool IsLoopbackHost(const std::string& host);

// Runs one gRPC server with what every thb service needs: grpc.health.v1
// (liveness on "" and readiness per service name, set apart), server
// reflection, keepalive, message size limits and max_connection_age, and a
// clean stop: NOT_SERVING, drain, Shutdown(deadline).
class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();

  // Services must outlive the Server. Call before Start().
  void AddService(grpc::Service* service);
  void AddService(grpc::CallbackGenericService* service);

  // Binds and starts. Liveness ("") is SERVING at once; every service name
  // starts NOT_SERVING until SetReady(name, true).
  absl::Status Start();

  // The bound port (after Start()).
  int port() const { return port_; }
  std::string address() const;
  // The health port (after Start()), or 0 without one.
  int health_port() const { return health_port_; }

  // Readiness of one service name, e.g.
  // "thb.registry.v1.CountryRegistryService".
  void SetReady(const std::string& service_name, bool ready);

  // Runs `hook` when a stop has drained, just before the server stops
  // accepting: it ends the streams that would otherwise stay open until the
  // grace period runs out (Watch). Call before Start().
  void OnStop(std::function<void()> hook);

  // Blocks until Stop() or a SIGTERM/SIGINT (after InstallSignalHandlers()).
  void Wait();
  // NOT_SERVING everywhere, wait `drain`, run the OnStop hooks, then
  // Shutdown with a deadline of `shutdown_grace`: GOAWAY, no new calls, the
  // ones in flight finish. Idempotent; safe from any thread but the
  // handlers'.
  void Stop();

  grpc::Server* grpc_server() { return server_.get(); }

 private:
  // Stop() with the given waits; the destructor stops without any.
  void StopAfter(absl::Duration drain, absl::Duration grace);
  absl::Status AddMainPort(const std::string& address);
  absl::Status StartHealthServer();
  // Sets one name's status on the main server and the health server alike.
  void SetStatus(const std::string& name, bool serving)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  ServerOptions options_;
  grpc::ServerBuilder builder_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<CallAuthenticator> authenticator_;
  grpc::CallbackGenericService health_port_others_;
  std::unique_ptr<grpc::Server> health_server_;
  int health_port_ = 0;
  // Readiness names in the order they were first given to SetReady().
  std::vector<std::string> service_names_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> ready_names_ ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void()>> stop_hooks_;
  int port_ = 0;
  // Notified under mu_, so that only one caller stops the server.
  absl::Notification stop_requested_;
  absl::Notification stopped_;
  // Orders Start(), SetReady() and Stop() so that no service turns SERVING
  // after a stop began, and a stop never misses a server being started.
  absl::Mutex mu_;
};

// Makes SIGTERM and SIGINT request a Stop() of `server` (one server per
// process). The signal is handled on a dedicated thread, never in the
// handler itself, so it may be called at any time from main(), before or
// after Start(); a signal before Start() makes Start() fail with CANCELLED.
// A second signal during the drain ends the process at once. A destroyed
// server is forgotten, so a later signal does nothing but get logged.
void InstallSignalHandlers(Server* server);

}  // namespace thb

#endif  // THB_COMMON_SERVER_H_
