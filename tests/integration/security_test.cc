// Security of the suite as its users meet it, on real processes over
// loopback: who may call which RPC of the three services, the audit trail of
// who changed what, and the clients' own lines on refusals. Mutual TLS and
// files replaced on disk: security_tls_test.cc; bearer tokens:
// security_token_test.cc.

#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/channel.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "tests/integration/security_suite.h"
#include "tests/support/process.h"
#include "tests/support/servers.h"
#include "tests/support/test_pki.h"
#include "thb/cooperation/v1/cooperation_service.grpc.pb.h"
#include "thb/registry/v1/registry_service.grpc.pb.h"
#include "thb/stats/v1/stats_service.grpc.pb.h"

namespace thb {
namespace {

using ::testing::HasSubstr;
using ::thb::testing::CallMethod;
using ::thb::testing::Context;
using ::thb::testing::kAdmin;
using ::thb::testing::kEditor;
using ::thb::testing::Refused;
using ::thb::testing::Suite;
using ::thb::testing::TestPki;
namespace cooperation_v1 = ::thb::cooperation::v1;
namespace registry_v1 = ::thb::registry::v1;

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
