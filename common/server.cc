#include "common/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <semaphore.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <thread>
#include <utility>

#include "absl/base/const_init.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "common/port_file.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/impl/server_builder_option.h"
#include "grpcpp/resource_quota.h"
#include "grpcpp/security/server_credentials.h"

namespace thb {
namespace {

// Clients ping every 30 s by default (see channel.cc); a server that thinks
// pings come too often answers with GOAWAY "too_many_pings", so accept them
// down to this interval.
constexpr absl::Duration kMinClientPingInterval = absl::Seconds(10);

// The health port is plaintext and unauthenticated: a connection there holds
// few streams, and goes once idle.
constexpr int kHealthPortStreamsPerConnection = 4;
constexpr absl::Duration kHealthPortIdleConnection = absl::Seconds(30);

// Both are read when the ServerBuilder is constructed or built, so they must
// run before the builder member exists.
ServerOptions WithProcessWideSetup(ServerOptions options) {
  static const bool done = [] {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    return true;
  }();
  (void)done;
  return options;
}

int Milliseconds(absl::Duration duration) {
  return static_cast<int>(
      std::clamp<int64_t>(absl::ToInt64Milliseconds(duration), 0, INT_MAX));
}

std::string HostPort(absl::string_view host, int port) {
  if (absl::StrContains(host, ':') && !absl::StartsWith(host, "[")) {
    return absl::StrCat("[", host, "]:", port);
  }
  return absl::StrCat(host, ":", port);
}

// The health port serves health and nothing else, but the reflection plugin
// is registered for every builder of the process; this option takes it out.
class WithoutPlugins : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments* /*args*/) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>*
                         plugins) override {
    plugins->clear();
  }
};

// Signals are only counted and posted in the handler (both async-signal-safe);
// the stop itself runs on a thread of its own. A handler rather than sigwait()
// in a thread: sigwait() needs the signals blocked in every thread, and any
// thread started earlier (gRPC's, once a channel exists; an Executor's) would
// still take a signal and die of it, without a drain. A handler works
// whatever thread the signal lands on, whenever it is installed.
sem_t g_stop_signal;
std::atomic<int> g_signal_count{0};
std::atomic<int> g_last_signal{0};

absl::Mutex g_signal_server_mu(absl::kConstInit);
Server* g_signal_server ABSL_GUARDED_BY(g_signal_server_mu) = nullptr;

extern "C" void OnStopSignal(int signal_number) {
  const int saved_errno = errno;
  if (g_signal_count.fetch_add(1) > 0) {
    // A second signal during the drain: whoever sent it wants out now.
    struct sigaction action = {};
    action.sa_handler = SIG_DFL;
    sigaction(signal_number, &action, nullptr);
    raise(signal_number);
  }
  g_last_signal.store(signal_number);
  sem_post(&g_stop_signal);
  errno = saved_errno;
}

void StopOnSignal() {
  while (sem_wait(&g_stop_signal) != 0 && errno == EINTR) {
  }
  THB_LOG(Info) << "received " << strsignal(g_last_signal.load())
                << ", stopping";
  absl::MutexLock lock(&g_signal_server_mu);
  if (g_signal_server != nullptr) g_signal_server->Stop();
}

}  // namespace

Server::Server(ServerOptions options)
    : options_(WithProcessWideSetup(std::move(options))) {}

Server::~Server() {
  {
    absl::MutexLock lock(&g_signal_server_mu);
    if (g_signal_server == this) g_signal_server = nullptr;
  }
  StopAfter(absl::ZeroDuration(), absl::ZeroDuration());
}

void Server::AddService(grpc::Service* service) {
  builder_.RegisterService(service);
}

void Server::AddService(grpc::CallbackGenericService* service) {
  builder_.RegisterCallbackGenericService(service);
}

void Server::OnStop(std::function<void()> hook) {
  stop_hooks_.push_back(std::move(hook));
}

