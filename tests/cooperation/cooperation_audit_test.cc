// The cooperation service's audit trail on a real SQLite file: an event for
// each record a committed write changed (a batch: one per record, with the
// batch's request id), none for a refused or replayed write,
// last_changed_by on records, retention, and a database of the schema
// before the audit log migrated in place.

#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "common/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/cooperation/cooperation_core.h"
#include "services/cooperation/sqlite_cooperation_store.h"
#include "tests/cooperation/static_references.h"
#include "tests/support/process.h"

namespace thb::cooperation {
namespace {

using registry::v1::AuditEvent;
using ::testing::ElementsAre;

constexpr char kService[] = "/thb.cooperation.v1.CooperationRecordService/";

audit::Invocation Call(const std::string& principal, const std::string& rpc) {
  return {{principal, "ipv6:[::1]:6000"}, std::string(kService) + rpc};
}

v1::CooperationRecord Record(const std::string& id) {
  v1::CooperationRecord record;
  record.set_id(id);
  record.set_reporting_country("NL");
  record.set_kind(v1::RECORD_KIND_MEASURE);
  record.add_thematic_areas(v1::THEMATIC_AREA_PREVENTION);
  auto* source = record.add_sources();
  source->set_citation("EMN (2025), press release");
  source->set_footnote(10);
  return record;
}

class CooperationAuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = thb::testing::MakeTempDir("coop_audit") + "/cooperation.sqlite3";
  }

  void Open(absl::Duration retention = audit::kDefaultRetention) {
    core_.reset();
    auto store = SqliteCooperationStore::Open(path_);
    ASSERT_TRUE(store.ok()) << store.status();
    CoreOptions options;
    options.audit_retention = retention;
    options.clock = [this] { return now_; };
    auto core = CooperationCore::Open(std::move(*store), &references_, options);
    ASSERT_TRUE(core.ok()) << core.status();
    core_ = std::move(*core);
  }

  absl::Time Deadline() { return absl::Now() + absl::Seconds(5); }

  std::vector<AuditEvent> Events(
      registry::v1::ListAuditEventsRequest request = {}) {
    request.set_page_size(1000);
    auto response = core_->ListAuditEvents(request);
    EXPECT_TRUE(response.ok()) << response.status();
    if (!response.ok()) return {};
    return {response->events().begin(), response->events().end()};
  }

  absl::StatusOr<v1::CreateRecordResponse> Create(
      const std::string& id, const std::string& principal = "editor") {
    v1::CreateRecordRequest request;
    *request.mutable_record() = Record(id);
    return core_->CreateRecord(request, Deadline(),
                               Call(principal, "CreateRecord"));
  }

  std::string path_;
  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
  StaticReferences references_{true};
  std::unique_ptr<CooperationCore> core_;
};

TEST_F(CooperationAuditTest, EveryCommittedWriteRecordsAnEventPerRecord) {
  ASSERT_NO_FATAL_FAILURE(Open());
  v1::CreateRecordRequest create;
  *create.mutable_record() = Record("fn10-nl");
  create.set_request_id("create-1");
  auto created = core_->CreateRecord(
      create, Deadline(), Call("spiffe://thb/editor/dev", "CreateRecord"));
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->record().last_changed_by(), "spiffe://thb/editor/dev");

  v1::BatchCreateRecordsRequest batch;
  for (const char* id : {"b-1", "b-2", "b-3"})
    *batch.add_records() = Record(id);
  batch.set_request_id("import-7");
  auto imported = core_->BatchCreateRecords(
      batch, Deadline(), Call("importer", "BatchCreateRecords"));
  ASSERT_TRUE(imported.ok()) << imported.status();

  v1::UpdateRecordRequest update;
  update.mutable_record()->set_id("b-2");
  update.mutable_record()->set_title("Renamed");
  update.mutable_update_mask()->add_paths("title");
  auto updated =
      core_->UpdateRecord(update, Deadline(), Call("reviewer", "UpdateRecord"));
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->record().last_changed_by(), "reviewer");

  v1::DeleteRecordRequest remove;
  remove.set_id("b-3");
  auto deleted = core_->DeleteRecord(remove, Call("admin", "DeleteRecord"));
  ASSERT_TRUE(deleted.ok()) << deleted.status();

  const auto events = Events();
  ASSERT_EQ(events.size(), 6u);
  EXPECT_EQ(events[0].method(), std::string(kService) + "DeleteRecord");
  EXPECT_EQ(events[0].resource(), "records/b-3");
  EXPECT_EQ(events[0].principal(), "admin");
  EXPECT_EQ(events[0].revision(), deleted->revision());
  EXPECT_EQ(events[1].method(), std::string(kService) + "UpdateRecord");
  EXPECT_EQ(events[1].revision(), updated->record().revision());
  std::set<std::string> batch_resources;
  for (int i = 2; i <= 4; ++i) {
    EXPECT_EQ(events[i].method(), std::string(kService) + "BatchCreateRecords");
    EXPECT_EQ(events[i].request_id(), "import-7");
    EXPECT_EQ(events[i].revision(), imported->revision());
    EXPECT_EQ(events[i].principal(), "importer");
    batch_resources.insert(events[i].resource());
  }
  EXPECT_EQ(batch_resources, (std::set<std::string>{
                                 "records/b-1", "records/b-2", "records/b-3"}));
  EXPECT_EQ(events[5].resource(), "records/fn10-nl");
  EXPECT_EQ(events[5].request_id(), "create-1");
  EXPECT_EQ(events[5].peer(), "ipv6:[::1]:6000");
  EXPECT_EQ(events[5].time().seconds(), absl::ToUnixSeconds(now_));

  // Get and List return the last writer.
  v1::GetRecordRequest get;
  get.set_id("b-1");
  EXPECT_EQ(core_->GetRecord(get)->record().last_changed_by(), "importer");

  registry::v1::ListAuditEventsRequest by_resource;
  by_resource.set_resource("records/b-2");
  EXPECT_EQ(Events(by_resource).size(), 2u);
}

