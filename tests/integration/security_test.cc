// Security of the suite as its users meet it, on real processes over
// loopback: who may call which RPC of the three services, mutual TLS and its
// failures, bearer tokens, files replaced on disk while the servers run, the
// audit trail of who changed what, and the clients' own lines on refusals.

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/channel.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "tests/support/jwt_signer.h"
#include "tests/support/process.h"
#include "tests/support/servers.h"
#include "tests/support/test_pki.h"
#include "thb/cooperation/v1/cooperation_service.grpc.pb.h"
#include "thb/registry/v1/registry_service.grpc.pb.h"
#include "thb/stats/v1/stats_service.grpc.pb.h"

namespace thb {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::thb::testing::ServerProcess;
using ::thb::testing::TestPki;

namespace cooperation_v1 = ::thb::cooperation::v1;
namespace registry_v1 = ::thb::registry::v1;

constexpr char kReader[] = "spiffe://thb/reader/dev";
constexpr char kEditor[] = "spiffe://thb/editor/dev";
constexpr char kAdmin[] = "spiffe://thb/admin/dev";

// One call of any method with an empty request, whatever its streaming: the
// request is written, one response read, and a stream cancelled after it.
class AnyCall
    : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  AnyCall(grpc::GenericStub* stub, grpc::ClientContext* context,
          const std::string& method)
      : context_(context) {
    grpc::Slice empty;
    request_ = grpc::ByteBuffer(&empty, 1);
    stub->PrepareBidiStreamingCall(context, method, grpc::StubOptions(), this);
    StartWrite(&request_);
    StartRead(&response_);
    StartCall();
  }
  void OnWriteDone(bool) override { StartWritesDone(); }
  void OnReadDone(bool ok) override {
    // An answer came: the call was admitted. A stream would go on.
    if (ok) context_->TryCancel();
  }
  void OnDone(const grpc::Status& status) override {
    status_ = status;
    done_.Notify();
  }
  grpc::Status Wait() {
    done_.WaitForNotification();
    return status_;
  }

 private:
  grpc::ClientContext* context_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  grpc::Status status_;
  absl::Notification done_;
};

// A refusal comes at once; an admitted stream that has nothing to send ends
// by this deadline, which says it was admitted as well as an answer would.
grpc::Status CallMethod(const std::shared_ptr<grpc::Channel>& channel,
                        const std::string& method) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
  AnyCall call(&stub, &context, method);
  return call.Wait();
}

bool Refused(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
         status.error_code() == grpc::StatusCode::PERMISSION_DENIED;
}

// Who may call what, written from the roles of the design rather than read
// from the policy file, so that the file is checked against them.
enum class Right { kRead, kWriteRecords, kAdminister };

Right RightOf(const google::protobuf::MethodDescriptor& method) {
  const std::string& name = method.name();
  if (name == "ListAuditEvents") return Right::kAdminister;
  if (method.service()->full_name() == "thb.stats.v1.StatisticsService" ||
      absl::StartsWith(name, "Get") || absl::StartsWith(name, "BatchGet") ||
      absl::StartsWith(name, "List") || name == "Watch") {
    return Right::kRead;
  }
  if (method.service()->full_name() ==
      "thb.cooperation.v1.CooperationRecordService") {
    return Right::kWriteRecords;
  }
  return Right::kAdminister;
}

bool Allowed(const std::string& identity, Right right) {
  if (identity == "admin") return true;
  if (identity == "editor") return right != Right::kAdminister;
  if (identity == "reader") return right == Right::kRead;
  return false;
}

std::string Path(const google::protobuf::MethodDescriptor& method) {
  return absl::StrCat("/", method.service()->full_name(), "/", method.name());
}

std::string CopyTo(const std::string& dir, const std::string& from,
                   const std::string& name) {
  const std::string to = absl::StrCat(dir, "/", name);
  std::filesystem::copy_file(from, to,
                             std::filesystem::copy_options::overwrite_existing);
  return to;
}

void WriteText(const std::string& path, const std::string& text) {
  // Written beside and renamed, as an operator's tools replace a file.
  const std::string temporary = path + ".new";
  std::ofstream(temporary, std::ios::binary | std::ios::trunc) << text;
  std::filesystem::rename(temporary, path);
}

std::string ReadText(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(file), {});
}

