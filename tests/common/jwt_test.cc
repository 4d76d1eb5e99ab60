// Verifying tokens: signatures and keys, then the claims.

#include "common/jwt.h"

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/jwt_test_fixture.h"
#include "tests/support/jwt_signer.h"

namespace thb {
namespace {

using ::thb::testing::Claims;
using ::thb::testing::ClaimsWith;
using ::thb::testing::Decoded;
using ::thb::testing::Join;
using ::thb::testing::JwtTest;
using ::thb::testing::kAudience;
using ::thb::testing::kIssuer;
using ::thb::testing::kNow;
using ::thb::testing::kSubject;
using ::thb::testing::Requirements;
using ::thb::testing::Segments;
using ::thb::testing::WithFlippedSignatureByte;

TEST_F(JwtTest, Rs256FromPemIsAccepted) {
  absl::StatusOr<JwtClaims> claims =
      VerifyJwt(SignJwt(rsa_, "RS256", "", Claims()), Keys(PublicKeyPem(rsa_)),
                Requirements(), kNow);
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->subject, kSubject);
  EXPECT_EQ(claims->issuer, kIssuer);
  EXPECT_EQ(claims->expiry, kNow + absl::Minutes(10));
}

TEST_F(JwtTest, Es256FromPemIsAccepted) {
  ExpectAccepted(SignJwt(ec_, "ES256", "", Claims()), Keys(PublicKeyPem(ec_)));
}

TEST_F(JwtTest, Rs256AndEs256FromJwksAreAccepted) {
  const JwtKeySet keys = Keys(
      Jwks({PublicKeyJwk(rsa_, "rsa-1", "RS256"), PublicKeyJwk(ec_, "ec-1")}));
  EXPECT_EQ(keys.size(), 2u);
  ExpectAccepted(SignJwt(rsa_, "RS256", "rsa-1", Claims()), keys);
  ExpectAccepted(SignJwt(ec_, "ES256", "ec-1", Claims()), keys);
}

TEST_F(JwtTest, KeysOfCertificatesAreAccepted) {
  const JwtKeySet keys =
      Keys(SelfSignedCertificatePem(rsa_) + SelfSignedCertificatePem(ec_));
  EXPECT_EQ(keys.size(), 2u);
  ExpectAccepted(SignJwt(rsa_, "RS256", "", Claims()), keys);
  ExpectAccepted(SignJwt(ec_, "ES256", "", Claims()), keys);
}

TEST_F(JwtTest, TokenWithoutKidTriesEveryKeyOfItsType) {
  const JwtKeySet keys =
      Keys(Jwks({PublicKeyJwk(rsa_, "a"), PublicKeyJwk(other_rsa_, "b"),
                 PublicKeyJwk(ec_, "c")}));
  ExpectAccepted(SignJwt(other_rsa_, "RS256", "", Claims()), keys);
  ExpectAccepted(SignJwt(ec_, "ES256", "", Claims()), keys);
}

TEST_F(JwtTest, KidSelectsTheKeyOfThatKid) {
  const JwtKeySet keys =
      Keys(Jwks({PublicKeyJwk(rsa_, "a"), PublicKeyJwk(other_rsa_, "b")}));
  ExpectAccepted(SignJwt(other_rsa_, "RS256", "b", Claims()), keys);
  // Key "b" would verify it, but the token names "a".
  ExpectRefused(SignJwt(other_rsa_, "RS256", "a", Claims()), keys,
                "signature does not verify");
  ExpectRefused(SignJwt(rsa_, "RS256", "c", Claims()), keys,
                "no configured RS256 key has kid \"c\"");
}

TEST_F(JwtTest, EmptyKidIsNoKid) {
  ExpectAccepted(
      SignJwtWithHeader(ec_, "{\"alg\":\"ES256\",\"kid\":\"\"}", Claims()),
      Keys(PublicKeyPem(ec_)));
  ExpectRefused(
      SignJwtWithHeader(ec_, "{\"alg\":\"ES256\",\"kid\":\"\"}", Claims()),
      Keys(PublicKeyPem(rsa_)), "no configured key verifies ES256 tokens");
  ExpectRefused(
      SignJwtWithHeader(rsa_, "{\"alg\":\"RS256\",\"kid\":7}", Claims()),
      Keys(PublicKeyPem(rsa_)),
      "malformed token: header \"kid\" is not a string");
}

TEST_F(JwtTest, KeysWithoutKidVerifyTokensWithKid) {
  ExpectAccepted(SignJwt(rsa_, "RS256", "from-the-provider", Claims()),
                 Keys(PublicKeyPem(rsa_)));
}

TEST_F(JwtTest, FlippedSignatureByteIsRefused) {
  const JwtKeySet keys = RsaAndEcPem();
  ExpectRefused(WithFlippedSignatureByte(SignJwt(rsa_, "RS256", "", Claims())),
                keys, "signature does not verify");
  ExpectRefused(WithFlippedSignatureByte(SignJwt(ec_, "ES256", "", Claims())),
                keys, "signature does not verify");
}

TEST_F(JwtTest, ChangedClaimsAreRefused) {
  const std::string token = SignJwt(rsa_, "RS256", "", Claims());
  std::vector<std::string> segments = Segments(token);
  segments[1] = Base64UrlEncode(
      JwtClaimsJson("spiffe://thb/admin/dev", kIssuer, kAudience, kNow));
  ExpectRefused(Join(segments), RsaAndEcPem(), "signature does not verify");
}

TEST_F(JwtTest, TokenOfAnotherKeyIsRefused) {
  const JwtKeySet keys = RsaAndEcPem();
  ExpectRefused(SignJwt(other_rsa_, "RS256", "", Claims()), keys,
                "signature does not verify");
  ExpectRefused(SignJwt(other_ec_, "ES256", "", Claims()), keys,
                "signature does not verify");
}

TEST_F(JwtTest, ZeroEs256SignatureIsRefused) {
  std::vector<std::string> segments =
      Segments(SignJwt(ec_, "ES256", "", Claims()));
  segments[2] = Base64UrlEncode(std::string(64, '\0'));
  ExpectRefused(Join(segments), RsaAndEcPem(), "signature does not verify");
}

TEST_F(JwtTest, Es256SignatureOfWrongLengthIsMalformed) {
  std::vector<std::string> segments =
      Segments(SignJwt(ec_, "ES256", "", Claims()));
  segments[2] = Base64UrlEncode(Decoded(segments[2]).substr(0, 63));
  ExpectRefused(Join(segments), RsaAndEcPem(),
                "malformed token: ES256 signature of 63 bytes");
}

TEST_F(JwtTest, WrongIssuerIsRefused) {
  ExpectRefused(SignJwt(rsa_, "RS256", "",
                        ClaimsWith("\"iss\":\"https://elsewhere.test\"")),
                RsaAndEcPem(),
                "issuer \"https://elsewhere.test\" is not the configured one");
  ExpectRefused(SignJwt(rsa_, "RS256", "", ClaimsWith("", {"iss"})),
                RsaAndEcPem(), "token has no \"iss\" claim");
}

TEST_F(JwtTest, AudienceMustNameTheConfiguredOne) {
  const JwtKeySet keys = RsaAndEcPem();
  ExpectRefused(SignJwt(rsa_, "RS256", "", ClaimsWith("\"aud\":\"other\"")),
                keys, "audience \"other\" is not the configured one");
  ExpectRefused(
      SignJwt(rsa_, "RS256", "", ClaimsWith("\"aud\":[\"other\",\"thb2\"]")),
      keys,
      "audiences [\"other\", \"thb2\"] do not include the configured one");
  ExpectRefused(SignJwt(rsa_, "RS256", "", ClaimsWith("\"aud\":[]")), keys,
                "audiences [] do not include the configured one");
  ExpectRefused(SignJwt(rsa_, "RS256", "", ClaimsWith("", {"aud"})), keys,
                "token has no \"aud\" claim");
  ExpectRefused(SignJwt(rsa_, "RS256", "", ClaimsWith("\"aud\":7")), keys,
                "malformed token: claim \"aud\" is neither");
  ExpectAccepted(
      SignJwt(rsa_, "RS256", "", ClaimsWith("\"aud\":[\"other\",\"thb\"]")),
      keys);
}

TEST_F(JwtTest, ExpiryIsHonouredWithLeeway) {
  const JwtKeySet keys = RsaAndEcPem();
  const std::string expired_beyond_leeway = SignJwt(
      rsa_, "RS256", "",
      ClaimsWith(absl::StrCat("\"exp\":", absl::ToUnixSeconds(kNow) - 60)));
  ExpectRefused(expired_beyond_leeway, keys,
                "token expired at 2023-11-14T22:12:20Z");
  ExpectAccepted(SignJwt(rsa_, "RS256", "",
                         ClaimsWith(absl::StrCat(
                             "\"exp\":", absl::ToUnixSeconds(kNow) - 59))),
                 keys);
  JwtRequirements no_leeway = Requirements();
  no_leeway.leeway = absl::ZeroDuration();
  ExpectRefused(
      SignJwt(rsa_, "RS256", "",
              ClaimsWith(absl::StrCat("\"exp\":", absl::ToUnixSeconds(kNow)))),
      keys, "token expired at", no_leeway);
}

TEST_F(JwtTest, NotBeforeIsHonouredWithLeeway) {
  const JwtKeySet keys = RsaAndEcPem();
  ExpectRefused(SignJwt(rsa_, "RS256", "",
                        ClaimsWith(absl::StrCat(
                            "\"nbf\":", absl::ToUnixSeconds(kNow) + 61))),
                keys, "token not valid before 2023-11-14T22:14:21Z");
  ExpectAccepted(SignJwt(rsa_, "RS256", "",
                         ClaimsWith(absl::StrCat(
                             "\"nbf\":", absl::ToUnixSeconds(kNow) + 60))),
                 keys);
}

TEST_F(JwtTest, IssuedInTheFutureIsRefused) {
  const JwtKeySet keys = RsaAndEcPem();
  ExpectRefused(SignJwt(rsa_, "RS256", "",
                        ClaimsWith(absl::StrCat(
                            "\"iat\":", absl::ToUnixSeconds(kNow) + 61))),
                keys, "token issued in the future, at 2023-11-14T22:14:21Z");
  ExpectAccepted(SignJwt(rsa_, "RS256", "",
                         ClaimsWith(absl::StrCat(
                             "\"iat\":", absl::ToUnixSeconds(kNow) + 60))),
                 keys);
}

TEST_F(JwtTest, FractionalNumericDatesAreRead) {
  ExpectAccepted(SignJwt(rsa_, "RS256", "",
                         ClaimsWith(absl::StrCat(
                             "\"exp\":", absl::ToUnixSeconds(kNow) + 0.5))),
                 RsaAndEcPem());
}

TEST_F(JwtTest, ExpAndSubAreRequired) {
  const JwtKeySet keys = RsaAndEcPem();
  ExpectRefused(SignJwt(rsa_, "RS256", "", ClaimsWith("", {"exp"})), keys,
                "token has no \"exp\" claim");
  ExpectRefused(SignJwt(rsa_, "RS256", "", ClaimsWith("\"exp\":\"soon\"")),
                keys, "malformed token: claim \"exp\" is not a number");
  ExpectRefused(SignJwt(rsa_, "RS256", "", ClaimsWith("", {"sub"})), keys,
                "token has no \"sub\" claim");
  ExpectRefused(SignJwt(rsa_, "RS256", "", ClaimsWith("\"sub\":\"\"")), keys,
                "claim \"sub\" is not a non-empty string");
  ExpectRefused(SignJwt(rsa_, "RS256", "", ClaimsWith("\"sub\":42")), keys,
                "claim \"sub\" is not a non-empty string");
}

}  // namespace
}  // namespace thb
