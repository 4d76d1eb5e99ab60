#ifndef THB_COMMON_JWT_H_
#define THB_COMMON_JWT_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace thb {

// Bounds of bearer token verification; docs/DECISIONS.md says why each.
// A token is refused before any decoding when longer than this.
inline constexpr size_t kMaxJwtBytes = 8 * 1024;
// A key file (PEM or JWKS) is refused when longer than this.
inline constexpr size_t kMaxJwtKeyFileBytes = 1024 * 1024;
// A key file with more keys than this (PEM blocks or JWKS entries, usable or
// not) is refused.
inline constexpr size_t kMaxJwtKeys = 100;
// RSA keys shorter than this are refused (RFC 7518 §3.3).
inline constexpr int kMinJwtRsaBits = 2048;
// The clock skew a server may allow on exp, nbf and iat.
inline constexpr absl::Duration kMaxJwtLeeway = absl::Minutes(5);

// What a token must say to be accepted.
struct JwtRequirements {
  std::string issuer;    // required "iss" (exact)
  std::string audience;  // required in "aud" (string or array)
  absl::Duration leeway = absl::Seconds(60);  // clock skew on exp/nbf/iat
};

// What a verified token says.
struct JwtClaims {
  std::string subject;  // "sub", non-empty
  std::string issuer;   // "iss"
  absl::Time expiry;    // "exp"
};

// The public keys bearer tokens are verified against; immutable once parsed,
// cheap to copy (the keys are shared), and safe to use from many threads.
class JwtKeySet {
 public:
  // Detects the format by content. PEM: one or more "PUBLIC KEY" or
  // "CERTIFICATE" blocks (a certificate lends its key; its validity and
  // issuer are not checked, it is only a container). JWKS:
  // {"keys":[{"kty":"RSA","n","e",...}, {"kty":"EC","crv":"P-256","x","y"}]}.
  // Accepts RSA keys of at least kMinJwtRsaBits and EC keys on P-256. A JWKS
  // entry for something else (a "use" other than "sig", an "alg" other than
  // RS256/ES256, another "kty" or curve) is skipped, since identity providers
  // publish such keys beside their signing keys; a PEM block of another kind
  // of key is an error, since it was put there for this. INVALID_ARGUMENT
  // naming the key ("JWKS keys[2]", "PEM block 3"), the field and what is
  // wrong, never key bytes; also when no usable key is left.
  static absl::StatusOr<JwtKeySet> Parse(std::string_view pem_or_jwks);

  // The usable keys.
  size_t size() const { return keys_.size(); }

  struct Key;  // Defined in jwt.cc: OpenSSL types stay out of this header.

 private:
  explicit JwtKeySet(std::vector<std::shared_ptr<const Key>> keys)
      : keys_(std::move(keys)) {}

  std::vector<std::shared_ptr<const Key>> keys_;

  friend absl::StatusOr<JwtClaims> VerifyJwt(
      std::string_view token, const JwtKeySet& keys,
      const JwtRequirements& requirements, absl::Time now);
};

// Verifies a compact JWS token (the part after "Bearer "): signed with RS256
// or ES256 by a key of `keys`, issued by requirements.issuer for
// requirements.audience, valid at `now` give or take requirements.leeway,
// with a subject. UNAUTHENTICATED with the reason ("signature does not
// verify", "token expired at ...", "malformed token: ...") otherwise; the
// message never holds the token or a part of it, only claim values of a token
// whose signature verified (iss, aud). FAILED_PRECONDITION when the
// requirements themselves are unusable (empty issuer or audience, leeway
// outside [0, kMaxJwtLeeway]).
absl::StatusOr<JwtClaims> VerifyJwt(std::string_view token,
                                    const JwtKeySet& keys,
                                    const JwtRequirements& requirements,
                                    absl::Time now);

}  // namespace thb

#endif  // THB_COMMON_JWT_H_
