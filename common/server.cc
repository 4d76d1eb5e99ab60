#include "common/server.h"

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
#include "grpcpp/security/server_credentials.h"

namespace thb {
namespace {

// Clients ping every 30 s by default (see channel.cc); a server that thinks
// pings come too often answers with GOAWAY "too_many_pings", so accept them
// down to this interval.
constexpr absl::Duration kMinClientPingInterval = absl::Seconds(10);

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

absl::Status Server::Start() {
  absl::MutexLock lock(&mu_);
  if (stop_requested_.HasBeenNotified()) {
    return absl::CancelledError("the server was stopped before it started");
  }
  if (server_ != nullptr) {
    return absl::FailedPreconditionError("the server is already started");
  }
  const std::string address = HostPort(options_.host, options_.port);
  builder_.AddListeningPort(address, grpc::InsecureServerCredentials(), &port_);

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

  server_ = builder_.BuildAndStart();
  if (server_ == nullptr || port_ == 0) {
    server_.reset();
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", address,
                     " (address in use, or not an address of this host?)"));
  }
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  // Liveness only: the process answers. Readiness is per service name, and
  // the overload without a name would set every name at once.
  health->SetServingStatus("", true);
  for (const std::string& name : service_names_) {
    health->SetServingStatus(name, ready_names_.count(name) > 0);
  }
  THB_LOG(Info) << "listening on " << this->address();
  if (!options_.port_file.empty()) {
    if (auto status = WritePortFile(options_.port_file, port_); !status.ok()) {
      return status;
    }
  }
  return absl::OkStatus();
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
  server_->GetHealthCheckService()->SetServingStatus(service_name, ready);
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
      grpc::HealthCheckServiceInterface* health =
          server->GetHealthCheckService();
      health->SetServingStatus("", false);
      for (const std::string& name : service_names_) {
        health->SetServingStatus(name, false);
      }
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
    server->Shutdown(absl::ToChronoTime(absl::Now() + grace));
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
