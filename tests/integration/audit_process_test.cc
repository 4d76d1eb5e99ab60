// The audit trail of the real thb-registry and thb-cooperation processes:
// every write over the wire leaves an event naming its full method and the
// caller, and the events outlive both a kill and the compaction of the
// Watch history.

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/channel.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/process.h"
#include "tests/support/servers.h"
#include "tests/support/test_pki.h"
#include "thb/cooperation/v1/cooperation_service.grpc.pb.h"
#include "thb/registry/v1/registry_service.grpc.pb.h"

namespace thb {
namespace {

using ::thb::testing::ServerProcess;
namespace coop = ::thb::cooperation::v1;
namespace reg = ::thb::registry::v1;

// Small enough that a few writes compact the Watch history.
constexpr char kShortHistory[] = "--history_revisions=2";

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  return context;
}

coop::CooperationRecord Record(const std::string& id) {
  coop::CooperationRecord record;
  record.set_id(id);
  record.set_reporting_country("NL");
  record.set_kind(coop::RECORD_KIND_MEASURE);
  record.add_thematic_areas(coop::THEMATIC_AREA_PREVENTION);
  auto* source = record.add_sources();
  source->set_citation("Test source");
  source->set_footnote(10);
  return record;
}

class AuditProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = thb::testing::MakeTempDir("audit_process");
    registry_ = std::make_unique<ServerProcess>(
        THB_REGISTRY_BIN, dir_, "registry",
        std::vector<std::string>{kShortHistory});
    ASSERT_NO_FATAL_FAILURE(Restart(*registry_));
    cooperation_ = std::make_unique<ServerProcess>(
        THB_COOPERATION_BIN, dir_, "cooperation",
        std::vector<std::string>{
            kShortHistory, absl::StrCat("--registry=", registry_->address())});
    ASSERT_NO_FATAL_FAILURE(Restart(*cooperation_));
  }

  // Kills `server` if it runs and starts it again on its database.
  void Restart(ServerProcess& server) {
    auto started = server.Start();
    ASSERT_TRUE(started.ok()) << started;
    if (&server == registry_.get()) {
      registry_stub_ = reg::CountryRegistryService::NewStub(
          thb::testing::TestChannel(registry_->address()));
    } else {
      cooperation_stub_ = coop::CooperationRecordService::NewStub(
          thb::testing::TestChannel(cooperation_->address()));
    }
  }

  template <typename Stub>
  std::vector<reg::AuditEvent> Events(Stub& stub) {
    reg::ListAuditEventsRequest request;
    reg::ListAuditEventsResponse response;
    const grpc::Status status =
        stub.ListAuditEvents(Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return {response.events().begin(), response.events().end()};
  }

  std::string dir_;
  std::unique_ptr<ServerProcess> registry_;
  std::unique_ptr<ServerProcess> cooperation_;
  std::unique_ptr<reg::CountryRegistryService::Stub> registry_stub_;
  std::unique_ptr<coop::CooperationRecordService::Stub> cooperation_stub_;
};

TEST_F(AuditProcessTest, EventsSurviveARestartAndTheCompactionOfWatch) {
  for (int i = 0; i < 4; ++i) {
    coop::CreateRecordRequest create;
    *create.mutable_record() = Record(absl::StrCat("r-", i));
    create.set_request_id(absl::StrCat("req-", i));
    coop::CreateRecordResponse created;
    const grpc::Status status =
        cooperation_stub_->CreateRecord(Context().get(), create, &created);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(created.record().last_changed_by(), "spiffe://thb/admin/dev");

    reg::CreateOrganisationRequest organisation;
    organisation.mutable_organisation()->set_id(absl::StrCat("ORG_", i));
    organisation.mutable_organisation()->set_name("Organisation");
    organisation.mutable_organisation()->set_kind(reg::ORGANISATION_KIND_NGO);
    reg::CreateOrganisationResponse made;
    ASSERT_TRUE(
        registry_stub_->CreateOrganisation(Context().get(), organisation, &made)
            .ok());
  }
  // A failed write: no event.
  coop::DeleteRecordRequest missing;
  missing.set_id("no-such-record");
  coop::DeleteRecordResponse deleted;
  EXPECT_EQ(cooperation_stub_->DeleteRecord(Context().get(), missing, &deleted)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);

  // Both killed and started again. The cooperation service keeps the
  // registry's old address: nothing below needs the registry's codes.
  ASSERT_NO_FATAL_FAILURE(Restart(*registry_));
  ASSERT_NO_FATAL_FAILURE(Restart(*cooperation_));

  // Watch history from the start is gone on both...
  coop::WatchRequest from_start;
  auto watch_context = Context();
  auto stream = cooperation_stub_->Watch(watch_context.get(), from_start);
  coop::WatchResponse change;
  while (stream->Read(&change)) {
  }
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::OUT_OF_RANGE);
  reg::WatchRequest registry_from_start;
  registry_from_start.set_from_revision(1);
  auto registry_context = Context();
  auto registry_stream =
      registry_stub_->Watch(registry_context.get(), registry_from_start);
  reg::WatchResponse registry_change;
  while (registry_stream->Read(&registry_change)) {
  }
  EXPECT_EQ(registry_stream->Finish().error_code(),
            grpc::StatusCode::OUT_OF_RANGE);

  // ...the audit log is whole.
  const auto records = Events(*cooperation_stub_);
  ASSERT_EQ(records.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    const reg::AuditEvent& event = records[3 - i];
    EXPECT_EQ(event.method(),
              "/thb.cooperation.v1.CooperationRecordService/CreateRecord");
    EXPECT_EQ(event.resource(), absl::StrCat("records/r-", i));
    EXPECT_EQ(event.request_id(), absl::StrCat("req-", i));
    EXPECT_EQ(event.revision(), i + 1);
    EXPECT_EQ(event.principal(), "spiffe://thb/admin/dev");
    EXPECT_TRUE(absl::StrContains(event.peer(), "127.0.0.1")) << event.peer();
  }
  const auto organisations = Events(*registry_stub_);
  ASSERT_EQ(organisations.size(), 4u);
  EXPECT_EQ(organisations[0].method(),
            "/thb.registry.v1.CountryRegistryService/CreateOrganisation");
  EXPECT_EQ(organisations[0].resource(), "organisations/ORG_3");
  EXPECT_EQ(organisations[0].revision(), 5) << "revision 1 is the seed";

  coop::GetRecordRequest get;
  get.set_id("r-0");
  coop::GetRecordResponse got;
  ASSERT_TRUE(cooperation_stub_->GetRecord(Context().get(), get, &got).ok());
  EXPECT_EQ(got.record().last_changed_by(), "spiffe://thb/admin/dev");

  // A bad filter names its field.
  reg::ListAuditEventsRequest bad;
  bad.set_resource("r-0");
  reg::ListAuditEventsResponse refused;
  const grpc::Status status =
      cooperation_stub_->ListAuditEvents(Context().get(), bad, &refused);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "resource"))
      << status.error_message();
}

}  // namespace
}  // namespace thb
