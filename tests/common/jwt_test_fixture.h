#ifndef THB_TESTS_COMMON_JWT_TEST_FIXTURE_H_
#define THB_TESTS_COMMON_JWT_TEST_FIXTURE_H_

// The keys, claims and verdicts the tests of common/jwt.h share: tokens are
// signed with keys made once per test suite and verified at a fixed time.

#include <openssl/err.h>
#include <openssl/evp.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/jwt.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/jwt_signer.h"

namespace thb::testing {

constexpr char kIssuer[] = "https://issuer.test";
constexpr char kAudience[] = "thb";
constexpr char kSubject[] = "spiffe://thb/editor/dev";

const absl::Time kNow = absl::FromUnixSeconds(1700000000);

inline JwtRequirements Requirements() {
  JwtRequirements requirements;
  requirements.issuer = kIssuer;
  requirements.audience = kAudience;
  return requirements;
}

inline std::string Claims(absl::Duration lifetime = absl::Minutes(10)) {
  return JwtClaimsJson(kSubject, kIssuer, kAudience, kNow, lifetime);
}

// Claims with the standard ones replaced or added: `extra` is inserted as
// JSON members, and any member in `drop` is left out.
inline std::string ClaimsWith(std::string_view extra,
                              std::vector<std::string> drop = {}) {
  std::vector<std::string> members = {
      absl::StrCat("\"sub\":\"", kSubject, "\""),
      absl::StrCat("\"iss\":\"", kIssuer, "\""),
      absl::StrCat("\"aud\":\"", kAudience, "\""),
      absl::StrCat("\"iat\":", absl::ToUnixSeconds(kNow)),
      absl::StrCat("\"exp\":", absl::ToUnixSeconds(kNow + absl::Minutes(10))),
  };
  std::vector<std::string> kept;
  for (const std::string& member : members) {
    const std::string name = member.substr(1, member.find('"', 1) - 1);
    bool dropped = false;
    for (const std::string& d : drop) dropped = dropped || d == name;
    if (!dropped && extra.find("\"" + name + "\"") == std::string_view::npos) {
      kept.push_back(member);
    }
  }
  std::string json = "{" + absl::StrJoin(kept, ",");
  if (!extra.empty()) {
    absl::StrAppend(&json, kept.empty() ? "" : ",",
                    absl::string_view(extra.data(), extra.size()));
  }
  return json + "}";
}

class JwtTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = GenerateRsaKey().release();
    other_rsa_ = GenerateRsaKey().release();
    ec_ = GenerateEcKey().release();
    other_ec_ = GenerateEcKey().release();
  }
  static void TearDownTestSuite() {
    for (EVP_PKEY* key : {rsa_, other_rsa_, ec_, other_ec_}) {
      EVP_PKEY_free(key);
    }
  }

  static JwtKeySet Keys(const std::string& pem_or_jwks) {
    absl::StatusOr<JwtKeySet> keys = JwtKeySet::Parse(pem_or_jwks);
    EXPECT_TRUE(keys.ok()) << keys.status();
    return *std::move(keys);
  }

  static JwtKeySet RsaAndEcPem() {
    return Keys(PublicKeyPem(rsa_) + PublicKeyPem(ec_));
  }

  // Refused as UNAUTHENTICATED with `reason` in the message, and the message
  // holds no segment of the token.
  static void ExpectRefused(
      const std::string& token, const JwtKeySet& keys, std::string_view reason,
      const JwtRequirements& requirements = Requirements()) {
    absl::StatusOr<JwtClaims> claims =
        VerifyJwt(token, keys, requirements, kNow);
    ASSERT_FALSE(claims.ok()) << "accepted: " << token;
    EXPECT_EQ(claims.status().code(), absl::StatusCode::kUnauthenticated);
    const std::string message(claims.status().message());
    EXPECT_THAT(message, ::testing::HasSubstr(std::string(reason)));
    for (absl::string_view segment : absl::StrSplit(token, '.')) {
      if (segment.size() >= 8) {
        EXPECT_THAT(message,
                    ::testing::Not(::testing::HasSubstr(std::string(segment))));
      }
    }
    EXPECT_EQ(ERR_peek_error(), 0u) << "OpenSSL errors left behind";
  }

  static void ExpectAccepted(
      const std::string& token, const JwtKeySet& keys,
      const JwtRequirements& requirements = Requirements()) {
    absl::StatusOr<JwtClaims> claims =
        VerifyJwt(token, keys, requirements, kNow);
    ASSERT_TRUE(claims.ok()) << claims.status();
    EXPECT_EQ(claims->subject, kSubject);
  }

  static inline EVP_PKEY* rsa_ = nullptr;
  static inline EVP_PKEY* other_rsa_ = nullptr;
  static inline EVP_PKEY* ec_ = nullptr;
  static inline EVP_PKEY* other_ec_ = nullptr;
};

inline std::vector<std::string> Segments(const std::string& token) {
  return absl::StrSplit(token, '.');
}

inline std::string Join(const std::vector<std::string>& segments) {
  return absl::StrJoin(segments, ".");
}

inline std::string Decoded(std::string_view segment) {
  std::string bytes;
  EXPECT_TRUE(absl::WebSafeBase64Unescape(
      absl::string_view(segment.data(), segment.size()), &bytes));
  return bytes;
}

// The token with one byte of its signature flipped.
inline std::string WithFlippedSignatureByte(const std::string& token) {
  std::vector<std::string> segments = Segments(token);
  std::string signature = Decoded(segments[2]);
  signature[signature.size() / 2] ^= 0x01;
  segments[2] = Base64UrlEncode(signature);
  return Join(segments);
}
}  // namespace thb::testing

#endif  // THB_TESTS_COMMON_JWT_TEST_FIXTURE_H_