TEST_F(CooperationAuditTest, RefusedAndReplayedWritesRecordNothing) {
  ASSERT_NO_FATAL_FAILURE(Open());
  v1::CreateRecordRequest request;
  *request.mutable_record() = Record("r-1");
  request.set_request_id("once");
  ASSERT_TRUE(
      core_->CreateRecord(request, Deadline(), Call("a", "CreateRecord")).ok());
  ASSERT_EQ(Events().size(), 1u);

  // A retry answers from the remembered response and writes nothing.
  ASSERT_TRUE(
      core_->CreateRecord(request, Deadline(), Call("a", "CreateRecord")).ok());
  // A batch with a taken id, which only the store's insert refuses, after
  // it has written the events: the transaction takes them back.
  v1::BatchCreateRecordsRequest batch;
  *batch.add_records() = Record("r-2");
  *batch.add_records() = Record("r-1");
  EXPECT_EQ(core_
                ->BatchCreateRecords(batch, Deadline(),
                                     Call("a", "BatchCreateRecords"))
                .status()
                .code(),
            absl::StatusCode::kAlreadyExists);
  // Invalid and stale writes.
  v1::CooperationRecord invalid = Record("r-3");
  invalid.set_reporting_country("ZZ");
  v1::CreateRecordRequest bad;
  *bad.mutable_record() = invalid;
  EXPECT_EQ(core_->CreateRecord(bad, Deadline(), Call("a", "CreateRecord"))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  v1::DeleteRecordRequest stale;
  stale.set_id("r-1");
  stale.set_etag("old");
  EXPECT_EQ(
      core_->DeleteRecord(stale, Call("a", "DeleteRecord")).status().code(),
      absl::StatusCode::kAborted);

  EXPECT_EQ(Events().size(), 1u);
  EXPECT_EQ(core_->revision(), 1);
}

TEST_F(CooperationAuditTest,
       EventsOlderThanTheRetentionArePrunedAtTheBoundary) {
  const absl::Duration retention = absl::Hours(24);
  ASSERT_NO_FATAL_FAILURE(Open(retention));
  ASSERT_TRUE(Create("old").ok());
  now_ += absl::Microseconds(1);
  ASSERT_TRUE(Create("kept").ok());

  now_ += retention;
  // The next write deletes what expired, in its own transaction.
  ASSERT_TRUE(Create("new").ok());
  ASSERT_NO_FATAL_FAILURE(Open(retention * 100));
  std::vector<std::string> resources;
  for (const auto& event : Events()) resources.push_back(event.resource());
  EXPECT_THAT(resources, ElementsAre("records/new", "records/kept"));

  // A start deletes what expired meanwhile.
  now_ += absl::Hours(25);
  ASSERT_NO_FATAL_FAILURE(Open(retention));
  ASSERT_NO_FATAL_FAILURE(Open(retention * 100));
  EXPECT_TRUE(Events().empty());
}

TEST_F(CooperationAuditTest, ADatabaseOfTheFirstSchemaMigratesInPlace) {
  std::filesystem::copy_file(
      std::string(THB_TESTDATA_DIR) + "/cooperation-schema1.sqlite3", path_);
  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_EQ(core_->revision(), 1);

  v1::ListRecordsRequest list;
  auto old = core_->ListRecords(list, Deadline());
  ASSERT_TRUE(old.ok()) << old.status();
  ASSERT_EQ(old->records_size(), 2);
  EXPECT_EQ(old->records(0).id(), "fn07-be");
  EXPECT_EQ(old->records(1).id(), "fn07-de");
  EXPECT_EQ(old->records(0).reporting_country(), "BE");
  EXPECT_EQ(old->records(0).last_changed_by(), "");
  EXPECT_TRUE(Events().empty());

  // The old change log still serves Watch.
  auto changes = core_->ChangesAfter(0);
  ASSERT_TRUE(changes.ok()) << changes.status();
  EXPECT_EQ(changes->changes_size(), 2);

  v1::UpdateRecordRequest update;
  update.mutable_record()->set_id("fn07-be");
  update.mutable_record()->set_title("Renamed");
  update.mutable_update_mask()->add_paths("title");
  auto updated =
      core_->UpdateRecord(update, Deadline(), Call("editor", "UpdateRecord"));
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->record().revision(), 2);
  EXPECT_EQ(updated->record().last_changed_by(), "editor");
  EXPECT_EQ(updated->record().description(), old->records(0).description());
  const auto events = Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].resource(), "records/fn07-be");
  EXPECT_EQ(events[0].revision(), 2);
}

}  // namespace
}  // namespace thb::cooperation