absl::Status Server::Start() {
  absl::MutexLock lock(&mu_);
  if (stop_requested_.HasBeenNotified()) {
    return absl::CancelledError("the server was stopped before it started");
  }
  if (server_ != nullptr) {
    return absl::FailedPreconditionError("the server is already started");
  }
  const std::string address = HostPort(options_.host, options_.port);
  if (auto status = AddMainPort(address); !status.ok()) return status;

  if (options_.max_connection_age > absl::ZeroDuration()) {
    builder_.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS,
                                Milliseconds(options_.max_connection_age));
    builder_.AddChannelArgument(
        GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
        Milliseconds(options_.max_connection_age_grace));
  }
  builder_.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS,
                              Milliseconds(options_.keepalive_time));
  builder_.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                              Milliseconds(options_.keepalive_timeout));
  // Both ends ping idle connections too: a peer that vanished between two
  // bursts of calls is found before the next call, not by it.
  builder_.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder_.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  builder_.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
      Milliseconds(kMinClientPingInterval));
  // gRPC shares a port between processes by default (SO_REUSEPORT): a second
  // replica started on a taken port would silently take half the calls.
  builder_.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder_.SetMaxReceiveMessageSize(options_.max_receive_message_bytes);
  builder_.SetMaxSendMessageSize(options_.max_send_message_bytes);
  builder_.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                              options_.max_concurrent_streams);
  if (options_.resource_quota_bytes > 0 || options_.max_threads > 0) {
    grpc::ResourceQuota quota("thb-server");
    if (options_.resource_quota_bytes > 0) {
      quota.Resize(static_cast<size_t>(options_.resource_quota_bytes));
    }
    if (options_.max_threads > 0) quota.SetMaxThreads(options_.max_threads);
    builder_.SetResourceQuota(quota);
  }

  server_ = builder_.BuildAndStart();
  if (server_ == nullptr || port_ == 0) {
    server_.reset();
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", address,
                     " (address in use, or not an address of this host?)"));
  }
  if (auto status = StartHealthServer(); !status.ok()) {
    server_->Shutdown(absl::ToChronoTime(absl::Now()));
    server_.reset();
    return status;
  }
  // Liveness only: the process answers. Readiness is per service name, and
  // the overload without a name would set every name at once.
  SetStatus("", true);
  for (const std::string& name : service_names_) {
    SetStatus(name, ready_names_.count(name) > 0);
  }
  THB_LOG(Info) << "listening on " << this->address()
                << (options_.security.insecure ? " (plaintext, --insecure)"
                                               : " (TLS)");
  if (health_server_ != nullptr) {
    THB_LOG(Info) << "health on " << HostPort(options_.host, health_port_)
                  << " (plaintext, grpc.health.v1.Health only)";
  }
  if (!options_.health_port_file.empty() && health_server_ != nullptr) {
    if (auto status = WritePortFile(options_.health_port_file, health_port_);
        !status.ok()) {
      return status;
    }
  }
  // Last: whoever waits for the port file may call at once.
  if (!options_.port_file.empty()) {
    if (auto status = WritePortFile(options_.port_file, port_); !status.ok()) {
      return status;
    }
  }
  return absl::OkStatus();
}

absl::Status Server::AddMainPort(const std::string& address) {
  const ServerSecurity& security = options_.security;
  if (security.insecure) {
    if (!IsLoopbackHost(options_.host)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "--insecure serves plaintext without authentication, for "
          "development on loopback only; it refuses --host=",
          options_.host));
    }
    THB_LOG(Warning) << "--insecure: plaintext, and every caller is admitted "
                        "without authentication";
    builder_.AddListeningPort(address, grpc::InsecureServerCredentials(),
                              &port_);
    return absl::OkStatus();
  }
  auto credentials = TlsServerCredentials(security.tls);
  if (!credentials.ok()) {
    return absl::Status(
        credentials.status().code(),
        absl::StrCat(credentials.status().message(),
                     " (TLS is required unless --insecure is given)"));
  }
  auto authenticator = CallAuthenticator::Create(security.auth);
  if (!authenticator.ok()) return authenticator.status();
  authenticator_ = std::move(*authenticator);
  (*credentials)->SetAuthMetadataProcessor(authenticator_);
  builder_.AddListeningPort(address, *credentials, &port_);
  return absl::OkStatus();
}

