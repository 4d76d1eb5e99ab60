// A commit is durable in the store a moment before the core publishes its
// revision. A Watch reading the log in that moment must not be given the
// new revision: its next read would ask for changes after a revision the
// core does not yet have, be refused OUT_OF_RANGE, and its follower would
// list everything again for nothing.
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "services/cooperation/cooperation_core.h"
#include "services/cooperation/sqlite_cooperation_store.h"
#include "tests/cooperation/static_references.h"
#include "tests/support/process.h"

namespace thb::cooperation {
namespace {

// A SQLite store that runs a hook once each commit is durable, before the
// core has heard back from it.
class HookedStore : public CooperationStore {
 public:
  explicit HookedStore(std::unique_ptr<CooperationStore> store)
      : store_(std::move(store)) {}

  absl::AnyInvocable<void(int64_t revision)> after_commit;

  absl::StatusOr<StoreInfo> Info() override { return store_->Info(); }
  absl::StatusOr<std::optional<RecordRow>> Get(const std::string& id) override {
    return store_->Get(id);
  }
  absl::StatusOr<std::vector<std::string>> Existing(
      const std::vector<std::string>& ids) override {
    return store_->Existing(ids);
  }
  absl::StatusOr<std::vector<RecordRow>> Scan(const std::string& after_id,
                                              int limit) override {
    return store_->Scan(after_id, limit);
  }
  absl::StatusOr<int64_t> Count() override { return store_->Count(); }
  absl::StatusOr<std::vector<ChangeRow>> ChangesAfter(
      int64_t after_revision, int max_changes, size_t max_bytes) override {
    return store_->ChangesAfter(after_revision, max_changes, max_bytes);
  }
  absl::StatusOr<std::optional<StoredRequest>> FindRequest(
      const std::string& request_id) override {
    return store_->FindRequest(request_id);
  }
  absl::Status Commit(const CommitBatch& batch) override {
    absl::Status status = store_->Commit(batch);
    if (status.ok() && after_commit) after_commit(batch.revision);
    return status;
  }
  absl::StatusOr<std::vector<audit::Event>> ReadAudit(
      const audit::Query& query) override {
    return store_->ReadAudit(query);
  }
  absl::StatusOr<int> PruneAudit(int64_t before_micros, int limit) override {
    return store_->PruneAudit(before_micros, limit);
  }

 private:
  std::unique_ptr<CooperationStore> store_;
};

v1::CreateRecordRequest Create(const std::string& id) {
  v1::CreateRecordRequest request;
  v1::CooperationRecord& record = *request.mutable_record();
  record.set_id(id);
  record.set_reporting_country("NL");
  record.set_kind(v1::RECORD_KIND_GOOD_PRACTICE);
  record.add_thematic_areas(v1::THEMATIC_AREA_PREVENTION);
  record.set_description("d");
  record.add_sources()->set_citation("EMN (2025), press release");
  return request;
}

audit::Invocation Editor() {
  return {{"spiffe://thb/editor/dev", "ipv4:127.0.0.1:50000"},
          "/thb.cooperation.v1.CooperationRecordService/Test"};
}

TEST(ChangeVisibilityTest, AWatchNeverGetsARevisionTheCoreHasNotPublished) {
  const std::string dir = thb::testing::MakeTempDir("change_visibility");
  auto sqlite = SqliteCooperationStore::Open(dir + "/cooperation.sqlite3");
  ASSERT_TRUE(sqlite.ok()) << sqlite.status();
  auto hooked = std::make_unique<HookedStore>(std::move(*sqlite));
  HookedStore* store = hooked.get();
  StaticReferences references(true);
  auto opened = CooperationCore::Open(std::move(hooked), &references);
  ASSERT_TRUE(opened.ok()) << opened.status();
  CooperationCore& core = **opened;

  ASSERT_TRUE(
      core.CreateRecord(Create("a"), absl::Now() + absl::Seconds(5), Editor())
          .ok());
  int checked = 0;
  store->after_commit = [&](int64_t revision) {
    // The row of `revision` is in the store; the core still says one less.
    EXPECT_EQ(core.revision(), revision - 1);
    auto batch = core.ChangesAfter(revision - 2);
    ASSERT_TRUE(batch.ok()) << batch.status();
    ASSERT_GT(batch->changes_size(), 0);
    const int64_t sent = batch->changes(batch->changes_size() - 1).revision();
    EXPECT_EQ(sent, revision - 1);
    // What a watcher asks next.
    auto next = core.ChangesAfter(sent);
    EXPECT_TRUE(next.ok()) << next.status();
    ++checked;
  };
  ASSERT_TRUE(
      core.CreateRecord(Create("b"), absl::Now() + absl::Seconds(5), Editor())
          .ok());
  store->after_commit = nullptr;
  EXPECT_EQ(checked, 1);
  // Once published, the change is there to read.
  auto batch = core.ChangesAfter(1);
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(batch->changes_size(), 1);
  EXPECT_EQ(batch->changes(0).revision(), 2);
}

}  // namespace
}  // namespace thb::cooperation
