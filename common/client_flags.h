#ifndef THB_COMMON_CLIENT_FLAGS_H_
#define THB_COMMON_CLIENT_FLAGS_H_

// The flags with which a client of the suite proves who it is, their
// environment variables, and the credentials they make. A client's main.cc
// defines them with THB_CLIENT_SECURITY_FLAGS(), so that `--help` lists them
// among its own flags.

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/status/statusor.h"
#include "common/channel.h"
#include "common/config.h"

#define THB_CLIENT_SECURITY_FLAGS()                                         \
  ABSL_FLAG(std::string, tls_ca, "",                                        \
            "PEM CA bundle that verifies the servers (default: the "        \
            "system's roots).");                                            \
  ABSL_FLAG(std::string, tls_cert, "",                                      \
            "PEM client certificate presented to the servers (mutual "      \
            "TLS).");                                                       \
  ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert.");    \
  ABSL_FLAG(std::string, token, "",                                         \
            "Bearer token (a JWT) sent with every call; prefer THB_TOKEN, " \
            "which other users cannot see in the process list.");           \
  ABSL_FLAG(bool, insecure, false,                                          \
            "Plaintext, for servers started with --insecure (development "  \
            "on loopback).")

ABSL_DECLARE_FLAG(std::string, tls_ca);
ABSL_DECLARE_FLAG(std::string, tls_cert);
ABSL_DECLARE_FLAG(std::string, tls_key);
ABSL_DECLARE_FLAG(std::string, token);
ABSL_DECLARE_FLAG(bool, insecure);

namespace thb {

inline std::vector<EnvBinding> ClientSecurityBindings() {
  // THB_TOKEN is read apart (ClientSecurityFromFlags): a variable bound to a
  // flag becomes the flag's value, which --help prints.
  return {{"tls_ca", "THB_TLS_CA"},
          {"tls_cert", "THB_TLS_CERT"},
          {"tls_key", "THB_TLS_KEY"},
          {"insecure", "THB_INSECURE"}};
}

// The variables a client's --help lists: the bound ones and THB_TOKEN.
inline std::vector<EnvBinding> ClientSecurityUsage() {
  std::vector<EnvBinding> usage = ClientSecurityBindings();
  usage.push_back({"token", "THB_TOKEN"});
  return usage;
}

inline ChannelSecurity ClientSecurityFromFlags() {
  ChannelSecurity security;
  security.insecure = absl::GetFlag(FLAGS_insecure);
  security.tls.ca = absl::GetFlag(FLAGS_tls_ca);
  security.tls.cert = absl::GetFlag(FLAGS_tls_cert);
  security.tls.key = absl::GetFlag(FLAGS_tls_key);
  security.token = absl::GetFlag(FLAGS_token);
  if (const char* token = std::getenv("THB_TOKEN");
      security.token.empty() && token != nullptr) {
    security.token = token;
  }
  return security;
}

}  // namespace thb

#endif  // THB_COMMON_CLIENT_FLAGS_H_
