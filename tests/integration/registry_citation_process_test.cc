// The real thb-registry process asking a real thb-cooperation process
// before it deletes what cooperation records may cite.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/channel.h"
#include "common/grpc_status.h"
#include "gmock/gmock.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "tests/integration/registry_process.h"
#include "tests/support/process.h"
#include "tests/support/servers.h"
#include "tests/support/test_pki.h"
#include "thb/cooperation/v1/cooperation_service.grpc.pb.h"
#include "thb/registry/v1/registry_service.grpc.pb.h"

namespace thb {
namespace {

using ::testing::HasSubstr;

// A loopback port that was free a moment ago, for a server another one
// must know the address of before it starts.
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), length), 0);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  close(fd);
  return ntohs(address.sin_port);
}

grpc::Status DeleteRegion(Registry& registry, const std::string& id) {
  v1::DeleteRegionRequest request;
  request.set_id(id);
  v1::DeleteRegionResponse response;
  auto context = Context();
  return registry.stub().DeleteRegion(context.get(), request, &response);
}

grpc::Status DeleteOrganisation(Registry& registry, const std::string& id) {
  v1::DeleteOrganisationRequest request;
  request.set_id(id);
  v1::DeleteOrganisationResponse response;
  auto context = Context();
  return registry.stub().DeleteOrganisation(context.get(), request, &response);
}

// A region or organisation that cooperation records cite cannot be deleted:
// the registry asks the cooperation service, and refuses while it cannot
// learn the answer.
TEST(RegistryProcessTest, ARegionOrOrganisationThatRecordsCiteIsNotDeleted) {
  namespace coop = ::thb::cooperation::v1;
  const int cooperation_port = FreePort();
  Registry registry(
      {absl::StrCat("--cooperation=127.0.0.1:", cooperation_port)});
  ASSERT_NO_FATAL_FAILURE(registry.Start());

  // Cooperation down: no answer, so no deletion.
  const grpc::Status unknown = DeleteOrganisation(registry, "CEPOL");
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::UNAVAILABLE)
      << unknown.error_message();
  EXPECT_THAT(unknown.error_message(),
              HasSubstr(absl::StrCat("127.0.0.1:", cooperation_port)));

  thb::testing::ServerProcess cooperation(
      THB_COOPERATION_BIN, thb::testing::MakeTempDir("cooperation"),
      "cooperation",
      {absl::StrCat("--registry=", registry.address()),
       absl::StrCat("--port=", cooperation_port)});
  ASSERT_TRUE(cooperation.Start().ok());
  auto records = coop::CooperationRecordService::NewStub(
      thb::testing::TestChannel(cooperation.address()));
  coop::CreateRecordRequest create;
  coop::CooperationRecord& record = *create.mutable_record();
  record.set_id("cites-sahel-and-iom");
  record.set_reporting_country("FR");
  record.set_kind(coop::RECORD_KIND_MEASURE);
  record.add_thematic_areas(coop::THEMATIC_AREA_LAW_ENFORCEMENT);
  record.set_form(coop::COOPERATION_FORM_OPERATIONAL_AD_HOC);
  record.set_title("Cites SAHEL and IOM");
  record.add_target_regions("SAHEL");
  auto* partner = record.add_partners();
  partner->set_kind(coop::PARTNER_KIND_INTERNATIONAL_ORGANISATION);
  partner->set_id("IOM");
  record.add_sources()->set_citation("Test source");
  grpc::Status created;
  for (int attempt = 0; attempt < 100; ++attempt) {
    coop::CreateRecordResponse response;
    auto context = Context();
    created = records->CreateRecord(context.get(), create, &response);
    if (created.error_code() != grpc::StatusCode::UNAVAILABLE) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_TRUE(created.ok()) << created.error_message();

  for (const grpc::Status& refused :
       {DeleteRegion(registry, "SAHEL"), DeleteOrganisation(registry, "IOM")}) {
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
        << refused.error_message();
    EXPECT_THAT(refused.error_message(), HasSubstr("cites-sahel-and-iom"));
  }
  v1::GetRegionRequest get;
  get.set_id("SAHEL");
  v1::GetRegionResponse sahel;
  auto get_context = Context();
  EXPECT_TRUE(registry.stub().GetRegion(get_context.get(), get, &sahel).ok());

  // What no record cites goes.
  EXPECT_TRUE(DeleteOrganisation(registry, "CEPOL").ok());
  EXPECT_TRUE(DeleteRegion(registry, "NORTH_AFRICA").ok());

  // Once the record no longer cites them, they go too.
  coop::DeleteRecordRequest remove;
  remove.set_id("cites-sahel-and-iom");
  coop::DeleteRecordResponse removed;
  auto remove_context = Context();
  ASSERT_TRUE(
      records->DeleteRecord(remove_context.get(), remove, &removed).ok());
  EXPECT_TRUE(DeleteRegion(registry, "SAHEL").ok());
  EXPECT_TRUE(DeleteOrganisation(registry, "IOM").ok());
}

}  // namespace
}  // namespace thb
