// What followers of the cooperation store rely on: pages and watch batches
// bounded by bytes, the store's incarnation, and OUT_OF_RANGE for a watch
// that cannot resume.
#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/message_budget.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/cooperation/cooperation_core.h"
#include "services/cooperation/sqlite_cooperation_store.h"
#include "tests/cooperation/static_references.h"
#include "tests/support/process.h"

namespace thb::cooperation {
namespace {

using ::testing::MatchesRegex;

audit::Invocation Editor() {
  return {{"spiffe://thb/editor/dev", "ipv4:127.0.0.1:50000"},
          "/thb.cooperation.v1.CooperationRecordService/Test"};
}

v1::CooperationRecord Record(const std::string& id, size_t description) {
  v1::CooperationRecord record;
  record.set_id(id);
  record.set_reporting_country("NL");
  record.set_kind(v1::RECORD_KIND_GOOD_PRACTICE);
  record.add_thematic_areas(v1::THEMATIC_AREA_PREVENTION);
  record.set_description(std::string(description, 'd'));
  record.add_sources()->set_citation("EMN (2025), press release");
  return record;
}

class CooperationFollowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = thb::testing::MakeTempDir("coop_follow");
    path_ = dir_ + "/cooperation.sqlite3";
  }

  void Open(CoreOptions options = {}) {
    core_.reset();
    auto store = SqliteCooperationStore::Open(path_);
    ASSERT_TRUE(store.ok()) << store.status();
    auto core = CooperationCore::Open(std::move(*store), &references_, options);
    ASSERT_TRUE(core.ok()) << core.status();
    core_ = std::move(*core);
  }

  // One revision holding `count` records.
  void Batch(const std::string& prefix, int count, size_t description) {
    v1::BatchCreateRecordsRequest request;
    for (int i = 0; i < count; ++i) {
      *request.add_records() =
          Record(absl::StrCat(prefix, "-", i), description);
    }
    auto response = core_->BatchCreateRecords(
        request, absl::Now() + absl::Seconds(5), Editor());
    ASSERT_TRUE(response.ok()) << response.status();
  }

  std::string dir_;
  std::string path_;
  StaticReferences references_{true};
  std::unique_ptr<CooperationCore> core_;
};

TEST_F(CooperationFollowTest, EveryOpenOfAStoreIsANewIncarnation) {
  ASSERT_NO_FATAL_FAILURE(Open());
  const std::string incarnation = core_->incarnation();
  EXPECT_THAT(incarnation, MatchesRegex("[0-9a-f]{32}"));
  ASSERT_NO_FATAL_FAILURE(Batch("a", 1, 10));
  auto list = core_->ListRecords({}, absl::Now() + absl::Seconds(5));
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->incarnation(), incarnation);
  EXPECT_EQ(core_->ChangesAfter(0)->incarnation(), incarnation);

  // Reopened, it may have been restored from an older copy meanwhile.
  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_THAT(core_->incarnation(), MatchesRegex("[0-9a-f]{32}"));
  EXPECT_NE(core_->incarnation(), incarnation);

  path_ = dir_ + "/other.sqlite3";
  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_THAT(core_->incarnation(), MatchesRegex("[0-9a-f]{32}"));
  EXPECT_NE(core_->incarnation(), incarnation);
}

TEST_F(CooperationFollowTest, AFileOfTheFirstSchemaGetsAnIncarnation) {
  std::filesystem::copy_file(
      std::string(THB_TESTDATA_DIR) + "/cooperation-schema1.sqlite3", path_);
  ASSERT_NO_FATAL_FAILURE(Open());
  const std::string incarnation = core_->incarnation();
  EXPECT_THAT(incarnation, MatchesRegex("[0-9a-f]{32}"));
  EXPECT_EQ(core_->revision(), 1);
  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_THAT(core_->incarnation(), MatchesRegex("[0-9a-f]{32}"));
}

TEST_F(CooperationFollowTest, AWatchThatCannotResumeIsOutOfRange) {
  ASSERT_NO_FATAL_FAILURE(Open());
  ASSERT_NO_FATAL_FAILURE(Batch("a", 1, 10));
  ASSERT_NO_FATAL_FAILURE(Batch("b", 1, 10));
  EXPECT_TRUE(core_->ChangesAfter(2, core_->incarnation()).ok());
  auto ahead = core_->ChangesAfter(7);
  EXPECT_EQ(ahead.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(
      std::string(ahead.status().message()),
      ::testing::AllOf(::testing::HasSubstr("7"), ::testing::HasSubstr("2")));
  EXPECT_EQ(core_->ChangesAfter(0, "0123456789abcdef0123456789abcdef")
                .status()
                .code(),
            absl::StatusCode::kOutOfRange);
}

TEST_F(CooperationFollowTest, PagesStopAtTheirByteBudgetWithoutGapsOrRepeats) {
  EXPECT_EQ(CoreOptions().max_page_bytes, kMaxListPageBytes);
  CoreOptions options;
  options.max_page_bytes = 8000;
  ASSERT_NO_FATAL_FAILURE(Open(options));
  ASSERT_NO_FATAL_FAILURE(Batch("r", 30, 2000));
  ASSERT_NO_FATAL_FAILURE(Batch("s", 1, 10000));  // larger than a page

  std::vector<std::string> ids;
  v1::ListRecordsRequest request;
  request.set_page_size(10000);
  int pages = 0;
  do {
    auto page = core_->ListRecords(request, absl::Now() + absl::Seconds(5));
    ASSERT_TRUE(page.ok()) << page.status();
    ASSERT_GE(page->records_size(), 1);
    size_t bytes = 0;
    for (const auto& record : page->records()) {
      bytes += RepeatedFieldBytes(record.ByteSizeLong());
      ids.push_back(record.id());
    }
    if (page->records_size() > 1) {
      EXPECT_LE(bytes, options.max_page_bytes);
    }
    request.set_page_token(page->next_page_token());
    ++pages;
  } while (!request.page_token().empty());
  EXPECT_GE(pages, 4);
  EXPECT_EQ(ids.size(), 31u);
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(std::adjacent_find(ids.begin(), ids.end()), ids.end());
}

TEST_F(CooperationFollowTest, WatchBatchesStopAtTheirByteBudgetOnRevisions) {
  EXPECT_EQ(CoreOptions().max_batch_bytes, kMaxWatchBatchBytes);
  CoreOptions options;
  options.max_batch_bytes = 20000;
  ASSERT_NO_FATAL_FAILURE(Open(options));
  ASSERT_NO_FATAL_FAILURE(Batch("big", 20, 2000));  // one revision, 40 kB
  for (int i = 0; i < 20; ++i) {
    ASSERT_NO_FATAL_FAILURE(Batch(absl::StrCat("w", i), 1, 2000));
  }
  // The revision larger than the budget comes whole, and alone.
  auto first = core_->ChangesAfter(0);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->changes_size(), 20);
  for (const auto& change : first->changes()) EXPECT_EQ(change.revision(), 1);

  int64_t from = 1;
  int batches = 0;
  while (from < core_->revision()) {
    auto batch = core_->ChangesAfter(from);
    ASSERT_TRUE(batch.ok()) << batch.status();
    ASSERT_GE(batch->changes_size(), 1);
    EXPECT_EQ(batch->changes(0).revision(), from + 1);
    EXPECT_LE(batch->ByteSizeLong(), options.max_batch_bytes + 1000);
    from = batch->changes(batch->changes_size() - 1).revision();
    ++batches;
  }
  EXPECT_GE(batches, 2);
  EXPECT_EQ(from, 21);
}

}  // namespace
}  // namespace thb::cooperation
