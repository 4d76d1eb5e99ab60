// What a token must look like: its header, its encoding, its size; and
// what errors may say.

#include <openssl/err.h>

#include <string>
#include <thread>
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
using ::thb::testing::ClaimsWith;
using ::thb::testing::Join;
using ::thb::testing::JwtTest;
using ::thb::testing::kNow;
using ::thb::testing::Requirements;
using ::thb::testing::Segments;
using ::thb::testing::WithFlippedSignatureByte;

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

}  // namespace
}  // namespace thb
