#include "services/cooperation/cooperation_core.h"

#include <memory>
#include <set>
#include <string>

#include "absl/time/clock.h"
#include "common/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/cooperation/sqlite_cooperation_store.h"
#include "tests/cooperation/static_references.h"
#include "tests/support/process.h"

namespace thb::cooperation {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

v1::CooperationRecord Record(const std::string& id,
                             const std::string& country) {
  v1::CooperationRecord record;
  record.set_id(id);
  record.set_reporting_country(country);
  record.set_kind(v1::RECORD_KIND_GOOD_PRACTICE);
  record.add_thematic_areas(v1::THEMATIC_AREA_PREVENTION);
  record.set_start_year(2021);
  record.set_end_year(2023);
  auto* source = record.add_sources();
  source->set_citation("EMN (2025), press release");
  source->set_footnote(10);
  return record;
}

// A write as the service hands it to the core.
audit::Invocation Editor() {
  return {{"spiffe://thb/editor/dev", "ipv4:127.0.0.1:50000"},
          "/thb.cooperation.v1.CooperationRecordService/Test"};
}

class CooperationCoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = thb::testing::MakeTempDir("coop") + "/cooperation.sqlite3";
    Open();
  }

  void Open(CoreOptions options = {}) {
    core_.reset();
    auto store = SqliteCooperationStore::Open(path_);
    ASSERT_TRUE(store.ok()) << store.status();
    auto core = CooperationCore::Open(std::move(*store), &references_, options);
    ASSERT_TRUE(core.ok()) << core.status();
    core_ = std::move(*core);
  }

  absl::Time Deadline() { return absl::Now() + absl::Seconds(5); }

  v1::CooperationRecord Create(const v1::CooperationRecord& record) {
    v1::CreateRecordRequest request;
    *request.mutable_record() = record;
    auto response = core_->CreateRecord(request, Deadline(), Editor());
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? response->record() : v1::CooperationRecord();
  }

  std::string path_;
  StaticReferences references_{true};
  std::unique_ptr<CooperationCore> core_;
};

TEST_F(CooperationCoreTest, CreateStoresCanonicalCodesAndServerFields) {
  v1::CooperationRecord record = Record("fn10-el", "gr");
  record.add_partners()->set_kind(v1::PARTNER_KIND_INTERNATIONAL_ORGANISATION);
  record.mutable_partners(0)->set_id("IOM");
  record.add_target_countries("GB");
  record.add_tags("low-trust");
  record.add_tags("covid-19");
  record.add_tags("low-trust");
  const v1::CooperationRecord created = Create(record);
  EXPECT_EQ(created.reporting_country(), "EL");
  EXPECT_THAT(created.target_countries(), ElementsAre("UK"));
  EXPECT_THAT(created.tags(), ElementsAre("covid-19", "low-trust"));
  EXPECT_EQ(created.revision(), 1);
  EXPECT_FALSE(created.etag().empty());
  EXPECT_TRUE(created.has_create_time());

  v1::GetRecordRequest get;
  get.set_id("fn10-el");
  auto fetched = core_->GetRecord(get);
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  EXPECT_EQ(fetched->record().SerializeAsString(), created.SerializeAsString());
}

TEST_F(CooperationCoreTest, ServerPicksAnIdWhenNoneIsGiven) {
  const v1::CooperationRecord created = Create(Record("", "DE"));
  EXPECT_THAT(created.id(), ::testing::MatchesRegex("r[0-9a-f]{16}"));
}

struct BadRecordCase {
  std::string name;
  std::function<void(v1::CooperationRecord&)> mutate;
  std::string field;
  std::string value;
};

