#include "common/call_authenticator.h"

#include <openssl/sha.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "common/string_view.h"
#include "grpc/grpc_security_constants.h"

namespace thb {
namespace {

// At most this many refusals are logged per window; the rest are counted
// and summed up in the next line.
constexpr int kRefusalLinesPerWindow = 20;
constexpr absl::Duration kRefusalLogWindow = absl::Seconds(10);
// Calls under this path are admitted without credentials (see Process).
constexpr absl::string_view kHealthServicePrefix = "/grpc.health.v1.Health/";

std::string_view View(const grpc::string_ref& ref) {
  return std::string_view(ref.data(), ref.size());
}

std::string FirstProperty(const grpc::AuthContext& context, const char* name) {
  for (const grpc::string_ref& value : context.FindPropertyValues(name)) {
    if (value.size() > 0) return std::string(value.data(), value.size());
  }
  return "";
}

// Tokens are remembered by their digest: the table then holds no token, and
// costs the same whatever a token's length.
std::string TokenDigest(std::string_view token) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(),
         digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof digest);
}

// What a caller sent is shown escaped and cut short: it must not forge lines
// of the log or fill it.
constexpr size_t kMaxLoggedBytes = 256;
std::string Loggable(std::string_view text) {
  return absl::CHexEscape(ToAbsl(text.substr(0, kMaxLoggedBytes)));
}

grpc::Status Unauthenticated(std::string message) {
  return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, std::move(message));
}

}  // namespace

absl::StatusOr<std::shared_ptr<CallAuthenticator>> CallAuthenticator::Create(
    const AuthOptions& options) {
  if (options.policy_file.empty()) {
    return absl::FailedPreconditionError(
        "--authz_policy is not set: a server with TLS needs an authorization "
        "policy (or --insecure, for development on loopback)");
  }
  auto policy = ReloadingFile<AuthzPolicy>::Open(
      options.policy_file,
      [](std::string_view json) { return AuthzPolicy::Parse(json); },
      options.refresh_interval);
  if (!policy.ok()) return policy.status();
  std::unique_ptr<ReloadingFile<JwtKeySet>> keys;
  if (!options.jwt_keys_file.empty()) {
    if (options.jwt.issuer.empty() || options.jwt.audience.empty()) {
      return absl::FailedPreconditionError(
          "--jwt_keys needs --jwt_issuer and --jwt_audience: a token is only "
          "accepted from one issuer, for this audience");
    }
    auto loaded = ReloadingFile<JwtKeySet>::Open(
        options.jwt_keys_file,
        [](std::string_view text) { return JwtKeySet::Parse(text); },
        options.refresh_interval);
    if (!loaded.ok()) return loaded.status();
    keys = std::move(*loaded);
  }
  return std::shared_ptr<CallAuthenticator>(
      new CallAuthenticator(std::move(*policy), std::move(keys), options.jwt));
}

std::optional<std::string_view> CallAuthenticator::BearerToken(
    std::string_view authorization) {
  constexpr std::string_view kBearer = "bearer ";
  if (authorization.size() <= kBearer.size() ||
      !absl::EqualsIgnoreCase(ToAbsl(authorization.substr(0, kBearer.size())),
                              ToAbsl(kBearer))) {
    return std::nullopt;
  }
  return authorization.substr(kBearer.size());
}

std::string CallAuthenticator::CertificatePrincipal(
    const grpc::AuthContext& context) {
  // Only a certificate the handshake verified names anyone.
  if (!context.IsPeerAuthenticated()) return "";
  for (const char* property :
       {GRPC_PEER_URI_PROPERTY_NAME, GRPC_PEER_DNS_PROPERTY_NAME,
        GRPC_X509_CN_PROPERTY_NAME}) {
    std::string principal = FirstProperty(context, property);
    if (!principal.empty()) return principal;
  }
  return "";
}

