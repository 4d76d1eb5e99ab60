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
#include "common/channel.h"
#include "common/config.h"
#include "common/server.h"

#define THB_SERVER_FLAGS(default_port, default_health_port)                   \
  ABSL_FLAG(std::string, host, "127.0.0.1", "Address to listen on.");         \
  ABSL_FLAG(int, port, default_port,                                          \
            "Port to listen on (TLS); 0 picks a free one.");                  \
  ABSL_FLAG(int, health_port, default_health_port,                            \
            "Plaintext port serving grpc.health.v1.Health only, for probes "  \
            "that cannot speak TLS; 0 picks a free one, -1 serves none.");    \
  ABSL_FLAG(std::string, health_port_file, "",                                \
            "If set, the bound health port is written to this file.");        \
  ABSL_FLAG(bool, insecure, false,                                            \
            "Plaintext and no authentication: for development on loopback "   \
            "only (a non-loopback --host is refused).");                      \
  ABSL_FLAG(std::string, tls_ca, "",                                          \
            "PEM CA bundle that verifies client certificates and the "        \
            "servers this one calls.");                                       \
  ABSL_FLAG(std::string, tls_cert, "",                                        \
            "PEM certificate chain served, and presented to the servers "     \
            "this one calls (mutual TLS).");                                  \
  ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert.");      \
  ABSL_FLAG(absl::Duration, tls_refresh_interval, absl::Seconds(60),          \
            "How often the TLS files, the policy and the JWT keys are read "  \
            "again; replaced files apply to new connections and calls.");     \
  ABSL_FLAG(std::string, authz_policy, "",                                    \
            "gRPC authorization policy (JSON) deciding who may call what.");  \
  ABSL_FLAG(std::string, jwt_keys, "",                                        \
            "PEM public keys or a JWKS verifying bearer tokens (RS256, "      \
            "ES256); empty: tokens are refused.");                            \
  ABSL_FLAG(std::string, jwt_issuer, "",                                      \
            "The issuer (iss) tokens must name.");                            \
  ABSL_FLAG(std::string, jwt_audience, "",                                    \
            "The audience (aud) tokens must name.");                          \
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
ABSL_DECLARE_FLAG(int, health_port);
ABSL_DECLARE_FLAG(std::string, health_port_file);
ABSL_DECLARE_FLAG(bool, insecure);
ABSL_DECLARE_FLAG(std::string, tls_ca);
ABSL_DECLARE_FLAG(std::string, tls_cert);
ABSL_DECLARE_FLAG(std::string, tls_key);
ABSL_DECLARE_FLAG(absl::Duration, tls_refresh_interval);
ABSL_DECLARE_FLAG(std::string, authz_policy);
ABSL_DECLARE_FLAG(std::string, jwt_keys);
ABSL_DECLARE_FLAG(std::string, jwt_issuer);
ABSL_DECLARE_FLAG(std::string, jwt_audience);
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
      {"port_file", absl::StrCat("THB_", service, "_PORT_FILE")},
      {"health_port", absl::StrCat("THB_", service, "_HEALTH_PORT")},
      {"health_port_file", absl::StrCat("THB_", service, "_HEALTH_PORT_FILE")},
      {"insecure", "THB_INSECURE"},
      {"tls_ca", "THB_TLS_CA"},
      {"tls_cert", "THB_TLS_CERT"},
      {"tls_key", "THB_TLS_KEY"},
      {"tls_refresh_interval", "THB_TLS_REFRESH_INTERVAL"},
      {"authz_policy", "THB_AUTHZ_POLICY"},
      {"jwt_keys", "THB_JWT_KEYS"},
      {"jwt_issuer", "THB_JWT_ISSUER"},
      {"jwt_audience", "THB_JWT_AUDIENCE"}};
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
  options.health_port = absl::GetFlag(FLAGS_health_port);
  options.health_port_file = absl::GetFlag(FLAGS_health_port_file);
  ServerSecurity& security = options.security;
  security.insecure = absl::GetFlag(FLAGS_insecure);
  security.tls.ca = absl::GetFlag(FLAGS_tls_ca);
  security.tls.cert = absl::GetFlag(FLAGS_tls_cert);
  security.tls.key = absl::GetFlag(FLAGS_tls_key);
  security.tls.refresh_interval = absl::GetFlag(FLAGS_tls_refresh_interval);
  security.auth.policy_file = absl::GetFlag(FLAGS_authz_policy);
  security.auth.jwt_keys_file = absl::GetFlag(FLAGS_jwt_keys);
  security.auth.jwt.issuer = absl::GetFlag(FLAGS_jwt_issuer);
  security.auth.jwt.audience = absl::GetFlag(FLAGS_jwt_audience);
  security.auth.refresh_interval = security.tls.refresh_interval;
  return options;
}

// The channel options of the calls this server makes to the others:
// plaintext when it serves plaintext, else mutual TLS with its own
// certificate.
inline absl::StatusOr<ChannelOptions> OutgoingChannelOptionsFromFlags() {
  ChannelSecurity security;
  security.insecure = absl::GetFlag(FLAGS_insecure);
  security.tls.ca = absl::GetFlag(FLAGS_tls_ca);
  security.tls.cert = absl::GetFlag(FLAGS_tls_cert);
  security.tls.key = absl::GetFlag(FLAGS_tls_key);
  security.tls.refresh_interval = absl::GetFlag(FLAGS_tls_refresh_interval);
  auto credentials = MakeChannelCredentials(security);
  if (!credentials.ok()) return credentials.status();
  ChannelOptions options;
  options.credentials = std::move(*credentials);
  return options;
}

}  // namespace thb

#endif  // THB_COMMON_SERVER_FLAGS_H_
