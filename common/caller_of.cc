#include "common/caller_of.h"

#include <memory>
#include <string_view>

#include "absl/strings/escaping.h"
#include "common/call_authenticator.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpc/grpc_security_constants.h"
#include "grpcpp/security/auth_context.h"

namespace thb {
namespace {

// The "sub" of a token the authorization step verified for this very call.
std::string AdmittedTokenSubject(std::string_view token) {
  const size_t first = token.find('.');
  const size_t second = token.find('.', first + 1);
  if (first == std::string_view::npos || second == std::string_view::npos) {
    return "";
  }
  std::string payload;
  if (!absl::WebSafeBase64Unescape(
          absl::string_view(token.data() + first + 1, second - first - 1),
          &payload)) {
    return "";
  }
  google::protobuf::Struct claims;
  if (!google::protobuf::util::JsonStringToMessage(payload, &claims).ok()) {
    return "";
  }
  const auto sub = claims.fields().find("sub");
  return sub == claims.fields().end() ? "" : sub->second.string_value();
}

}  // namespace

Caller CallerOf(const grpc::ServerContextBase& context) {
  Caller caller;
  caller.peer = context.peer();
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  bool tls = false;
  if (auth != nullptr) {
    for (const grpc::string_ref& value :
         auth->FindPropertyValues(GRPC_TRANSPORT_SECURITY_TYPE_PROPERTY_NAME)) {
      tls = value == GRPC_SSL_TRANSPORT_SECURITY_TYPE ||
            value == GRPC_TLS_TRANSPORT_SECURITY_TYPE;
    }
  }
  // Without TLS no authorization step ran, so nothing a caller sends names it.
  if (!tls) {
    caller.principal = kUnauthenticatedPrincipal;
    return caller;
  }
  const auto& metadata = context.client_metadata();
  const auto authorization = metadata.find("authorization");
  if (authorization != metadata.end()) {
    const std::string_view value(authorization->second.data(),
                                 authorization->second.size());
    if (const auto token = CallAuthenticator::BearerToken(value);
        token.has_value()) {
      caller.principal = AdmittedTokenSubject(*token);
    }
  } else {
    caller.principal = CallAuthenticator::CertificatePrincipal(*auth);
  }
  if (caller.principal.empty()) caller.principal = kUnauthenticatedPrincipal;
  return caller;
}

}  // namespace thb
