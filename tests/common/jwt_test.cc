#include "common/jwt.h"

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/jwt_signer.h"

namespace thb {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kIssuer[] = "https://issuer.test";
constexpr char kAudience[] = "thb";
constexpr char kSubject[] = "spiffe://thb/editor/dev";

const absl::Time kNow = absl::FromUnixSeconds(1700000000);

JwtRequirements Requirements() {
  JwtRequirements requirements;
  requirements.issuer = kIssuer;
  requirements.audience = kAudience;
  return requirements;
}

std::string Claims(absl::Duration lifetime = absl::Minutes(10)) {
  return JwtClaimsJson(kSubject, kIssuer, kAudience, kNow, lifetime);
}

// Claims with the standard ones replaced or added: `extra` is inserted as
// JSON members, and any member in `drop` is left out.
std::string ClaimsWith(std::string_view extra,
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
    EXPECT_THAT(message, HasSubstr(std::string(reason)));
    for (absl::string_view segment : absl::StrSplit(token, '.')) {
      if (segment.size() >= 8) {
        EXPECT_THAT(message, Not(HasSubstr(std::string(segment))));
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

  static EVP_PKEY* rsa_;
  static EVP_PKEY* other_rsa_;
  static EVP_PKEY* ec_;
  static EVP_PKEY* other_ec_;
};

EVP_PKEY* JwtTest::rsa_ = nullptr;
EVP_PKEY* JwtTest::other_rsa_ = nullptr;
EVP_PKEY* JwtTest::ec_ = nullptr;
EVP_PKEY* JwtTest::other_ec_ = nullptr;

std::vector<std::string> Segments(const std::string& token) {
  return absl::StrSplit(token, '.');
}

std::string Join(const std::vector<std::string>& segments) {
  return absl::StrJoin(segments, ".");
}

std::string Decoded(std::string_view segment) {
  std::string bytes;
  EXPECT_TRUE(absl::WebSafeBase64Unescape(
      absl::string_view(segment.data(), segment.size()), &bytes));
  return bytes;
}

// The token with one byte of its signature flipped.
std::string WithFlippedSignatureByte(const std::string& token) {
  std::vector<std::string> segments = Segments(token);
  std::string signature = Decoded(segments[2]);
  signature[signature.size() / 2] ^= 0x01;
  segments[2] = Base64UrlEncode(signature);
  return Join(segments);
}

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

TEST_F(JwtTest, AlgNoneIsRefused) {
  const JwtKeySet keys = RsaAndEcPem();
  const std::string unsigned_part =
      absl::StrCat(Base64UrlEncode("{\"alg\":\"none\",\"typ\":\"JWT\"}"), ".",
                   Base64UrlEncode(Claims()));
  ExpectRefused(unsigned_part + ".", keys, "alg none is not accepted");
  const std::string signature =
      Segments(SignJwt(rsa_, "RS256", "", Claims()))[2];
  ExpectRefused(unsigned_part + "." + signature, keys,
                "alg none is not accepted");
  ExpectRefused(absl::StrCat(Base64UrlEncode("{\"alg\":\"NoNe\"}"), ".",
                             Base64UrlEncode(Claims()), "."),
                keys, "alg none is not accepted");
}

TEST_F(JwtTest, Hs256WithThePublicKeyAsSecretIsRefused) {
  // The classic key confusion: a verifier that let the token pick HMAC would
  // use the RSA public key, which anyone has, as the secret.
  const std::string pem = PublicKeyPem(rsa_);
  const JwtKeySet keys = Keys(pem);
  ExpectRefused(
      SignJwtHs256(pem, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", Claims()), keys,
      "alg \"HS256\" is not accepted; only RS256 and ES256 are");
  const JwtKeySet jwks = Keys(Jwks({PublicKeyJwk(rsa_, "a")}));
  ExpectRefused(SignJwtHs256(PublicKeyJwk(rsa_, "a"),
                             "{\"alg\":\"HS256\",\"kid\":\"a\"}", Claims()),
                jwks, "alg \"HS256\" is not accepted");
}

TEST_F(JwtTest, OtherAlgsAreRefused) {
  for (const char* alg : {"RS384", "PS256", "ES512", "EdDSA", "rs256"}) {
    ExpectRefused(SignJwtWithHeader(
                      rsa_, absl::StrCat("{\"alg\":\"", alg, "\"}"), Claims()),
                  RsaAndEcPem(), absl::StrCat("alg \"", alg, "\""));
  }
  ExpectRefused(SignJwtWithHeader(rsa_, "{\"typ\":\"JWT\"}", Claims()),
                RsaAndEcPem(), "malformed token: header has no \"alg\"");
  ExpectRefused(SignJwtWithHeader(rsa_, "{\"alg\":256}", Claims()),
                RsaAndEcPem(), "malformed token: header has no \"alg\"");
}

TEST_F(JwtTest, AlgMustMatchTheKeyType) {
  // An RSA key set and a token claiming ES256.
  ExpectRefused(SignJwt(ec_, "ES256", "", Claims()), Keys(PublicKeyPem(rsa_)),
                "no configured key verifies ES256 tokens; ES256 needs an EC "
                "P-256 key");
  ExpectRefused(SignJwt(ec_, "ES256", "a", Claims()),
                Keys(Jwks({PublicKeyJwk(rsa_, "a")})),
                "key \"a\" is an RSA key; it does not verify ES256 tokens");
  // An RSA signature under a header that says ES256.
  ExpectRefused(SignJwtWithHeader(rsa_, "{\"alg\":\"ES256\"}", Claims()),
                RsaAndEcPem(), "malformed token: ES256 signature of 256 bytes");
  // An EC signature under a header that says RS256.
  ExpectRefused(SignJwtWithHeader(ec_, "{\"alg\":\"RS256\"}", Claims()),
                RsaAndEcPem(), "signature does not verify");
}

TEST_F(JwtTest, JwksAlgMustMatchTheToken) {
  const JwtKeySet keys = Keys(Jwks({PublicKeyJwk(rsa_, "a", "RS256")}));
  ExpectAccepted(SignJwt(rsa_, "RS256", "a", Claims()), keys);
  absl::StatusOr<JwtKeySet> mismatched =
      JwtKeySet::Parse(Jwks({PublicKeyJwk(rsa_, "a", "ES256")}));
  EXPECT_EQ(mismatched.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(mismatched.status().message()),
              HasSubstr("JWKS keys[0] (kid \"a\"): \"alg\" \"ES256\" does not "
                        "go with \"kty\" \"RSA\""));
}

TEST_F(JwtTest, CritIsRefused) {
  ExpectRefused(SignJwtWithHeader(
                    rsa_, "{\"alg\":\"RS256\",\"crit\":[\"exp\"]}", Claims()),
                RsaAndEcPem(), "\"crit\"");
}

TEST_F(JwtTest, TypMustBeJwtOrAccessToken) {
  const JwtKeySet keys = RsaAndEcPem();
  for (const char* typ : {"JWT", "jwt", "at+jwt", "application/at+JWT"}) {
    ExpectAccepted(
        SignJwtWithHeader(
            rsa_, absl::StrCat("{\"alg\":\"RS256\",\"typ\":\"", typ, "\"}"),
            Claims()),
        keys);
  }
  ExpectAccepted(SignJwtWithHeader(rsa_, "{\"alg\":\"RS256\"}", Claims()),
                 keys);
  for (const char* typ : {"\"JOSE\"", "\"secevent+jwt\"", "1"}) {
    ExpectRefused(
        SignJwtWithHeader(rsa_,
                          absl::StrCat("{\"alg\":\"RS256\",\"typ\":", typ, "}"),
                          Claims()),
        keys, "header \"typ\" is neither");
  }
}

TEST_F(JwtTest, NonStrictBase64IsRefused) {
  const JwtKeySet keys = RsaAndEcPem();
  const std::string token = SignJwt(rsa_, "RS256", "", Claims());
  std::vector<std::string> segments = Segments(token);
  // A 256-byte signature leaves 4 unused bits in its last character.
  ASSERT_EQ(segments[2].size() % 4, 2u);

  std::vector<std::string> padded = segments;
  padded[2] += "==";
  ExpectRefused(Join(padded), keys,
                "malformed token: signature is not base64url");

  std::vector<std::string> standard_alphabet = segments;
  standard_alphabet[1][3] = '+';
  ExpectRefused(Join(standard_alphabet), keys,
                "malformed token: claims are not base64url");

  std::vector<std::string> spaced = segments;
  spaced[0] = " " + spaced[0];
  ExpectRefused(Join(spaced), keys, "malformed token: header is not base64url");

  // The same bytes with a non-zero unused bit: another spelling of the
  // signature, which a strict decoder refuses.
  std::vector<std::string> unused_bits = segments;
  // The last character is one of A, Q, g, w (two data bits, four zero bits);
  // the next one in the alphabet sets the lowest unused bit.
  char& last = unused_bits[2].back();
  ASSERT_THAT(std::string("AQgw"), HasSubstr(std::string(1, last)));
  ++last;
  ExpectRefused(Join(unused_bits), keys,
                "malformed token: signature is not base64url");
}

TEST_F(JwtTest, SegmentOfLengthOneMoreThanAMultipleOfFourIsRefused) {
  const JwtKeySet keys = RsaAndEcPem();
  std::vector<std::string> segments =
      Segments(SignJwt(rsa_, "RS256", "", Claims()));
  segments[2] = std::string(segments[2].size() / 4 * 4 + 1, 'A');
  ExpectRefused(Join(segments), keys,
                "malformed token: signature is not base64url");
}

TEST_F(JwtTest, MalformedJsonIsRefused) {
  const JwtKeySet keys = RsaAndEcPem();
  ExpectRefused(SignJwtWithHeader(rsa_, "{\"alg\":\"RS256\"", Claims()), keys,
                "malformed token: header is not a JSON object");
  ExpectRefused(SignJwtWithHeader(rsa_, "[\"RS256\"]", Claims()), keys,
                "malformed token: header is not a JSON object");
  ExpectRefused(SignJwt(rsa_, "RS256", "", "{\"sub\":"), keys,
                "malformed token: claims are not a JSON object");
  ExpectRefused(SignJwt(rsa_, "RS256", "", ""), keys,
                "malformed token: claims are not a JSON object");
  ExpectRefused(SignJwt(rsa_, "RS256", "", "\"a string\""), keys,
                "malformed token: claims are not a JSON object");
  // Two "sub" claims: which one counts would depend on the parser.
  ExpectRefused(
      SignJwt(rsa_, "RS256", "",
              ClaimsWith("\"sub\":\"spiffe://thb/admin/dev\",\"sub\":\"x\"")),
      keys, "malformed token: claims are not a JSON object");
  ExpectRefused(
      SignJwtWithHeader(rsa_, "{\"alg\":\"RS256\",\"alg\":\"none\"}", Claims()),
      keys, "malformed token: header is not a JSON object");
}

TEST_F(JwtTest, OnlyThreeSegmentsAreAToken) {
  const JwtKeySet keys = RsaAndEcPem();
  const std::vector<std::string> segments =
      Segments(SignJwt(rsa_, "RS256", "", Claims()));
  ExpectRefused("", keys, "malformed token: 1 dot-separated segments");
  ExpectRefused(segments[0] + "." + segments[1], keys,
                "malformed token: 2 dot-separated segments");
  ExpectRefused(Join(segments) + ".", keys,
                "malformed token: 4 dot-separated segments");
  ExpectRefused(Join({segments[0], segments[1], "", "", segments[2]}), keys,
                "malformed token: 5 dot-separated segments");
  ExpectRefused(segments[0] + ".." + segments[2], keys,
                "signature does not verify");
  ExpectRefused(segments[0] + "." + segments[1] + ".", keys,
                "malformed token: the signature is empty");
}

// A token signed by rsa_ whose length is exactly `length`, padded with an
// unknown header parameter and an unknown claim.
std::string TokenOfLength(EVP_PKEY* rsa, size_t length) {
  for (size_t header_pad = 0; header_pad < 4; ++header_pad) {
    for (size_t claims_pad = 0; claims_pad < length; ++claims_pad) {
      const std::string header = absl::StrCat(
          "{\"alg\":\"RS256\",\"x\":\"", std::string(header_pad, 'h'), "\"}");
      const std::string claims = ClaimsWith(
          absl::StrCat("\"pad\":\"", std::string(claims_pad, 'p'), "\""));
      // An RS256 signature of a 2048-bit key is 342 characters.
      const size_t size = Base64UrlEncode(header).size() + 1 +
                          Base64UrlEncode(claims).size() + 1 + 342;
      if (size == length) return SignJwtWithHeader(rsa, header, claims);
      if (size > length) break;
    }
  }
  ADD_FAILURE() << "no token of " << length << " bytes";
  return "";
}

TEST_F(JwtTest, TokenLengthIsBounded) {
  const JwtKeySet keys = RsaAndEcPem();
  const std::string at_limit = TokenOfLength(rsa_, kMaxJwtBytes);
  ASSERT_EQ(at_limit.size(), kMaxJwtBytes);
  ExpectAccepted(at_limit, keys);
  const std::string over_limit = TokenOfLength(rsa_, kMaxJwtBytes + 1);
  ASSERT_EQ(over_limit.size(), kMaxJwtBytes + 1);
  ExpectRefused(over_limit, keys,
                "malformed token: 8193 bytes, more than the limit of 8192");
}

TEST_F(JwtTest, ErrorsNeverQuoteTheToken) {
  // ExpectRefused checks every refusal; here the segments are ones a careless
  // message would be most tempted to show.
  const JwtKeySet keys = RsaAndEcPem();
  const std::string token = SignJwt(rsa_, "RS256", "", Claims());
  const std::vector<std::string> segments = Segments(token);
  for (const std::string& refused : {
           WithFlippedSignatureByte(token),
           Join({segments[0], segments[1] + "*", segments[2]}),
           Join({segments[0], segments[1], segments[2] + "="}),
           SignJwt(other_rsa_, "RS256", "", Claims()),
           SignJwt(rsa_, "RS256", "", ClaimsWith("\"iss\":\"nobody\"")),
       }) {
    absl::StatusOr<JwtClaims> claims =
        VerifyJwt(refused, keys, Requirements(), kNow);
    ASSERT_FALSE(claims.ok());
    const std::string message(claims.status().message());
    for (const std::string& segment : Segments(refused)) {
      EXPECT_THAT(message, Not(HasSubstr(segment)));
      EXPECT_THAT(message, Not(HasSubstr(segment.substr(0, 16))));
      EXPECT_THAT(message, Not(HasSubstr(segment.substr(segment.size() - 16))));
    }
  }
}

TEST_F(JwtTest, UnusableRequirementsAreAPreconditionFailure) {
  const JwtKeySet keys = RsaAndEcPem();
  const std::string token = SignJwt(rsa_, "RS256", "", Claims());
  JwtRequirements no_issuer = Requirements();
  no_issuer.issuer.clear();
  JwtRequirements no_audience = Requirements();
  no_audience.audience.clear();
  JwtRequirements negative = Requirements();
  negative.leeway = -absl::Seconds(1);
  JwtRequirements at_limit = Requirements();
  at_limit.leeway = kMaxJwtLeeway;
  JwtRequirements over_limit = Requirements();
  over_limit.leeway = kMaxJwtLeeway + absl::Seconds(1);
  for (const JwtRequirements& requirements :
       {no_issuer, no_audience, negative, over_limit}) {
    EXPECT_EQ(VerifyJwt(token, keys, requirements, kNow).status().code(),
              absl::StatusCode::kFailedPrecondition);
  }
  ExpectAccepted(token, keys, at_limit);
}

TEST_F(JwtTest, VerifiesFromManyThreadsAtOnce) {
  const JwtKeySet keys = RsaAndEcPem();
  const std::string rsa_token = SignJwt(rsa_, "RS256", "", Claims());
  const std::string ec_token = SignJwt(ec_, "ES256", "", Claims());
  std::vector<std::thread> threads;
  std::vector<int> accepted(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const std::string& token = (i + t) % 2 == 0 ? rsa_token : ec_token;
        if (VerifyJwt(token, keys, Requirements(), kNow).ok()) ++accepted[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int count : accepted) EXPECT_EQ(count, 50);
}

// Key sets.

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