TEST_F(CooperationCoreTest, InvalidRecordsNameTheFieldAndValueAndWriteNothing) {
  const std::vector<BadRecordCase> cases = {
      {"unknown country", [](auto& r) { r.set_reporting_country("QQ"); },
       "record.reporting_country", "QQ"},
      {"malformed country", [](auto& r) { r.set_reporting_country("Q1"); },
       "record.reporting_country", "Q1"},
      {"no kind", [](auto& r) { r.clear_kind(); }, "record.kind",
       "RECORD_KIND_UNSPECIFIED"},
      {"unknown region", [](auto& r) { r.add_target_regions("ATLANTIS"); },
       "record.target_regions[0]", "ATLANTIS"},
      {"unknown organisation",
       [](auto& r) {
         auto* p = r.add_partners();
         p->set_kind(v1::PARTNER_KIND_INTERNATIONAL_ORGANISATION);
         p->set_id("NOPE");
       },
       "record.partners[0].id", "NOPE"},
      {"organisation of another kind",
       [](auto& r) {
         auto* p = r.add_partners();
         p->set_kind(v1::PARTNER_KIND_EU_AGENCY);
         p->set_id("IOM");
       },
       "record.partners[0].id", "IOM"},
      {"year out of range", [](auto& r) { r.set_start_year(1200); },
       "record.start_year", "1200"},
      {"from after to",
       [](auto& r) {
         r.set_start_year(2024);
         r.set_end_year(2021);
       },
       "record.start_year", "2024"},
      {"bad tag", [](auto& r) { r.add_tags("Low Trust"); }, "record.tags[0]",
       "Low Trust"},
      {"no source", [](auto& r) { r.clear_sources(); }, "record.sources", ""},
      {"title too long", [](auto& r) { r.set_title(std::string(201, 'x')); },
       "record.title", "201"},
      {"too many tags",
       [](auto& r) {
         for (int i = 0; i < 101; ++i) r.add_tags("t" + std::to_string(i));
       },
       "record.tags", "101"},
      {"bad id", [](auto& r) { r.set_id("Not_Kebab"); }, "record.id",
       "Not_Kebab"},
      {"negative footnote",
       [](auto& r) { r.mutable_sources(0)->set_footnote(-1); },
       "record.sources[0].footnote", "-1"},
  };
  for (const auto& c : cases) {
    v1::CooperationRecord record = Record("fn10-de", "DE");
    c.mutate(record);
    v1::CreateRecordRequest request;
    *request.mutable_record() = record;
    auto result = core_->CreateRecord(request, Deadline(), Editor());
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument)
        << c.name;
    auto violations = FieldViolations(result.status());
    ASSERT_FALSE(violations.empty()) << c.name;
    EXPECT_EQ(violations[0].field, c.field) << c.name;
    EXPECT_THAT(result.status().message(), HasSubstr(c.value)) << c.name;
  }
  EXPECT_EQ(core_->revision(), 0);
}

TEST_F(CooperationCoreTest, BatchIsAllOrNothing) {
  v1::BatchCreateRecordsRequest request;
  for (int i = 0; i < 5; ++i) {
    *request.add_records() = Record("b" + std::to_string(i), "FR");
  }
  request.mutable_records(3)->set_reporting_country("ZZ");
  auto refused = core_->BatchCreateRecords(request, Deadline(), Editor());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldViolations(refused.status()).at(0).field,
            "records[3].reporting_country");
  EXPECT_EQ(core_->revision(), 0);

  request.mutable_records(3)->set_reporting_country("FR");
  auto* partner = request.mutable_records(4)->add_partners();
  partner->set_kind(v1::PARTNER_KIND_INTERNATIONAL_ORGANISATION);
  partner->set_id("NOPE");
  auto nested = core_->BatchCreateRecords(request, Deadline(), Editor());
  EXPECT_EQ(FieldViolations(nested.status()).at(0).field,
            "records[4].partners[0].id");
  EXPECT_THAT(nested.status().message(), HasSubstr("NOPE"));
  EXPECT_EQ(core_->revision(), 0);

  request.mutable_records(4)->clear_partners();
  auto created = core_->BatchCreateRecords(request, Deadline(), Editor());
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->revision(), 1);
  EXPECT_EQ(created->records_size(), 5);

  // One id already taken: nothing of the second batch is written.
  v1::BatchCreateRecordsRequest second;
  *second.add_records() = Record("c0", "FR");
  *second.add_records() = Record("b2", "FR");
  auto duplicate = core_->BatchCreateRecords(second, Deadline(), Editor());
  EXPECT_EQ(duplicate.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(duplicate.status().message(), HasSubstr("b2"));
  v1::GetRecordRequest get;
  get.set_id("c0");
  EXPECT_EQ(core_->GetRecord(get).status().code(), absl::StatusCode::kNotFound);

  v1::BatchCreateRecordsRequest twice;
  *twice.add_records() = Record("d0", "FR");
  *twice.add_records() = Record("d0", "FR");
  auto repeated = core_->BatchCreateRecords(twice, Deadline(), Editor());
  EXPECT_EQ(FieldViolations(repeated.status()).at(0).field, "records[1].id");

  v1::BatchCreateRecordsRequest empty;
  EXPECT_EQ(
      core_->BatchCreateRecords(empty, Deadline(), Editor()).status().code(),
      absl::StatusCode::kInvalidArgument);
}

TEST_F(CooperationCoreTest, BatchesOverTheLimitAreRefused) {
  CoreOptions options;
  options.max_batch_records = 3;
  Open(options);
  v1::BatchCreateRecordsRequest request;
  for (int i = 0; i < 4; ++i) *request.add_records() = Record("", "FR");
  auto refused = core_->BatchCreateRecords(request, Deadline(), Editor());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldViolations(refused.status()).at(0).field, "records");
}