absl::Status Server::StartHealthServer() {
  if (options_.health_port < 0) return absl::OkStatus();
  const std::string address = HostPort(options_.host, options_.health_port);
  grpc::ServerBuilder builder;
  builder.SetOption(std::make_unique<WithoutPlugins>());
  // gRPC refuses to build a server with no callback service of its own
  // (the health service is added later); this one answers every method
  // but health UNIMPLEMENTED, as a server without it would.
  builder.RegisterCallbackGenericService(&health_port_others_);
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(),
                           &health_port_);
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Probes send a few bytes and hold no stream for long; anyone may reach
  // this port, so it gives them little.
  builder.SetMaxReceiveMessageSize(4 << 10);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             kHealthPortStreamsPerConnection);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                             Milliseconds(kHealthPortIdleConnection));
  builder.AddChannelArgument(
      GRPC_ARG_MAX_CONNECTION_AGE_MS,
      Milliseconds(options_.max_connection_age > absl::ZeroDuration()
                       ? options_.max_connection_age
                       : absl::Minutes(5)));
  health_server_ = builder.BuildAndStart();
  if (health_server_ == nullptr || health_port_ == 0) {
    health_server_.reset();
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", address,
        " for health (address in use, or not an address of this host?)"));
  }
  return absl::OkStatus();
}

void Server::SetStatus(const std::string& name, bool serving) {
  if (server_ != nullptr) {
    server_->GetHealthCheckService()->SetServingStatus(name, serving);
  }
  if (health_server_ != nullptr) {
    health_server_->GetHealthCheckService()->SetServingStatus(name, serving);
  }
}

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost") return true;
  // inet_pton would read only up to the NUL.
  if (host.find('\0') != std::string::npos) return false;
  std::string bare = host;
  if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']') {
    bare = bare.substr(1, bare.size() - 2);
  }
  in_addr v4;
  if (inet_pton(AF_INET, bare.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6;
  return inet_pton(AF_INET6, bare.c_str(), &v6) == 1 &&
         IN6_IS_ADDR_LOOPBACK(&v6);
}

std::string Server::address() const { return HostPort(options_.host, port_); }

void Server::SetReady(const std::string& service_name, bool ready) {
  absl::MutexLock lock(&mu_);
  if (std::find(service_names_.begin(), service_names_.end(), service_name) ==
      service_names_.end()) {
    service_names_.push_back(service_name);
  }
  if (ready) {
    ready_names_.insert(service_name);
  } else {
    ready_names_.erase(service_name);
  }
  // Once stopping, readiness only goes down; a late SetReady(true) from a
  // loader thread must not bring traffic back to a draining server.
  if (server_ == nullptr || stop_requested_.HasBeenNotified()) return;
  SetStatus(service_name, ready);
}

void Server::Wait() { stopped_.WaitForNotification(); }

void Server::Stop() { StopAfter(options_.drain, options_.shutdown_grace); }

void Server::StopAfter(absl::Duration drain, absl::Duration grace) {
  grpc::Server* server = nullptr;
  bool stopping_elsewhere = false;
  {
    absl::MutexLock lock(&mu_);
    stopping_elsewhere = stop_requested_.HasBeenNotified();
    if (!stopping_elsewhere) {
      stop_requested_.Notify();
      server = server_.get();
    }
    if (server != nullptr) {
      SetStatus("", false);
      for (const std::string& name : service_names_) SetStatus(name, false);
    }
  }
  if (stopping_elsewhere) {
    // Whoever stops first does the work; the others return once it is done.
    stopped_.WaitForNotification();
    return;
  }
  if (server != nullptr) {
    if (drain > absl::ZeroDuration()) {
      THB_LOG(Info) << "not serving; draining for "
                    << absl::FormatDuration(drain);
      absl::SleepFor(drain);
    }
    for (const auto& hook : stop_hooks_) hook();
    server->Shutdown(absl::ToChronoTime(absl::Now() + grace));
    // Probes get NOT_SERVING until the main port is gone, then nothing.
    if (health_server_ != nullptr) {
      health_server_->Shutdown(absl::ToChronoTime(absl::Now()));
    }
    THB_LOG(Info) << "stopped";
  }
  stopped_.Notify();
}

void InstallSignalHandlers(Server* server) {
  {
    absl::MutexLock lock(&g_signal_server_mu);
    g_signal_server = server;
  }
  static const bool installed = [] {
    sem_init(&g_stop_signal, /*pshared=*/0, /*value=*/0);
    struct sigaction action = {};
    action.sa_handler = OnStopSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &action, nullptr);
    sigaction(SIGINT, &action, nullptr);
    std::thread(StopOnSignal).detach();
    return true;
  }();
  (void)installed;
}

}  // namespace thb
