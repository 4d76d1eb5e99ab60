// The registry's audit trail on a real SQLite file: an event for every
// committed write and none for a refused one, last_changed_by on every
// resource, retention, and a database of the schema before the audit log
// migrated in place.

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/registry/reference_data.h"
#include "services/registry/registry_core.h"
#include "services/registry/sqlite_registry_store.h"
#include "tests/support/process.h"

namespace thb::registry {
namespace {

using ::testing::ElementsAre;

constexpr char kService[] = "/thb.registry.v1.CountryRegistryService/";

const ReferenceData& Reference() {
  static const auto* data = [] {
    auto loaded = LoadReferenceData(kDefaultIsoCodesPath);
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    return new ReferenceData(std::move(*loaded));
  }();
  return *data;
}

audit::Invocation Call(const std::string& principal, const std::string& rpc) {
  return {{principal, "ipv4:10.0.0.7:4242"}, std::string(kService) + rpc};
}

class RegistryAuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = thb::testing::MakeTempDir("registry_audit") + "/registry.sqlite3";
  }

  void Open(absl::Duration retention = audit::kDefaultRetention) {
    core_.reset();
    auto store = SqliteRegistryStore::Open(path_);
    ASSERT_TRUE(store.ok()) << store.status();
    CoreOptions options;
    options.audit_retention = retention;
    options.clock = [this] { return now_; };
    auto core = RegistryCore::Open(std::move(*store), Reference(), options);
    ASSERT_TRUE(core.ok()) << core.status();
    core_ = std::move(*core);
  }

  std::vector<v1::AuditEvent> Events(v1::ListAuditEventsRequest request = {}) {
    request.set_page_size(1000);
    auto response = core_->ListAuditEvents(request);
    EXPECT_TRUE(response.ok()) << response.status();
    if (!response.ok()) return {};
    return {response->events().begin(), response->events().end()};
  }

  absl::StatusOr<v1::CreateOrganisationResponse> CreateOrganisation(
      const std::string& id, const std::string& principal = "admin") {
    v1::CreateOrganisationRequest request;
    request.mutable_organisation()->set_id(id);
    request.mutable_organisation()->set_name("Organisation " + id);
    request.mutable_organisation()->set_kind(v1::ORGANISATION_KIND_NGO);
    return core_->CreateOrganisation(request,
                                     Call(principal, "CreateOrganisation"));
  }

  std::string path_;
  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
  std::unique_ptr<RegistryCore> core_;
};

TEST_F(RegistryAuditTest, EveryCommittedWriteRecordsWhoWhatWhereAndWhen) {
  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_TRUE(Events().empty()) << "seeding is no call and has no event";

  auto created = CreateOrganisation("ACME", "spiffe://thb/admin/dev");
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->organisation().last_changed_by(),
            "spiffe://thb/admin/dev");

  now_ += absl::Seconds(1);
  v1::UpdateCountryRequest update;
  update.mutable_country()->set_code("GR");
  update.mutable_country()->set_official_name("Hellenic Republic (test)");
  update.mutable_update_mask()->add_paths("official_name");
  auto updated =
      core_->UpdateCountry(update, Call("spiffe://thb/ops/1", "UpdateCountry"));
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->country().last_changed_by(), "spiffe://thb/ops/1");

  v1::CreateRegionRequest region;
  region.mutable_region()->set_id("TEST_REGION");
  region.mutable_region()->set_name("Test region");
  region.mutable_region()->add_country_codes("MA");
  ASSERT_TRUE(core_->CreateRegion(region, Call("alice", "CreateRegion")).ok());
  v1::DeleteRegionRequest remove;
  remove.set_id("TEST_REGION");
  auto deleted = core_->DeleteRegion(remove, Call("bob", "DeleteRegion"));
  ASSERT_TRUE(deleted.ok()) << deleted.status();

  const auto events = Events();
  ASSERT_EQ(events.size(), 4u);
  // Newest first.
  EXPECT_EQ(events[0].method(), std::string(kService) + "DeleteRegion");
  EXPECT_EQ(events[0].resource(), "regions/TEST_REGION");
  EXPECT_EQ(events[0].principal(), "bob");
  EXPECT_EQ(events[0].revision(), deleted->revision());
  EXPECT_EQ(events[1].resource(), "regions/TEST_REGION");
  EXPECT_EQ(events[2].method(), std::string(kService) + "UpdateCountry");
  EXPECT_EQ(events[2].resource(), "countries/EL") << "the canonical code";
  EXPECT_EQ(events[2].principal(), "spiffe://thb/ops/1");
  EXPECT_EQ(events[2].revision(), updated->country().revision());
  EXPECT_EQ(events[2].time().seconds(), absl::ToUnixSeconds(now_));
  EXPECT_EQ(events[3].method(), std::string(kService) + "CreateOrganisation");
  EXPECT_EQ(events[3].resource(), "organisations/ACME");
  EXPECT_EQ(events[3].peer(), "ipv4:10.0.0.7:4242");
  EXPECT_EQ(events[3].request_id(), "") << "registry requests carry none";
  EXPECT_EQ(events[3].revision(), created->organisation().revision());

  // Stored, so Get and a restart return it too.
  ASSERT_NO_FATAL_FAILURE(Open());
  v1::GetOrganisationRequest get;
  get.set_id("ACME");
  EXPECT_EQ(core_->GetOrganisation(get)->organisation().last_changed_by(),
            "spiffe://thb/admin/dev");
  EXPECT_EQ(Events().size(), 4u);
}

