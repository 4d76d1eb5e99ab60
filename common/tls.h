#ifndef THB_COMMON_TLS_H_
#define THB_COMMON_TLS_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/support/status.h"

namespace thb {

// PEM files of one side of a TLS connection. They are watched: a certificate,
// key or CA replaced on disk is used by the connections made after the next
// refresh, without a restart.
struct TlsFiles {
  // CA bundle that verifies the other side's certificate.
  std::string ca;
  // This side's certificate chain and private key. A server needs them; a
  // client presents them when set (mutual TLS).
  std::string cert;
  std::string key;
  absl::Duration refresh_interval = absl::Seconds(60);
};

// The smallest refresh interval gRPC's file watcher takes.
inline constexpr absl::Duration kMinTlsRefreshInterval = absl::Seconds(1);

// TLS 1.2 or 1.3 with the server's certificate; a client certificate is
// requested, and verified against `files.ca` when one is sent. A call without
// one may still authenticate with a bearer token; one that does neither is
// refused by the authorization step, not by the handshake.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> TlsServerCredentials(
    const TlsFiles& files);

// TLS 1.2 or 1.3 that verifies the server against `files.ca` (the system's
// roots when empty) and its name against the target, presenting `files.cert`
// when set.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> TlsChannelCredentials(
    const TlsFiles& files);

// How a client proves who it is and checks whom it talks to.
struct ChannelSecurity {
  // Plaintext, for development on loopback only.
  bool insecure = false;
  // CA (empty: the system's roots), and the client certificate and key
  // presented for mutual TLS (empty: none).
  TlsFiles tls;
  // A bearer token (a JWT) sent with every call; empty: none. Never sent
  // over plaintext.
  std::string token;
};

// The credentials of `security`: FAILED_PRECONDITION naming a file that is
// missing, INVALID_ARGUMENT for a token without TLS.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
MakeChannelCredentials(const ChannelSecurity& security);

// FAILED_PRECONDITION naming the flag when a file is missing or unreadable:
// gRPC's file watcher would only log it, and every handshake would then fail
// without saying why.
absl::Status CheckReadable(const std::string& path, const std::string& what);

// A line for a person after a call failed for a reason of security (a
// handshake, a missing or refused credential), saying what to check; empty
// for any other failure.
std::string SecurityHint(grpc::StatusCode code, std::string_view message);

}  // namespace thb

#endif  // THB_COMMON_TLS_H_