TEST_F(CooperationCoreTest, RequestIdMakesRetriesIdempotent) {
  v1::BatchCreateRecordsRequest request;
  *request.add_records() = Record("", "FR");
  request.set_request_id("import-1");
  auto first = core_->BatchCreateRecords(request, Deadline(), Editor());
  ASSERT_TRUE(first.ok()) << first.status();
  auto retry = core_->BatchCreateRecords(request, Deadline(), Editor());
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->SerializeAsString(), first->SerializeAsString());
  EXPECT_EQ(core_->revision(), 1);

  // After a restart too.
  Open();
  auto after_restart = core_->BatchCreateRecords(request, Deadline(), Editor());
  ASSERT_TRUE(after_restart.ok());
  EXPECT_EQ(after_restart->records(0).id(), first->records(0).id());
  EXPECT_EQ(core_->revision(), 1);

  request.mutable_records(0)->set_reporting_country("DE");
  auto reused = core_->BatchCreateRecords(request, Deadline(), Editor());
  EXPECT_EQ(reused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldViolations(reused.status()).at(0).field, "request_id");
}

TEST_F(CooperationCoreTest, UpdateAndDeleteHonourEtagAndMask) {
  const v1::CooperationRecord created = Create(Record("u1", "SE"));

  v1::UpdateRecordRequest update;
  update.mutable_record()->set_id("u1");
  update.mutable_record()->set_etag("stale");
  update.mutable_record()->set_title("New title");
  update.mutable_update_mask()->add_paths("title");
  EXPECT_EQ(core_->UpdateRecord(update, Deadline(), Editor()).status().code(),
            absl::StatusCode::kAborted);

  update.mutable_record()->set_etag(created.etag());
  auto updated = core_->UpdateRecord(update, Deadline(), Editor());
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->record().title(), "New title");
  EXPECT_EQ(updated->record().reporting_country(), "SE");
  EXPECT_EQ(updated->record().revision(), 2);
  EXPECT_EQ(updated->record().create_time().seconds(),
            created.create_time().seconds());

  update.mutable_update_mask()->set_paths(0, "revision");
  auto bad_mask = core_->UpdateRecord(update, Deadline(), Editor());
  EXPECT_EQ(FieldViolations(bad_mask.status()).at(0).field,
            "update_mask.paths[0]");

  v1::UpdateRecordRequest invalid;
  invalid.mutable_record()->set_id("u1");
  invalid.mutable_record()->set_reporting_country("XX");
  invalid.mutable_update_mask()->add_paths("reporting_country");
  EXPECT_EQ(core_->UpdateRecord(invalid, Deadline(), Editor()).status().code(),
            absl::StatusCode::kInvalidArgument);

  v1::DeleteRecordRequest remove;
  remove.set_id("u1");
  remove.set_etag(created.etag());
  EXPECT_EQ(core_->DeleteRecord(remove, Editor()).status().code(),
            absl::StatusCode::kAborted);
  remove.set_etag(updated->record().etag());
  auto deleted = core_->DeleteRecord(remove, Editor());
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(deleted->revision(), 3);
  EXPECT_EQ(core_->DeleteRecord(remove, Editor()).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(CooperationCoreTest, ListFiltersAndPagesToTheEnd) {
  v1::BatchCreateRecordsRequest batch;
  for (int i = 0; i < 30; ++i) {
    v1::CooperationRecord record =
        Record(absl::StrCat("l", i < 10 ? "0" : "", i), i % 2 ? "GE" : "DE");
    if (i % 3 == 0) record.set_kind(v1::RECORD_KIND_CHALLENGE);
    *batch.add_records() = record;
  }
  ASSERT_TRUE(core_->BatchCreateRecords(batch, Deadline(), Editor()).ok());

  v1::ListRecordsRequest list;
  list.set_page_size(7);
  std::set<std::string> seen;
  int pages = 0;
  do {
    auto page = core_->ListRecords(list, Deadline());
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_EQ(page->total_size(), 30);
    for (const auto& record : page->records()) {
      EXPECT_TRUE(seen.insert(record.id()).second);
    }
    list.set_page_token(page->next_page_token());
    ++pages;
  } while (!list.page_token().empty());
  EXPECT_EQ(seen.size(), 30u);
  EXPECT_EQ(pages, 5);

  v1::ListRecordsRequest filtered;
  filtered.mutable_filter()->add_kinds(v1::RECORD_KIND_CHALLENGE);
  filtered.mutable_filter()->add_emn_statuses(
      registry::v1::EMN_STATUS_OBSERVER);
  filtered.set_as_of_date("2025-07-16");
  auto challenges = core_->ListRecords(filtered, Deadline());
  ASSERT_TRUE(challenges.ok()) << challenges.status();
  // i in {3, 9, 15, 21, 27}: odd, so GE, an Observer.
  EXPECT_EQ(challenges->records_size(), 5);
  for (const auto& record : challenges->records()) {
    EXPECT_EQ(record.reporting_country(), "GE");
  }

  v1::ListRecordsRequest bad;
  bad.mutable_filter()->add_thematic_areas(static_cast<v1::ThematicArea>(999));
  auto refused = core_->ListRecords(bad, Deadline());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldViolations(refused.status()).at(0).field,
            "filter.thematic_areas[0]");
}

