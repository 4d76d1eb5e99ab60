// Mutual TLS of the suite on real processes over loopback: its failures at
// the handshake, plaintext only on the health port, the TLS versions spoken,
// and the policy and certificates replaced on disk while the servers run.

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/channel.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "tests/integration/security_suite.h"
#include "tests/support/process.h"
#include "tests/support/servers.h"
#include "tests/support/test_pki.h"

namespace thb {
namespace {

using ::testing::HasSubstr;
using ::thb::testing::CallMethod;
using ::thb::testing::Context;
using ::thb::testing::Refused;
using ::thb::testing::ServerProcess;
using ::thb::testing::Suite;
using ::thb::testing::TestPki;
using ::thb::testing::WriteText;

std::string CopyTo(const std::string& dir, const std::string& from,
                   const std::string& name) {
  const std::string to = absl::StrCat(dir, "/", name);
  std::filesystem::copy_file(from, to,
                             std::filesystem::copy_options::overwrite_existing);
  return to;
}

std::string ReadText(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(file), {});
}

// --- Mutual TLS -------------------------------------------------------------

TEST(SecurityTest, CertificatesOfAnotherCaOrExpiredAreRefusedAtTheHandshake) {
  Suite suite;
  ASSERT_TRUE(suite.status().ok()) << suite.status();
  for (const std::string identity : {"stranger", "expired"}) {
    const grpc::Status status =
        CallMethod(testing::TestChannel(suite.registry().address(), identity),
                   "/grpc.health.v1.Health/Check");
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
        << identity << ": " << status.error_message();
  }
  // A client that does not trust the servers' CA does not talk to them.
  ChannelSecurity other;
  other.tls.ca = TestPki::Get().other_dir() + "/ca.pem";
  other.tls.cert = TestPki::Get().other_dir() + "/reader.pem";
  other.tls.key = TestPki::Get().other_dir() + "/reader-key.pem";
  ChannelOptions options;
  options.credentials = *MakeChannelCredentials(other);
  EXPECT_EQ(CallMethod(MakeChannel(suite.registry().address(), options),
                       "/grpc.health.v1.Health/Check")
                .error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST(SecurityTest, PlaintextFailsOnTheMainPortAndHealthAnswersOnItsOwn) {
  Suite suite;
  ASSERT_TRUE(suite.status().ok()) << suite.status();
  for (ServerProcess* server :
       {&suite.registry(), &suite.cooperation(), &suite.aggregator()}) {
    auto plaintext = grpc::CreateChannel(server->address(),
                                         grpc::InsecureChannelCredentials());
    EXPECT_EQ(
        CallMethod(plaintext, "/grpc.health.v1.Health/Check").error_code(),
        grpc::StatusCode::UNAVAILABLE);
    auto health = grpc::health::v1::Health::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", server->health_port()),
                            grpc::InsecureChannelCredentials()));
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    auto context = Context();
    EXPECT_TRUE(health->Check(context.get(), request, &response).ok());
    EXPECT_EQ(response.status(),
              grpc::health::v1::HealthCheckResponse::SERVING);
    // The health port serves nothing else.
    auto plain_health =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", server->health_port()),
                            grpc::InsecureChannelCredentials());
    EXPECT_EQ(CallMethod(plain_health,
                         "/thb.registry.v1.CountryRegistryService/GetCountry")
                  .error_code(),
              grpc::StatusCode::UNIMPLEMENTED);
  }
}

TEST(SecurityTest, OnlyTls12AndNewerAreSpoken) {
  Suite suite;
  ASSERT_TRUE(suite.status().ok()) << suite.status();
  const TestPki& pki = TestPki::Get();
  const auto handshake = [&](const std::string& version) {
    // SECLEVEL=0 lets the client offer the old versions at all, so that it
    // is the server that refuses them.
    const std::string command = absl::StrCat(
        "openssl s_client -connect ", suite.registry().address(), " ", version,
        " -cipher DEFAULT:@SECLEVEL=0 -alpn h2 -CAfile ", pki.ca(), " -cert ",
        pki.cert("reader"), " -key ", pki.key("reader"),
        " </dev/null >/dev/null 2>&1");
    return std::system(command.c_str()) == 0;
  };
  EXPECT_FALSE(handshake("-tls1"));
  EXPECT_FALSE(handshake("-tls1_1"));
  EXPECT_TRUE(handshake("-tls1_2"));
  EXPECT_TRUE(handshake("-tls1_3"));
}

