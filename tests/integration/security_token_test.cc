// Bearer tokens on real processes over loopback: a valid token names the
// caller and the policy decides; bad tokens are UNAUTHENTICATED and never
// quoted.

#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/channel.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "tests/integration/security_suite.h"
#include "tests/support/jwt_signer.h"
#include "tests/support/process.h"
#include "tests/support/servers.h"
#include "tests/support/test_pki.h"
#include "thb/registry/v1/registry_service.grpc.pb.h"

namespace thb {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::thb::testing::CallMethod;
using ::thb::testing::Context;
using ::thb::testing::kAdmin;
using ::thb::testing::kReader;
using ::thb::testing::Refused;
using ::thb::testing::ServerProcess;
using ::thb::testing::TestPki;
using ::thb::testing::WriteText;
namespace registry_v1 = ::thb::registry::v1;

class TokenTest : public ::testing::Test {
 protected:
  static constexpr char kIssuer[] = "https://issuer.thb.test";
  static constexpr char kAudience[] = "thb";

  void SetUp() override {
    dir_ = testing::MakeTempDir("tokens");
    key_ = GenerateEcKey();
    const std::string keys = absl::StrCat(dir_, "/jwt-keys.pem");
    WriteText(keys, PublicKeyPem(key_.get()));
    registry_ = std::make_unique<ServerProcess>(
        THB_REGISTRY_BIN, dir_, "registry",
        std::vector<std::string>{absl::StrCat("--jwt_keys=", keys),
                                 absl::StrCat("--jwt_issuer=", kIssuer),
                                 absl::StrCat("--jwt_audience=", kAudience)});
    ASSERT_TRUE(registry_->Start().ok());
  }

  // A TLS channel without a client certificate, carrying `token`.
  std::shared_ptr<grpc::Channel> WithToken(const std::string& token) {
    ChannelSecurity security;
    security.tls.ca = TestPki::Get().ca();
    security.token = token;
    ChannelOptions options;
    options.credentials = *MakeChannelCredentials(security);
    return MakeChannel(registry_->address(), options);
  }

  std::string Token(const std::string& subject, absl::Duration lifetime,
                    const std::string& issuer = kIssuer,
                    const std::string& audience = kAudience) {
    return SignJwt(
        key_.get(), "ES256", "",
        JwtClaimsJson(subject, issuer, audience, absl::Now(), lifetime));
  }

  std::string dir_;
  EvpPkeyPtr key_;
  std::unique_ptr<ServerProcess> registry_;
};

TEST_F(TokenTest, AValidTokenNamesTheCallerAndThePolicyDecides) {
  auto channel = WithToken(Token(kReader, absl::Minutes(5)));
  EXPECT_TRUE(
      CallMethod(channel, "/thb.registry.v1.CountryRegistryService/GetCountry")
          .error_code() != grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_FALSE(Refused(CallMethod(
      channel, "/thb.registry.v1.CountryRegistryService/ListCountries")));
  const grpc::Status write = CallMethod(
      channel, "/thb.registry.v1.CountryRegistryService/CreateCountry");
  EXPECT_EQ(write.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(write.error_message(), HasSubstr(kReader));

  // The admin's token writes, and the audit log names its subject.
  auto admin = registry_v1::CountryRegistryService::NewStub(
      WithToken(Token(kAdmin, absl::Minutes(5))));
  registry_v1::CreateCountryRequest create;
  create.mutable_country()->set_code("XK");
  create.mutable_country()->set_name("Kosovo");
  registry_v1::CreateCountryResponse created;
  auto context = Context();
  ASSERT_TRUE(admin->CreateCountry(context.get(), create, &created).ok());
  EXPECT_EQ(created.country().last_changed_by(), kAdmin);
}

TEST_F(TokenTest, BadTokensAreUnauthenticatedAndNeverQuoted) {
  const std::string good = Token(kAdmin, absl::Minutes(5));
  std::string bad_signature = good;
  bad_signature[bad_signature.size() - 5] =
      bad_signature[bad_signature.size() - 5] == 'A' ? 'B' : 'A';
  const std::string header_none =
      Base64UrlEncode(R"({"alg":"none","typ":"JWT"})");
  const std::string payload =
      good.substr(good.find('.') + 1, good.rfind('.') - good.find('.') - 1);
  const EvpPkeyPtr other_key = GenerateEcKey();
  const std::map<std::string, std::string> tokens = {
      {"bad signature", bad_signature},
      {"another key", SignJwt(other_key.get(), "ES256", "",
                              JwtClaimsJson(kAdmin, kIssuer, kAudience,
                                            absl::Now(), absl::Minutes(5)))},
      {"wrong issuer", Token(kAdmin, absl::Minutes(5), "https://other.test")},
      {"wrong audience", Token(kAdmin, absl::Minutes(5), kIssuer, "other")},
      {"expired", Token(kAdmin, -absl::Minutes(10))},
      {"alg none", absl::StrCat(header_none, ".", payload, ".")},
      {"garbage", "not-a-jwt"}};
  for (const auto& [what, token] : tokens) {
    const grpc::Status status = CallMethod(
        WithToken(token), "/thb.registry.v1.CountryRegistryService/GetCountry");
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << what;
    EXPECT_THAT(status.error_message(), Not(HasSubstr(payload))) << what;
  }
  EXPECT_THAT(registry_->process().Log(), Not(HasSubstr(payload)));
}

}  // namespace
}  // namespace thb
