#ifndef THB_TESTS_SUPPORT_JWT_SIGNER_H_
#define THB_TESTS_SUPPORT_JWT_SIGNER_H_

#include <openssl/evp.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"

namespace thb {

// Mints bearer tokens for tests with keys made at test time, the way an
// identity provider would. Every function aborts the test binary on an
// OpenSSL failure: a test cannot go on without its keys and tokens.

struct EvpPkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyDeleter>;

// A fresh RSA key pair (RS256 needs 2048 bits or more).
EvpPkeyPtr GenerateRsaKey(int bits = 2048);
// A fresh EC key pair on P-256 (ES256).
EvpPkeyPtr GenerateEcKey();

// RFC 4648 §5 base64url without padding, as JWS writes every segment.
std::string Base64UrlEncode(std::string_view bytes);

// A compact JWS: header {"alg":alg,"typ":"JWT","kid":kid} (no kid when
// empty) and `claims_json` as the payload, signed by `key` for `alg` (RS256 or
// ES256).
std::string SignJwt(EVP_PKEY* key, std::string_view alg, std::string_view kid,
                    std::string_view claims_json);

// A compact JWS with any header, signed by `key` as its type signs, whatever
// the header says: RSA PKCS#1 v1.5 with SHA-256, or ECDSA P-256 with SHA-256
// as JOSE's raw r || s. For tokens that lie about their alg.
std::string SignJwtWithHeader(EVP_PKEY* key, std::string_view header_json,
                              std::string_view claims_json);

// A compact JWS with any header, MACed with HMAC-SHA-256 under `secret`: the
// token of a key-confusion attack, where the secret is a public key's bytes.
std::string SignJwtHs256(std::string_view secret, std::string_view header_json,
                         std::string_view claims_json);

// The claims of a token a verifier configured for `issuer` and `audience`
// accepts at `now`: sub, iss, aud, iat now, exp `lifetime` later.
std::string JwtClaimsJson(std::string_view subject, std::string_view issuer,
                          std::string_view audience, absl::Time now,
                          absl::Duration lifetime = absl::Minutes(10));

// The public half of `key` as a "-----BEGIN PUBLIC KEY-----" PEM block.
std::string PublicKeyPem(EVP_PKEY* key);
// A self-signed X.509 certificate for `key`, as PEM, valid for a day.
std::string SelfSignedCertificatePem(EVP_PKEY* key);
// The public half of `key` as one JWK object; "kid" and "alg" are left out
// when empty.
std::string PublicKeyJwk(EVP_PKEY* key, std::string_view kid,
                         std::string_view alg = "");
// A JWKS document of JWK objects: {"keys":[...]}.
std::string Jwks(const std::vector<std::string>& jwks);

}  // namespace thb

#endif  // THB_TESTS_SUPPORT_JWT_SIGNER_H_
