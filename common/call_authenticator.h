#ifndef THB_COMMON_CALL_AUTHENTICATOR_H_
#define THB_COMMON_CALL_AUTHENTICATOR_H_

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/authz_policy.h"
#include "common/jwt.h"
#include "common/reloading_file.h"
#include "grpcpp/security/auth_metadata_processor.h"

namespace thb {

struct AuthOptions {
  // A gRPC authorization policy (JSON); required.
  std::string policy_file;
  // PEM public keys or a JWKS; empty: bearer tokens are refused.
  std::string jwt_keys_file;
  JwtRequirements jwt;
  // How often both files are read again.
  absl::Duration refresh_interval = absl::Seconds(60);
};

// Verified tokens are remembered (by their SHA-256), so that a client sending
// the same token on every call pays for one signature check; bounded like
// every other table.
inline constexpr size_t kMaxCachedTokens = 4096;

// Who may call what, decided once per call before any handler runs: the
// caller's principal comes from a verified bearer token (its subject) or else
// from the client certificate the TLS handshake verified (URI SAN, else DNS
// SAN, else CN); the policy then allows or denies the method. No principal:
// UNAUTHENTICATED. Not allowed: PERMISSION_DENIED naming the method.
//
// The principal is not handed to the handler through the AuthContext: gRPC
// shares one AuthContext between all the calls of a connection, and calls
// on one connection may carry different tokens. CallerOf() (common/caller_of.h)
// derives it again from what this class admitted.
class CallAuthenticator : public grpc::AuthMetadataProcessor {
 public:
  static absl::StatusOr<std::shared_ptr<CallAuthenticator>> Create(
      const AuthOptions& options);

  // Policy evaluation and a cached token check do not block: run inline, on
  // the call's own thread, rather than hopping to gRPC's auth thread pool.
  bool IsBlocking() const override { return false; }

  grpc::Status Process(const InputMetadata& auth_metadata,
                       grpc::AuthContext* context,
                       OutputMetadata* consumed_auth_metadata,
                       OutputMetadata* response_metadata) override;

  // The token of an authorization header "Bearer <token>" (the scheme in
  // any case), or nullopt for any other value. The one reading of the header,
  // for the authorization step and for CallerOf() alike.
  static std::optional<std::string_view> BearerToken(
      std::string_view authorization);

  // The principal a verified client certificate names, or "" without one.
  static std::string CertificatePrincipal(const grpc::AuthContext& context);

 private:
  struct VerifiedToken {
    std::string subject;
    absl::Time expiry;
    // The key set that verified it: a token verified by keys since removed
    // must be verified again.
    std::shared_ptr<const JwtKeySet> keys;
  };

  CallAuthenticator(std::unique_ptr<ReloadingFile<AuthzPolicy>> policy,
                    std::unique_ptr<ReloadingFile<JwtKeySet>> keys,
                    JwtRequirements jwt)
      : policy_(std::move(policy)),
        keys_(std::move(keys)),
        jwt_(std::move(jwt)) {}

  // The subject of a bearer token, verified or taken from the cache.
  absl::StatusOr<std::string> TokenSubject(std::string_view token);
  // Refusals are logged, but a flood of them must not flood the log.
  void LogRefusal(std::string_view path, std::string_view principal,
                  const grpc::Status& status);

  std::unique_ptr<ReloadingFile<AuthzPolicy>> policy_;
  std::unique_ptr<ReloadingFile<JwtKeySet>> keys_;
  const JwtRequirements jwt_;

  absl::Mutex tokens_mu_;
  absl::flat_hash_map<std::string, VerifiedToken> tokens_
      ABSL_GUARDED_BY(tokens_mu_);

  absl::Mutex log_mu_;
  absl::Time log_window_start_ ABSL_GUARDED_BY(log_mu_) = absl::InfinitePast();
  int logged_in_window_ ABSL_GUARDED_BY(log_mu_) = 0;
  int suppressed_ ABSL_GUARDED_BY(log_mu_) = 0;
};

}  // namespace thb

#endif  // THB_COMMON_CALL_AUTHENTICATOR_H_