// A filter that matches nothing examines a bounded number of rows per call:
// a short (here empty) page with a token that continues the scan, until the
// end, where no token is left.
TEST_F(CooperationCoreTest, AFilteredListExaminesABoundedNumberOfRowsPerCall) {
  CoreOptions options;
  options.max_rows_examined_per_list = 8;
  Open(options);
  v1::BatchCreateRecordsRequest batch;
  for (int i = 0; i < 30; ++i) {
    v1::CooperationRecord record =
        Record(absl::StrCat("s", i < 10 ? "0" : "", i), "DE");
    if (i == 25) record.set_kind(v1::RECORD_KIND_CHALLENGE);
    *batch.add_records() = record;
  }
  ASSERT_TRUE(core_->BatchCreateRecords(batch, Deadline(), Editor()).ok());

  v1::ListRecordsRequest list;
  list.mutable_filter()->add_kinds(v1::RECORD_KIND_CHALLENGE);
  std::vector<std::string> found;
  int calls = 0;
  do {
    auto page = core_->ListRecords(list, Deadline());
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& record : page->records()) found.push_back(record.id());
    list.set_page_token(page->next_page_token());
    ++calls;
    ASSERT_LE(calls, 10);
  } while (!list.page_token().empty());
  EXPECT_THAT(found, ::testing::ElementsAre("s25"));
  // 30 rows, at most 8 examined per call.
  EXPECT_GE(calls, 4);
  EXPECT_EQ(CoreOptions().max_rows_examined_per_list, kMaxRowsExaminedPerList);
}

TEST_F(CooperationCoreTest, ChangesComeInOrderAndCompactionIsOutOfRange) {
  CoreOptions options;
  options.history_revisions = 3;
  Open(options);
  for (int i = 0; i < 5; ++i) Create(Record(absl::StrCat("w", i), "NL"));
  auto recent = core_->ChangesAfter(2);
  ASSERT_TRUE(recent.ok()) << recent.status();
  ASSERT_EQ(recent->changes_size(), 3);
  EXPECT_EQ(recent->changes(0).record().id(), "w2");
  EXPECT_EQ(recent->changes(2).revision(), 5);
  EXPECT_EQ(core_->ChangesAfter(1).status().code(),
            absl::StatusCode::kOutOfRange);

  Open(options);
  EXPECT_EQ(core_->revision(), 5);
  EXPECT_EQ(core_->ChangesAfter(1).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(core_->ChangesAfter(4)->changes_size(), 1);
}

TEST_F(CooperationCoreTest, RefusedBatchDoesNotCompactTheHistory) {
  CoreOptions options;
  options.history_revisions = 3;
  Open(options);
  for (int i = 0; i < 3; ++i) Create(Record(absl::StrCat("h", i), "NL"));
  // The next commit would drop revision 1; a taken id makes the store refuse
  // it, so revision 1 must still be there to watch from.
  v1::BatchCreateRecordsRequest duplicate;
  *duplicate.add_records() = Record("h0", "NL");
  EXPECT_EQ(core_->BatchCreateRecords(duplicate, Deadline(), Editor())
                .status()
                .code(),
            absl::StatusCode::kAlreadyExists);
  auto all = core_->ChangesAfter(0);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->changes_size(), 3);

  Create(Record("h3", "NL"));
  EXPECT_EQ(core_->ChangesAfter(0).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(core_->ChangesAfter(1)->changes_size(), 3);
}

TEST(CooperationCoreColdTest, WritesAreUnavailableWithoutTheRegistry) {
  StaticReferences cold(false);
  auto store = SqliteCooperationStore::Open(
      thb::testing::MakeTempDir("coop-cold") + "/cooperation.sqlite3");
  ASSERT_TRUE(store.ok());
  auto core = CooperationCore::Open(std::move(*store), &cold);
  ASSERT_TRUE(core.ok());
  v1::CreateRecordRequest request;
  *request.mutable_record() = Record("x1", "DE");
  auto result =
      (*core)->CreateRecord(request, absl::Now() + absl::Seconds(1), Editor());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ((*core)->revision(), 0);
  v1::ListRecordsRequest list;
  EXPECT_TRUE((*core)->ListRecords(list, absl::Now()).ok())
      << "reads work without the registry";
}

}  // namespace
}  // namespace thb::cooperation
