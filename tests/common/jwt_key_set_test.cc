// Reading key sets: PEM keys and certificates, JWKS, and their bounds.

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/jwt.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/jwt_test_fixture.h"
#include "tests/support/jwt_signer.h"

namespace thb {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::thb::testing::Claims;
using ::thb::testing::JwtTest;

void ExpectKeysRefused(const std::string& text, std::string_view problem) {
  absl::StatusOr<JwtKeySet> keys = JwtKeySet::Parse(text);
  ASSERT_FALSE(keys.ok());
  EXPECT_EQ(keys.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(keys.status().message()),
              HasSubstr(std::string(problem)));
  EXPECT_EQ(ERR_peek_error(), 0u) << "OpenSSL errors left behind";
}

TEST_F(JwtTest, KeySetMixesPemKeysAndCertificates) {
  const JwtKeySet keys =
      Keys("comment before\n" + PublicKeyPem(rsa_) + "between\n" +
           SelfSignedCertificatePem(ec_) + PublicKeyPem(other_rsa_));
  EXPECT_EQ(keys.size(), 3u);
  ExpectAccepted(SignJwt(other_rsa_, "RS256", "", Claims()), keys);
}

TEST_F(JwtTest, ShortRsaKeysAreRefused) {
  EvpPkeyPtr short_key = GenerateRsaKey(1024);
  ExpectKeysRefused(PublicKeyPem(short_key.get()),
                    "PEM block 1: RSA key of 1024 bits; at least 2048");
  ExpectKeysRefused(Jwks({PublicKeyJwk(short_key.get(), "old")}),
                    "JWKS keys[0] (kid \"old\"): RSA key of 1024 bits");
}

TEST_F(JwtTest, PrivateKeysAreRefused) {
  ExpectKeysRefused(
      "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
      "PEM block 1: a private key");
  std::string jwk = PublicKeyJwk(ec_, "a");
  jwk.insert(jwk.size() - 1, ",\"d\":\"c2VjcmV0\"");
  ExpectKeysRefused(Jwks({jwk}), "JWKS keys[0] (kid \"a\"): holds a private");
}

TEST_F(JwtTest, PemProblemsNameTheBlock) {
  const std::string rsa_pem = PublicKeyPem(rsa_);
  ExpectKeysRefused(rsa_pem +
                        "-----BEGIN CERTIFICATE-----\nAAAA\n"
                        "-----END CERTIFICATE-----\n",
                    "PEM block 2: CERTIFICATE block is not a certificate");
  ExpectKeysRefused(rsa_pem +
                        "-----BEGIN PUBLIC KEY-----\n@@@@\n"
                        "-----END PUBLIC KEY-----\n",
                    "PEM block 2: not valid PEM");
  ExpectKeysRefused(rsa_pem + rsa_pem.substr(0, rsa_pem.size() / 2),
                    "PEM block 2: not valid PEM");
  ExpectKeysRefused(
      "-----BEGIN RSA PUBLIC KEY-----\nAAAA\n-----END RSA PUBLIC KEY-----\n",
      "PEM block 1: PKCS#1 \"RSA PUBLIC KEY\" blocks are not read");
  ExpectKeysRefused("-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n",
                    "PEM block 1: \"X509 CRL\" block");
  ExpectKeysRefused("a file of keys, but no key", "neither PEM");
  ExpectKeysRefused("", "neither PEM");
}

TEST_F(JwtTest, JwksProblemsNameTheKeyAndField) {
  const std::string rsa_jwk = PublicKeyJwk(rsa_, "r");
  auto without = [](std::string jwk, const std::string& field) {
    const size_t at = jwk.find("\"" + field + "\":\"");
    const size_t end = jwk.find('"', at + field.size() + 4);
    jwk.erase(at, end - at + 2);
    return jwk;
  };
  ExpectKeysRefused(Jwks({PublicKeyJwk(ec_, "e"), without(rsa_jwk, "n")}),
                    "JWKS keys[1] (kid \"r\"): \"n\" is missing");
  ExpectKeysRefused(Jwks({without(rsa_jwk, "kty")}),
                    "JWKS keys[0] (kid \"r\"): \"kty\" is missing");
  ExpectKeysRefused(Jwks({"{\"kty\":\"RSA\",\"n\":\"AQAB=\",\"e\":\"AQAB\"}"}),
                    "JWKS keys[0]: \"n\" is not base64url");
  ExpectKeysRefused(
      Jwks({"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" +
            Base64UrlEncode(std::string(31, '\x01')) + "\",\"y\":\"" +
            Base64UrlEncode(std::string(32, '\x01')) + "\"}"}),
      "JWKS keys[0]: \"x\" is 31 bytes; a P-256 coordinate is 32");
  ExpectKeysRefused(
      Jwks({"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" +
            Base64UrlEncode(std::string(32, '\x01')) + "\",\"y\":\"" +
            Base64UrlEncode(std::string(32, '\x01')) + "\"}"}),
      "JWKS keys[0]: not a valid public key");
  ExpectKeysRefused(
      Jwks({"{\"kty\":\"RSA\",\"n\":\"" +
            Base64UrlEncode(std::string(256, '\xff')) + "\",\"e\":\"AQAB\"}"}),
      "JWKS keys[0]: not a valid public key");
  ExpectKeysRefused(Jwks({"{\"kty\":\"RSA\",\"kid\":7}"}),
                    "JWKS keys[0]: \"kid\" is not a string");
  ExpectKeysRefused(Jwks({"[]"}), "JWKS keys[0]: not a JSON object");
  ExpectKeysRefused("{\"keys\":{}}", "no \"keys\" array");
  ExpectKeysRefused("{\"keys\":[", "the JWKS document is not a JSON object");
  ExpectKeysRefused("{\"keys\":[]}", "holds no key that verifies");
}

TEST_F(JwtTest, JwksProblemsNeverQuoteKeyBytes) {
  EvpPkeyPtr short_key = GenerateRsaKey(1024);
  const std::string jwk = PublicKeyJwk(short_key.get(), "old");
  absl::StatusOr<JwtKeySet> keys = JwtKeySet::Parse(Jwks({jwk}));
  ASSERT_FALSE(keys.ok());
  const size_t n_at = jwk.find("\"n\":\"") + 5;
  const std::string n = jwk.substr(n_at, jwk.find('"', n_at) - n_at);
  EXPECT_THAT(std::string(keys.status().message()),
              Not(HasSubstr(n.substr(0, 16))));
}

TEST_F(JwtTest, JwksEntriesForOtherUsesAreSkipped) {
  const JwtKeySet keys = Keys(Jwks({
      "{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}",
      "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AAAA\"}",
      "{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"AAAA\",\"y\":\"AAAA\"}",
      PublicKeyJwk(other_rsa_, "enc", "RSA-OAEP").insert(1, "\"use\":\"enc\","),
      PublicKeyJwk(other_rsa_, "ps", "PS256"),
      PublicKeyJwk(rsa_, "sig").insert(1, "\"use\":\"sig\","),
  }));
  EXPECT_EQ(keys.size(), 1u);
  ExpectAccepted(SignJwt(rsa_, "RS256", "sig", Claims()), keys);
  ExpectKeysRefused(Jwks({"{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}"}),
                    "holds no key that verifies RS256 or ES256 signatures");
}

TEST_F(JwtTest, PemKeysOfOtherTypesAreRefused) {
  EvpPkeyPtr ed25519(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  ASSERT_NE(ed25519, nullptr);
  ExpectKeysRefused(PublicKeyPem(ed25519.get()),
                    "PEM block 1: \"ED25519\" key; only RSA and EC P-256");
  EvpPkeyPtr p384(EVP_EC_gen("P-384"));
  ASSERT_NE(p384, nullptr);
  ExpectKeysRefused(PublicKeyPem(p384.get()),
                    "PEM block 1: EC key not on the named curve P-256");
}

TEST_F(JwtTest, KeyCountIsBounded) {
  std::string pem;
  std::vector<std::string> jwks;
  for (size_t i = 0; i < kMaxJwtKeys; ++i) {
    pem += PublicKeyPem(ec_);
    jwks.push_back(PublicKeyJwk(ec_, absl::StrCat("k", i)));
  }
  EXPECT_EQ(Keys(pem).size(), kMaxJwtKeys);
  EXPECT_EQ(Keys(Jwks(jwks)).size(), kMaxJwtKeys);
  pem += PublicKeyPem(ec_);
  jwks.push_back("{\"kty\":\"oct\"}");  // counted even though it is skipped
  ExpectKeysRefused(pem, "holds 101 keys, more than the limit of 100");
  ExpectKeysRefused(Jwks(jwks), "holds 101 keys, more than the limit of 100");
}

TEST_F(JwtTest, KeyFileSizeIsBounded) {
  const std::string pem = PublicKeyPem(rsa_);
  std::string pem_at_limit =
      pem + std::string(kMaxJwtKeyFileBytes - pem.size(), '\n');
  EXPECT_EQ(Keys(pem_at_limit).size(), 1u);
  const std::string jwks = Jwks({PublicKeyJwk(rsa_, "a")});
  std::string jwks_at_limit =
      std::string(kMaxJwtKeyFileBytes - jwks.size(), ' ') + jwks;
  EXPECT_EQ(Keys(jwks_at_limit).size(), 1u);
  ExpectKeysRefused(pem_at_limit + "\n",
                    "the key file is 1048577 bytes, more than the limit of "
                    "1048576");
  ExpectKeysRefused(" " + jwks_at_limit, "the key file is 1048577 bytes");
}

}  // namespace
}  // namespace thb
