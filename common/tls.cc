#include "common/tls.h"

#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpc/grpc_security_constants.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"

namespace thb {
namespace {

unsigned int RefreshSeconds(absl::Duration interval) {
  return static_cast<unsigned int>(
      absl::ToInt64Seconds(std::max(interval, kMinTlsRefreshInterval)));
}

}  // namespace

absl::Status CheckReadable(const std::string& path, const std::string& what) {
  if (path.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(what, " is not set"));
  }
  std::ifstream file(path, std::ios::binary);
  if (!file.good() || file.peek() == std::ifstream::traits_type::eof()) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, " \"", path, "\" is missing, empty or unreadable"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> TlsServerCredentials(
    const TlsFiles& files) {
  for (const auto& [path, what] :
       {std::pair(files.ca, "--tls_ca"), std::pair(files.cert, "--tls_cert"),
        std::pair(files.key, "--tls_key")}) {
    if (auto status = CheckReadable(path, what); !status.ok()) return status;
  }
  auto provider =
      std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
          files.key, files.cert, files.ca,
          RefreshSeconds(files.refresh_interval));
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_cert_request_type(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  return grpc::experimental::TlsServerCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> TlsChannelCredentials(
    const TlsFiles& files) {
  if (files.cert.empty() != files.key.empty()) {
    return absl::InvalidArgumentError(
        "--tls_cert and --tls_key go together: give both or neither");
  }
  std::shared_ptr<grpc::experimental::CertificateProviderInterface> provider;
  if (!files.cert.empty()) {
    for (const auto& [path, what] : {std::pair(files.cert, "--tls_cert"),
                                     std::pair(files.key, "--tls_key")}) {
      if (auto status = CheckReadable(path, what); !status.ok()) return status;
    }
  }
  if (!files.ca.empty()) {
    if (auto status = CheckReadable(files.ca, "--tls_ca"); !status.ok()) {
      return status;
    }
  }
  grpc::experimental::TlsChannelCredentialsOptions options;
  if (!files.cert.empty() || !files.ca.empty()) {
    provider =
        std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
            files.key, files.cert, files.ca,
            RefreshSeconds(files.refresh_interval));
    options.set_certificate_provider(provider);
    if (!files.ca.empty()) options.watch_root_certs();
    if (!files.cert.empty()) options.watch_identity_key_cert_pairs();
  }
  options.set_verify_server_certs(true);
  return grpc::experimental::TlsCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
MakeChannelCredentials(const ChannelSecurity& security) {
  if (security.insecure) {
    if (!security.token.empty()) {
      return absl::InvalidArgumentError(
          "a bearer token is never sent over plaintext: drop --insecure or "
          "--token");
    }
    return grpc::InsecureChannelCredentials();
  }
  auto tls = TlsChannelCredentials(security.tls);
  if (!tls.ok()) return tls.status();
  if (security.token.empty()) return *tls;
  return grpc::CompositeChannelCredentials(
      *tls, grpc::AccessTokenCredentials(security.token));
}

std::string SecurityHint(grpc::StatusCode code, std::string_view message) {
  switch (code) {
    case grpc::StatusCode::UNAUTHENTICATED:
      return "the server did not accept who you are: give a client "
             "certificate (--tls_cert, --tls_key) or a valid token (--token)";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "the server's authorization policy does not grant your "
             "identity this method";
    case grpc::StatusCode::UNAVAILABLE: {
      const absl::string_view text(message.data(), message.size());
      // A server that refuses the client's certificate under TLS 1.3 only
      // closes the connection once the client thinks the handshake is done.
      if (absl::StrContains(text, "andshake") ||
          absl::StrContains(text, "SSL") ||
          absl::StrContains(text, "certificate") ||
          absl::StrContains(text, "Socket closed")) {
        return "the TLS handshake failed, or the server closed the "
               "connection right after it: check that --tls_ca is the CA of "
               "the server's certificate and that it names the address you "
               "called, and that your certificate is valid and from a CA the "
               "server trusts";
      }
      return "";
    }
    default:
      return "";
  }
}

}  // namespace thb