absl::StatusOr<std::string> CallAuthenticator::TokenSubject(
    std::string_view token) {
  if (keys_ == nullptr) {
    return absl::UnauthenticatedError(
        "bearer tokens are not accepted here: the server has no --jwt_keys");
  }
  const std::shared_ptr<const JwtKeySet> keys = keys_->Get();
  const absl::Time now = absl::Now();
  const std::string digest = TokenDigest(token);
  {
    absl::MutexLock lock(&tokens_mu_);
    auto it = tokens_.find(digest);
    if (it != tokens_.end()) {
      if (it->second.keys == keys && now < it->second.expiry) {
        return it->second.subject;
      }
      tokens_.erase(it);
    }
  }
  absl::StatusOr<JwtClaims> claims = VerifyJwt(token, *keys, jwt_, now);
  if (!claims.ok()) return claims.status();
  absl::MutexLock lock(&tokens_mu_);
  // Dropping everything at the bound is crude but keeps the table small and
  // the hot path free of bookkeeping; honest clients re-verify once.
  if (tokens_.size() >= kMaxCachedTokens) tokens_.clear();
  tokens_.emplace(digest, VerifiedToken{claims->subject, claims->expiry, keys});
  return claims->subject;
}

grpc::Status CallAuthenticator::Process(const InputMetadata& auth_metadata,
                                        grpc::AuthContext* context,
                                        OutputMetadata* /*consumed*/,
                                        OutputMetadata* /*response_metadata*/) {
  std::string_view path;
  std::string_view authorization;
  bool has_authorization = false;
  AuthzRequest request;
  request.headers.reserve(auth_metadata.size());
  for (const auto& [key, value] : auth_metadata) {
    const std::string_view name = View(key);
    if (name == ":path") {
      path = View(value);
    } else if (name == "authorization") {
      if (has_authorization) {
        return Unauthenticated("more than one authorization header");
      }
      has_authorization = true;
      authorization = View(value);
    } else {
      request.headers.emplace_back(name, View(value));
    }
  }
  request.path = path;
  // Health answers every caller that completed the handshake, whatever its
  // credentials: clients' channels watch it to route around a stopping
  // server, and a caller without a role must still get UNAUTHENTICATED or
  // PERMISSION_DENIED for its call rather than an unhealthy channel. It tells
  // no more than the plaintext health port does.
  if (absl::StartsWith(ToAbsl(path), kHealthServicePrefix)) {
    return grpc::Status::OK;
  }

  std::string principal;
  if (has_authorization) {
    const std::optional<std::string_view> token = BearerToken(authorization);
    if (!token.has_value()) {
      grpc::Status status =
          Unauthenticated("the authorization header is not a bearer token");
      LogRefusal(path, "", status);
      return status;
    }
    absl::StatusOr<std::string> subject = TokenSubject(*token);
    if (!subject.ok()) {
      grpc::Status status = Unauthenticated(
          absl::StrCat("bearer token refused: ", subject.status().message()));
      LogRefusal(path, "", status);
      return status;
    }
    principal = std::move(*subject);
  } else {
    principal = CertificatePrincipal(*context);
  }
  if (principal.empty()) {
    grpc::Status status = Unauthenticated(
        "no credentials: present a client certificate or a bearer token");
    LogRefusal(path, "", status);
    return status;
  }

  request.principal = principal;
  const AuthzDecision decision = policy_->Get()->Evaluate(request);
  if (!decision.allowed) {
    grpc::Status status(grpc::StatusCode::PERMISSION_DENIED,
                        absl::StrCat("permission denied: ", principal,
                                     " may not call ", ToAbsl(path)));
    LogRefusal(path, principal, status);
    return status;
  }
  return grpc::Status::OK;
}

void CallAuthenticator::LogRefusal(std::string_view path,
                                   std::string_view principal,
                                   const grpc::Status& status) {
  int suppressed = 0;
  {
    absl::MutexLock lock(&log_mu_);
    const absl::Time now = absl::Now();
    if (now - log_window_start_ >= kRefusalLogWindow) {
      log_window_start_ = now;
      logged_in_window_ = 0;
    }
    if (logged_in_window_ >= kRefusalLinesPerWindow) {
      ++suppressed_;
      return;
    }
    ++logged_in_window_;
    suppressed = std::exchange(suppressed_, 0);
  }
  THB_LOG(Warning) << "refused " << Loggable(path) << " to "
                   << (principal.empty() ? "an unauthenticated caller"
                                         : Loggable(principal))
                   << ": " << status.error_message()
                   << (suppressed > 0
                           ? absl::StrCat(" (", suppressed,
                                          " more refusals not logged)")
                           : "");
}

}  // namespace thb