// The three services, each with TLS, the policy and its health port.
class Suite {
 public:
  explicit Suite(std::vector<std::string> registry_args = {},
                 std::vector<std::string> cooperation_args = {})
      : dir_(testing::MakeTempDir("security")) {
    registry_ = std::make_unique<ServerProcess>(THB_REGISTRY_BIN, dir_,
                                                "registry", registry_args);
    registry_status_ = registry_->Start();
    if (!registry_status_.ok()) return;
    cooperation_args.push_back(
        absl::StrCat("--registry=", registry_->address()));
    cooperation_ = std::make_unique<ServerProcess>(
        THB_COOPERATION_BIN, dir_, "cooperation", cooperation_args);
    registry_status_ = cooperation_->Start();
    if (!registry_status_.ok()) return;
    aggregator_ = std::make_unique<ServerProcess>(
        THB_AGGREGATOR_BIN, dir_, "aggregator",
        std::vector<std::string>{
            absl::StrCat("--registry=", registry_->address()),
            absl::StrCat("--cooperation=", cooperation_->address()),
            "--redis="},
        /*with_db=*/false);
    registry_status_ = aggregator_->Start();
  }

  const absl::Status& status() const { return registry_status_; }
  const std::string& dir() const { return dir_; }
  ServerProcess& registry() { return *registry_; }
  ServerProcess& cooperation() { return *cooperation_; }
  ServerProcess& aggregator() { return *aggregator_; }

 private:
  std::string dir_;
  absl::Status registry_status_;
  std::unique_ptr<ServerProcess> registry_;
  std::unique_ptr<ServerProcess> cooperation_;
  std::unique_ptr<ServerProcess> aggregator_;
};

std::unique_ptr<grpc::ClientContext> Context() {
  return MakeClientContext(absl::Seconds(10));
}