TEST_F(RegistryAuditTest, ARefusedWriteRecordsNothing) {
  ASSERT_NO_FATAL_FAILURE(Open());
  ASSERT_TRUE(CreateOrganisation("ACME").ok());
  ASSERT_EQ(Events().size(), 1u);

  EXPECT_EQ(CreateOrganisation("ACME").status().code(),
            absl::StatusCode::kAlreadyExists);
  v1::DeleteOrganisationRequest stale;
  stale.set_id("ACME");
  stale.set_etag("not-the-etag");
  EXPECT_EQ(
      core_->DeleteOrganisation(stale, Call("admin", "DeleteOrganisation"))
          .status()
          .code(),
      absl::StatusCode::kAborted);
  v1::DeleteCountryRequest in_use;
  in_use.set_code("ML");  // a member of SAHEL
  EXPECT_EQ(core_->DeleteCountry(in_use, Call("admin", "DeleteCountry"))
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Events().size(), 1u);
}

TEST_F(RegistryAuditTest, ClientsCannotSetLastChangedBy) {
  ASSERT_NO_FATAL_FAILURE(Open());
  v1::CreateOrganisationRequest request;
  request.mutable_organisation()->set_id("ACME");
  request.mutable_organisation()->set_name("Acme");
  request.mutable_organisation()->set_kind(v1::ORGANISATION_KIND_NGO);
  request.mutable_organisation()->set_last_changed_by("somebody-else");
  auto created =
      core_->CreateOrganisation(request, Call("admin", "CreateOrganisation"));
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->organisation().last_changed_by(), "admin");
}

TEST_F(RegistryAuditTest, EventsOlderThanTheRetentionArePrunedAtTheBoundary) {
  const absl::Duration retention = absl::Hours(24);
  ASSERT_NO_FATAL_FAILURE(Open(retention));
  ASSERT_TRUE(CreateOrganisation("OLD").ok());
  now_ += absl::Microseconds(1);
  ASSERT_TRUE(CreateOrganisation("KEPT").ok());

  // OLD is exactly one microsecond past the retention, KEPT exactly at it.
  now_ += retention;
  ASSERT_NO_FATAL_FAILURE(Open(retention));
  std::vector<std::string> resources;
  for (const auto& event : Events()) resources.push_back(event.resource());
  EXPECT_THAT(resources, ElementsAre("organisations/KEPT"));

  // Deleted, not only hidden: a longer retention does not bring it back.
  ASSERT_NO_FATAL_FAILURE(Open(retention * 100));
  EXPECT_EQ(Events().size(), 1u);

  // A write prunes too.
  ASSERT_NO_FATAL_FAILURE(Open(retention));
  now_ += absl::Hours(48);
  ASSERT_TRUE(CreateOrganisation("NEW").ok());
  ASSERT_NO_FATAL_FAILURE(Open(retention * 100));
  resources.clear();
  for (const auto& event : Events()) resources.push_back(event.resource());
  EXPECT_THAT(resources, ElementsAre("organisations/NEW"));
}

TEST_F(RegistryAuditTest, ADatabaseOfTheFirstSchemaMigratesInPlace) {
  std::filesystem::copy_file(
      std::string(THB_TESTDATA_DIR) + "/registry-schema1.sqlite3", path_);
  ASSERT_NO_FATAL_FAILURE(Open());
  const int64_t before = core_->revision();
  EXPECT_GE(before, 1);

  v1::GetCountryRequest get;
  get.set_code("EL");
  auto greece = core_->GetCountry(get);
  ASSERT_TRUE(greece.ok()) << greece.status();
  EXPECT_EQ(greece->country().name(), "Greece");
  EXPECT_EQ(greece->country().last_changed_by(), "");
  v1::ListRegionsRequest regions;
  EXPECT_EQ(core_->ListRegions(regions)->total_size(), 5);
  EXPECT_TRUE(Events().empty());

  auto created = CreateOrganisation("ACME", "spiffe://thb/admin/dev");
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->organisation().revision(), before + 1);
  const auto events = Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].resource(), "organisations/ACME");
  EXPECT_EQ(events[0].revision(), before + 1);

  // And opens again at the new schema.
  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_EQ(Events().size(), 1u);
  EXPECT_EQ(core_->revision(), before + 1);
}

}  // namespace
}  // namespace thb::registry