// --- Files replaced on disk -------------------------------------------------

TEST(SecurityTest, APolicyReplacedOnDiskAppliesWithoutARestart) {
  const std::string dir = testing::MakeTempDir("policy-reload");
  const std::string policy =
      CopyTo(dir, TestPki::Get().policy(), "policy.json");
  ServerProcess registry(THB_REGISTRY_BIN, dir, "registry",
                         {absl::StrCat("--authz_policy=", policy)});
  ASSERT_TRUE(registry.Start().ok());
  auto reader = testing::TestChannel(registry.address(), "reader");
  const std::string list =
      "/thb.registry.v1.CountryRegistryService/ListRegions";
  ASSERT_FALSE(Refused(CallMethod(reader, list)));

  // Readers lose their rights; nobody restarts anything.
  WriteText(policy, R"({"name": "thb", "allow_rules": [{"name": "admin",
      "source": {"principals": ["spiffe://thb/admin/*"]}}]})");
  grpc::Status status;
  for (int attempt = 0; attempt < 100; ++attempt) {
    status = CallMethod(reader, list);
    if (status.error_code() == grpc::StatusCode::PERMISSION_DENIED) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);

  // A broken file keeps the last good policy rather than opening the door.
  WriteText(policy, R"({"name": "thb", "allow_rules": [)");
  absl::SleepFor(absl::Seconds(2));
  EXPECT_EQ(CallMethod(reader, list).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_FALSE(Refused(
      CallMethod(testing::TestChannel(registry.address(), "admin"), list)));
  EXPECT_THAT(registry.process().Log(), HasSubstr("keeping the last good"));
}

TEST(SecurityTest, CertificatesReplacedOnDiskAreUsedByNewConnections) {
  const TestPki& pki = TestPki::Get();
  const std::string dir = testing::MakeTempDir("cert-reload");
  const std::string ca = CopyTo(dir, pki.ca(), "ca.pem");
  const std::string cert = CopyTo(dir, pki.cert("registry"), "registry.pem");
  const std::string key = CopyTo(dir, pki.key("registry"), "registry-key.pem");
  ServerProcess registry(
      THB_REGISTRY_BIN, dir, "registry",
      {absl::StrCat("--tls_ca=", ca), absl::StrCat("--tls_cert=", cert),
       absl::StrCat("--tls_key=", key)});
  ASSERT_TRUE(registry.Start().ok());
  const std::string check = "/grpc.health.v1.Health/Check";
  ASSERT_FALSE(Refused(
      CallMethod(testing::TestChannel(registry.address(), "reader"), check)));

  // The server moves to the other CA: its certificate, and the clients it
  // trusts.
  const std::string other = pki.other_dir();
  WriteText(key, ReadText(other + "/registry-key.pem"));
  WriteText(cert, ReadText(other + "/registry.pem"));
  WriteText(ca, ReadText(other + "/ca.pem"));
  ChannelSecurity security;
  security.tls.ca = other + "/ca.pem";
  security.tls.cert = other + "/reader.pem";
  security.tls.key = other + "/reader-key.pem";
  ChannelOptions options;
  options.credentials = *MakeChannelCredentials(security);
  grpc::Status status;
  for (int attempt = 0; attempt < 100; ++attempt) {
    // A new channel each time: a new connection, a new handshake.
    status = CallMethod(MakeChannel(registry.address(), options), check);
    if (status.ok() || status.error_code() == grpc::StatusCode::CANCELLED) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_FALSE(status.error_code() == grpc::StatusCode::UNAVAILABLE ||
               Refused(status))
      << status.error_message();
  // The old CA's clients are no longer let in.
  EXPECT_EQ(
      CallMethod(testing::TestChannel(registry.address(), "reader"), check)
          .error_code(),
      grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace thb