int AuditEventCount(registry_v1::CountryRegistryService::Stub& registry) {
  registry_v1::ListAuditEventsRequest request;
  registry_v1::ListAuditEventsResponse response;
  auto context = Context();
  const grpc::Status status =
      registry.ListAuditEvents(context.get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.events_size();
}

int AuditEventCount(cooperation_v1::CooperationRecordService::Stub& records) {
  registry_v1::ListAuditEventsRequest request;
  registry_v1::ListAuditEventsResponse response;
  auto context = Context();
  const grpc::Status status =
      records.ListAuditEvents(context.get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.events_size();
}

// --- Who may call what ----------------------------------------------------

TEST(SecurityTest, EveryRpcOfTheSuiteAnswersEachRoleAsThePolicySays) {
  Suite suite;
  ASSERT_TRUE(suite.status().ok()) << suite.status();
  const std::vector<
      std::pair<const google::protobuf::ServiceDescriptor*, std::string>>
      services = {{registry_v1::GetCountryRequest::descriptor()
                       ->file()
                       ->FindServiceByName("CountryRegistryService"),
                   suite.registry().address()},
                  {cooperation_v1::GetRecordRequest::descriptor()
                       ->file()
                       ->FindServiceByName("CooperationRecordService"),
                   suite.cooperation().address()},
                  {stats::v1::CountCountriesRequest::descriptor()
                       ->file()
                       ->FindServiceByName("StatisticsService"),
                   suite.aggregator().address()}};
  int methods = 0;
  for (const auto& [service, address] : services) {
    ASSERT_NE(service, nullptr);
    // "" is a TLS client without a certificate or token: anonymous.
    for (const std::string identity :
         {"", "nobody", "reader", "editor", "admin"}) {
      auto channel = testing::TestChannel(address, identity);
      for (int i = 0; i < service->method_count(); ++i) {
        const google::protobuf::MethodDescriptor& method = *service->method(i);
        const grpc::Status status = CallMethod(channel, Path(method));
        SCOPED_TRACE(absl::StrCat(Path(method), " as \"", identity,
                                  "\": ", status.error_code(), " ",
                                  status.error_message()));
        if (identity.empty()) {
          EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
        } else if (Allowed(identity, RightOf(method))) {
          EXPECT_FALSE(Refused(status));
        } else {
          EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
          EXPECT_THAT(status.error_message(), HasSubstr(Path(method)));
        }
        ++methods;
      }
    }
  }
  // Every RPC of the three services, each under five identities.
  EXPECT_EQ(methods, 5 * (18 + 8 + 5));

  // Health and reflection are reads too.
  for (const std::string identity : {"reader", "editor", "admin"}) {
    auto channel = testing::TestChannel(suite.registry().address(), identity);
    EXPECT_FALSE(Refused(CallMethod(channel, "/grpc.health.v1.Health/Check")));
    EXPECT_FALSE(Refused(CallMethod(
        channel,
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")));
  }
  // Health answers anyone who completed the handshake (every channel
  // watches it); reflection does not.
  auto anonymous = testing::TestChannel(suite.registry().address(), "");
  EXPECT_EQ(CallMethod(anonymous, "/grpc.health.v1.Health/Check").error_code(),
            grpc::StatusCode::OK);
  EXPECT_EQ(
      CallMethod(
          anonymous,
          "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
          .error_code(),
      grpc::StatusCode::UNAUTHENTICATED);

  // None of those calls changed anything: every write was refused or
  // invalid, so neither store has an audit event.
  auto registry = registry_v1::CountryRegistryService::NewStub(
      testing::TestChannel(suite.registry().address()));
  auto records = cooperation_v1::CooperationRecordService::NewStub(
      testing::TestChannel(suite.cooperation().address()));
  EXPECT_EQ(AuditEventCount(*registry), 0);
  EXPECT_EQ(AuditEventCount(*records), 0);
  // Refusals are logged, naming the method; a flood of them is cut short.
  const std::string log = suite.registry().process().Log();
  EXPECT_THAT(log, HasSubstr("refused /thb.registry.v1.CountryRegistryService/"
                             "GetCountry to an unauthenticated caller"));
  EXPECT_LT(std::count(log.begin(), log.end(), '\n'), 60);
}

TEST(SecurityTest, ARefusedWriteChangesNothingAndAnAllowedOneIsAudited) {
  Suite suite;
  ASSERT_TRUE(suite.status().ok()) << suite.status();
  registry_v1::CreateCountryRequest create;
  create.mutable_country()->set_code("XK");
  create.mutable_country()->set_name("Kosovo");
  registry_v1::CreateCountryResponse created;
  for (const std::string identity : {"reader", "editor"}) {
    auto stub = registry_v1::CountryRegistryService::NewStub(
        testing::TestChannel(suite.registry().address(), identity));
    auto context = Context();
    EXPECT_EQ(stub->CreateCountry(context.get(), create, &created).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  auto admin = registry_v1::CountryRegistryService::NewStub(
      testing::TestChannel(suite.registry().address(), "admin"));
  registry_v1::GetCountryRequest get;
  get.set_code("XK");
  registry_v1::GetCountryResponse got;
  {
    auto context = Context();
    EXPECT_EQ(admin->GetCountry(context.get(), get, &got).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  EXPECT_EQ(AuditEventCount(*admin), 0);
  EXPECT_THAT(suite.registry().process().Log(),
              HasSubstr("refused /thb.registry.v1.CountryRegistryService/"
                        "CreateCountry to spiffe://thb/reader/dev"));

  auto context = Context();
  const grpc::Status status =
      admin->CreateCountry(context.get(), create, &created);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(created.country().last_changed_by(), kAdmin);

  registry_v1::ListAuditEventsRequest list;
  registry_v1::ListAuditEventsResponse events;
  auto list_context = Context();
  ASSERT_TRUE(admin->ListAuditEvents(list_context.get(), list, &events).ok());
  ASSERT_EQ(events.events_size(), 1);
  const registry_v1::AuditEvent& event = events.events(0);
  EXPECT_EQ(event.principal(), kAdmin);
  EXPECT_EQ(event.method(),
            "/thb.registry.v1.CountryRegistryService/CreateCountry");
  EXPECT_EQ(event.resource(), "countries/XK");
  EXPECT_EQ(event.revision(), created.country().revision());
  EXPECT_THAT(event.peer(), HasSubstr("127.0.0.1"));
}

TEST(SecurityTest, AnEditorsRecordWriteIsAuditedUnderItsNameAcrossARestart) {
  Suite suite;
  ASSERT_TRUE(suite.status().ok()) << suite.status();
  auto editor = cooperation_v1::CooperationRecordService::NewStub(
      testing::TestChannel(suite.cooperation().address(), "editor"));
  cooperation_v1::CreateRecordRequest create;
  cooperation_v1::CooperationRecord& record = *create.mutable_record();
  record.set_id("audited-1");
  record.set_reporting_country("EL");
  record.set_kind(cooperation_v1::RECORD_KIND_MEASURE);
  record.add_thematic_areas(cooperation_v1::THEMATIC_AREA_LAW_ENFORCEMENT);
  record.set_form(cooperation_v1::COOPERATION_FORM_OPERATIONAL_AD_HOC);
  record.set_title("Joint investigation team");
  registry_v1::Source& source = *record.add_sources();
  source.set_citation("Test source");
  source.set_footnote(16);
  cooperation_v1::CreateRecordResponse created;
  grpc::Status status;
  // Writes wait for the registry's codes; give the copy a moment.
  for (int attempt = 0; attempt < 50; ++attempt) {
    auto context = Context();
    status = editor->CreateRecord(context.get(), create, &created);
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(created.record().last_changed_by(), kEditor);

  ASSERT_TRUE(suite.cooperation().Start().ok());
  auto admin = cooperation_v1::CooperationRecordService::NewStub(
      testing::TestChannel(suite.cooperation().address(), "admin"));
  registry_v1::ListAuditEventsRequest list;
  list.set_principal(kEditor);
  registry_v1::ListAuditEventsResponse events;
  auto context = Context();
  ASSERT_TRUE(admin->ListAuditEvents(context.get(), list, &events).ok());
  ASSERT_EQ(events.events_size(), 1);
  EXPECT_EQ(events.events(0).principal(), kEditor);
  EXPECT_EQ(events.events(0).revision(), created.record().revision());
  EXPECT_EQ(events.events(0).method(),
            "/thb.cooperation.v1.CooperationRecordService/CreateRecord");

  // An editor may not read the audit log.
  editor = cooperation_v1::CooperationRecordService::NewStub(
      testing::TestChannel(suite.cooperation().address(), "editor"));
  auto editor_context = Context();
  EXPECT_EQ(
      editor->ListAuditEvents(editor_context.get(), list, &events).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
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

// --- Bearer tokens ----------------------------------------------------------

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

// --- The clients' lines -----------------------------------------------------

TEST(SecurityTest, ClientsSayWhatFailedOnAHandshakeOrARefusal) {
  Suite suite;
  ASSERT_TRUE(suite.status().ok()) << suite.status();
  const TestPki& pki = TestPki::Get();
  const std::string dir = testing::MakeTempDir("clients");

  auto run = [&](const std::string& binary, std::vector<std::string> args,
                 const std::map<std::string, std::string>& env) {
    auto process = testing::Process::Start(binary, args, env);
    EXPECT_TRUE(process.ok()) << process.status();
    absl::StatusOr<int> code = process->Signal(0, absl::Seconds(30));
    return std::make_pair(code.ok() ? *code : -1, process->Log());
  };
  const std::map<std::string, std::string> no_identity = {
      {"THB_TLS_CA", pki.ca()}, {"THB_TLS_CERT", ""}, {"THB_TLS_KEY", ""}};
  {
    const auto [code, log] =
        run(THBCTL_BIN,
            {absl::StrCat("--registry=", suite.registry().address()),
             "countries", "get", "EL"},
            no_identity);
    EXPECT_EQ(code, 1);
    EXPECT_THAT(log, HasSubstr("UNAUTHENTICATED"));
    EXPECT_THAT(log, HasSubstr("hint: "));
  }
  {
    const auto [code, log] =
        run(THBCTL_BIN,
            {absl::StrCat("--registry=", suite.registry().address()),
             "countries", "get", "EL"},
            pki.ClientEnv("stranger"));
    EXPECT_EQ(code, 1);
    EXPECT_THAT(log, HasSubstr("TLS handshake failed"));
  }
  {
    const auto [code, log] =
        run(GRPC_CALL_BIN,
            {suite.registry().address(), "call",
             "thb.registry.v1.CountryRegistryService/DeleteCountry",
             R"({"code": "EL"})"},
            pki.ClientEnv("reader"));
    EXPECT_EQ(code, static_cast<int>(grpc::StatusCode::PERMISSION_DENIED));
    EXPECT_THAT(log, HasSubstr("PERMISSION_DENIED"));
    EXPECT_THAT(log, HasSubstr("DeleteCountry"));
    EXPECT_THAT(log, HasSubstr("hint: "));
  }
  {
    // Plaintext to a TLS port fails and says so.
    const auto [code, log] = run(
        GRPC_CALL_BIN, {"--insecure", suite.registry().address(), "list"}, {});
    EXPECT_NE(code, 0);
    // And the health port answers grpc-call in plaintext.
    const auto [health_code, health_log] = run(
        GRPC_CALL_BIN,
        {"--insecure",
         absl::StrCat("127.0.0.1:", suite.registry().health_port()), "health"},
        {});
    EXPECT_EQ(health_code, 0) << health_log;
  }
}

}  // namespace
}  // namespace thb
