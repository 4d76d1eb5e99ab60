#ifndef THB_COMMON_SERVER_FLAGS_H_
#define THB_COMMON_SERVER_FLAGS_H_

// The flags every server of the suite takes, their environment variables,
// and the ServerOptions they make. A server's main.cc defines them with
// THB_SERVER_FLAGS(its default port), so that `--help` lists them among its
// own flags.

#include <string>
#include <utility>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/config.h"
#include "common/server.h"

#define THB_SERVER_FLAGS(default_port)                                        \
  ABSL_FLAG(std::string, host, "127.0.0.1", "Address to listen on.");         \
  ABSL_FLAG(int, port, default_port,                                          \
            "Port to listen on; 0 picks a free one.");                        \
  ABSL_FLAG(std::string, port_file, "",                                       \
            "If set, the bound port is written to this file once "            \
            "listening.");                                                    \
  ABSL_FLAG(absl::Duration, drain, absl::Seconds(2),                          \
            "After SIGTERM, how long readiness reports NOT_SERVING before "   \
            "the server stops accepting calls.");                             \
  ABSL_FLAG(absl::Duration, max_connection_age, absl::Minutes(5),             \
            "Connections older than this are asked to reconnect (0: never), " \
            "so that clients spread onto new replicas.")

ABSL_DECLARE_FLAG(std::string, host);
ABSL_DECLARE_FLAG(int, port);
ABSL_DECLARE_FLAG(std::string, port_file);
ABSL_DECLARE_FLAG(absl::Duration, drain);
ABSL_DECLARE_FLAG(absl::Duration, max_connection_age);

namespace thb {

// The server flags' variables ("REGISTRY": THB_REGISTRY_HOST, ...; the drain
// and connection age are the suite's THB_DRAIN, THB_MAX_CONNECTION_AGE),
// followed by the service's own.
inline std::vector<EnvBinding> WithServerBindings(const std::string& service,
                                                  std::vector<EnvBinding> own) {
  std::vector<EnvBinding> bindings = {
      {"host", absl::StrCat("THB_", service, "_HOST")},
      {"port", absl::StrCat("THB_", service, "_PORT")},
      {"port_file", absl::StrCat("THB_", service, "_PORT_FILE")}};
  for (EnvBinding& binding : own) bindings.push_back(std::move(binding));
  bindings.push_back({"drain", "THB_DRAIN"});
  bindings.push_back({"max_connection_age", "THB_MAX_CONNECTION_AGE"});
  return bindings;
}

inline ServerOptions ServerOptionsFromFlags() {
  ServerOptions options;
  options.host = absl::GetFlag(FLAGS_host);
  options.port = absl::GetFlag(FLAGS_port);
  options.port_file = absl::GetFlag(FLAGS_port_file);
  options.drain = absl::GetFlag(FLAGS_drain);
  options.max_connection_age = absl::GetFlag(FLAGS_max_connection_age);
  return options;
}

}  // namespace thb

#endif  // THB_COMMON_SERVER_FLAGS_H_
