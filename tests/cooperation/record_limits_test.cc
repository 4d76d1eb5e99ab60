// The bounds of what a cooperation write may store, and how the core treats
// rows it cannot read: each with a real SQLite file.

#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/errors.h"
#include "domain/tags.h"
#include "gmock/gmock.h"
#include "google/protobuf/unknown_field_set.h"
#include "gtest/gtest.h"
#include "services/cooperation/cooperation_core.h"
#include "services/cooperation/record_validation.h"
#include "services/cooperation/sqlite_cooperation_store.h"
#include "tests/cooperation/static_references.h"
#include "tests/support/process.h"

namespace thb::cooperation {
namespace {

using ::testing::HasSubstr;

v1::CooperationRecord Record(const std::string& id) {
  v1::CooperationRecord record;
  record.set_id(id);
  record.set_reporting_country("DE");
  record.set_kind(v1::RECORD_KIND_GOOD_PRACTICE);
  record.add_thematic_areas(v1::THEMATIC_AREA_PREVENTION);
  auto* source = record.add_sources();
  source->set_citation("EMN (2025), press release");
  source->set_footnote(10);
  return record;
}

// Grows the last source's citation (and adds sources as needed) until the
// record serializes to exactly `bytes`.
void PadTo(v1::CooperationRecord& record, size_t bytes) {
  while (record.ByteSizeLong() < bytes) {
    auto* source = record.mutable_sources(record.sources_size() - 1);
    const size_t missing = bytes - record.ByteSizeLong();
    const size_t room = kMaxShortTextLength - source->citation().size();
    if (room == 0) {
      record.add_sources()->set_citation("x");
      continue;
    }
    source->mutable_citation()->append(std::min(missing, room), 'x');
  }
  // A length that crossed a varint boundary may overshoot by a byte or two.
  while (record.ByteSizeLong() > bytes) {
    auto* citation =
        record.mutable_sources(record.sources_size() - 1)->mutable_citation();
    citation->pop_back();
  }
  ASSERT_EQ(record.ByteSizeLong(), bytes);
}

google::protobuf::UnknownFieldSet& Unknown(google::protobuf::Message& message) {
  return *message.GetReflection()->MutableUnknownFields(&message);
}

int UnknownCount(const google::protobuf::Message& message) {
  return message.GetReflection()->GetUnknownFields(message).field_count();
}

audit::Invocation Editor() {
  return {{"spiffe://thb/editor/dev", "ipv4:127.0.0.1:50000"},
          "/thb.cooperation.v1.CooperationRecordService/Test"};
}

// Runs one statement with the sqlite3 command-line shell, as an operator
// (or a bad disk) would change the file behind the service's back.
std::string Sqlite(const std::string& path, const std::string& sql) {
  const std::string command =
      absl::StrCat("sqlite3 '", path, "' \"", sql, "\"");
  FILE* pipe = popen(command.c_str(), "r");
  EXPECT_NE(pipe, nullptr) << command;
  if (pipe == nullptr) return "";
  std::string out;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  EXPECT_EQ(pclose(pipe), 0) << command;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// A store that claims more records than a 32-bit count can hold.
class HugeCountStore : public CooperationStore {
 public:
  explicit HugeCountStore(std::unique_ptr<CooperationStore> inner)
      : inner_(std::move(inner)) {}
  absl::StatusOr<StoreInfo> Info() override { return inner_->Info(); }
  absl::StatusOr<std::optional<RecordRow>> Get(const std::string& id) override {
    return inner_->Get(id);
  }
  absl::StatusOr<std::vector<std::string>> Existing(
      const std::vector<std::string>& ids) override {
    return inner_->Existing(ids);
  }
  absl::StatusOr<std::vector<RecordRow>> Scan(const std::string& after_id,
                                              int limit) override {
    return inner_->Scan(after_id, limit);
  }
  absl::StatusOr<int64_t> Count() override { return (int64_t{1} << 32) + 5; }
  absl::StatusOr<std::vector<ChangeRow>> ChangesAfter(
      int64_t after_revision, int max_changes, size_t max_bytes) override {
    return inner_->ChangesAfter(after_revision, max_changes, max_bytes);
  }
  absl::StatusOr<std::optional<StoredRequest>> FindRequest(
      const std::string& request_id) override {
    return inner_->FindRequest(request_id);
  }
  absl::Status Commit(const CommitBatch& batch) override {
    return inner_->Commit(batch);
  }
  absl::StatusOr<std::vector<audit::Event>> ReadAudit(
      const audit::Query& query) override {
    return inner_->ReadAudit(query);
  }
  absl::StatusOr<int> PruneAudit(int64_t before_micros, int limit) override {
    return inner_->PruneAudit(before_micros, limit);
  }

 private:
  std::unique_ptr<CooperationStore> inner_;
};

class RecordLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = thb::testing::MakeTempDir("coop-limits") + "/cooperation.sqlite3";
    Open();
  }

  void Open() {
    core_.reset();
    auto store = SqliteCooperationStore::Open(path_);
    ASSERT_TRUE(store.ok()) << store.status();
    auto core = CooperationCore::Open(std::move(*store), &references_);
    ASSERT_TRUE(core.ok()) << core.status();
    core_ = std::move(*core);
  }

  absl::Time Deadline() { return absl::Now() + absl::Seconds(10); }

  absl::StatusOr<v1::CreateRecordResponse> Create(
      const v1::CooperationRecord& record) {
    v1::CreateRecordRequest request;
    *request.mutable_record() = record;
    return core_->CreateRecord(request, Deadline(), Editor());
  }

  std::string path_;
  StaticReferences references_{true};
  std::unique_ptr<CooperationCore> core_;
};

TEST_F(RecordLimitsTest, UnknownFieldsAreNeverStored) {
  v1::CooperationRecord record = Record("u1");
  Unknown(record).AddLengthDelimited(900, "record-junk");
  Unknown(*record.mutable_sources(0)).AddLengthDelimited(900, "source-junk");
  auto* partner = record.add_partners();
  partner->set_kind(v1::PARTNER_KIND_CSO);
  Unknown(*partner).AddVarint(901, 7);
  v1::CreateRecordRequest create;
  *create.mutable_record() = record;
  create.set_request_id("create-u1");
  auto created = core_->CreateRecord(create, Deadline(), Editor());
  ASSERT_TRUE(created.ok()) << created.status();

  v1::BatchCreateRecordsRequest batch;
  *batch.add_records() = record;
  batch.mutable_records(0)->set_id("u2");
  batch.set_request_id("batch-u2");
  ASSERT_TRUE(core_->BatchCreateRecords(batch, Deadline(), Editor()).ok());

  v1::UpdateRecordRequest update;
  *update.mutable_record() = record;
  update.mutable_record()->set_title("updated");
  update.set_request_id("update-u1");
  ASSERT_TRUE(core_->UpdateRecord(update, Deadline(), Editor()).ok());

  // Neither the records, nor the change log, nor the remembered responses
  // hold a byte of what the service does not know.
  for (const char* sql : {"SELECT COUNT(*) FROM records WHERE instr(data, "
                          "CAST('junk' AS BLOB)) > 0",
                          "SELECT COUNT(*) FROM changes WHERE instr(data, "
                          "CAST('junk' AS BLOB)) > 0",
                          "SELECT COUNT(*) FROM requests WHERE instr(response, "
                          "CAST('junk' AS BLOB)) > 0"}) {
    EXPECT_EQ(Sqlite(path_, sql), "0") << sql;
  }
  v1::GetRecordRequest get;
  get.set_id("u1");
  auto fetched = core_->GetRecord(get);
  ASSERT_TRUE(fetched.ok());
  EXPECT_EQ(UnknownCount(fetched->record()), 0);
  EXPECT_EQ(UnknownCount(fetched->record().partners(0)), 0);
}

TEST_F(RecordLimitsTest, SourcesAreCheckedFieldByField) {
  struct Case {
    std::string accessed_date;
    std::string url;
    std::string field;  // empty: accepted
  };
  const Case cases[] = {
      {"2024-05-31", "https://example.org/a", ""},
      {"", "http://example.org/", ""},
      {"2023-02-30", "", "record.sources[0].accessed_date"},
      {"31/05/2024", "", "record.sources[0].accessed_date"},
      {std::string(3000, '2'), "", "record.sources[0].accessed_date"},
      {"", "example.org", "record.sources[0].url"},
      {"", "javascript:alert(1)", "record.sources[0].url"},
      {"", "https://example.org/a b", "record.sources[0].url"},
      {"", "https://example.org/\n", "record.sources[0].url"},
  };
  int n = 0;
  for (const Case& c : cases) {
    v1::CooperationRecord record = Record(absl::StrCat("s", n++));
    record.mutable_sources(0)->set_accessed_date(c.accessed_date);
    record.mutable_sources(0)->set_url(c.url);
    auto result = Create(record);
    if (c.field.empty()) {
      EXPECT_TRUE(result.ok())
          << c.accessed_date << " " << c.url << ": " << result.status();
      continue;
    }
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument)
        << c.accessed_date << " " << c.url;
    auto violations = FieldViolations(result.status());
    ASSERT_FALSE(violations.empty()) << result.status();
    EXPECT_EQ(violations[0].field, c.field);
  }
}

TEST_F(RecordLimitsTest, ARecordIsAtMostMaxRecordBytes) {
  v1::CooperationRecord at_limit = Record("big");
  PadTo(at_limit, kMaxRecordBytes);
  auto created = Create(at_limit);
  ASSERT_TRUE(created.ok()) << created.status();

  v1::CooperationRecord over = Record("too-big");
  PadTo(over, kMaxRecordBytes + 1);
  auto refused = Create(over);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_FALSE(FieldViolations(refused.status()).empty());
  EXPECT_EQ(FieldViolations(refused.status())[0].field, "record");
  EXPECT_THAT(refused.status().message(),
              HasSubstr(absl::StrCat(kMaxRecordBytes + 1)));
  EXPECT_THAT(refused.status().message(),
              HasSubstr(absl::StrCat(kMaxRecordBytes)));

  // An update cannot grow a record past the limit either.
  v1::UpdateRecordRequest update;
  update.mutable_record()->set_id("big");
  update.mutable_record()->set_title("a title that does not fit any more");
  update.mutable_update_mask()->add_paths("title");
  auto grown = core_->UpdateRecord(update, Deadline(), Editor());
  EXPECT_EQ(grown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(core_->revision(), 1);
}

TEST_F(RecordLimitsTest, ABatchIsAtMostMaxBatchBytes) {
  v1::BatchCreateRecordsRequest batch;
  size_t bytes = 0;
  while (bytes <= kMaxBatchBytes) {
    v1::CooperationRecord* record = batch.add_records();
    *record = Record(absl::StrCat("b", batch.records_size()));
    PadTo(*record, kMaxRecordBytes);
    bytes += record->ByteSizeLong();
  }
  auto refused = core_->BatchCreateRecords(batch, Deadline(), Editor());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_FALSE(FieldViolations(refused.status()).empty());
  EXPECT_EQ(FieldViolations(refused.status())[0].field, "records");
  EXPECT_THAT(refused.status().message(),
              HasSubstr(absl::StrCat(kMaxBatchBytes)));
  EXPECT_EQ(core_->revision(), 0);
}

TEST_F(RecordLimitsTest, TheRequestMemoHoldsNoCopyOfTheRecords) {
  v1::BatchCreateRecordsRequest batch;
  for (int i = 0; i < 20; ++i) {
    v1::CooperationRecord* record = batch.add_records();
    *record = Record(absl::StrCat("m", i));
    PadTo(*record, 4000);
  }
  batch.set_request_id("memo");
  auto first = core_->BatchCreateRecords(batch, Deadline(), Editor());
  ASSERT_TRUE(first.ok()) << first.status();
  // 80 KB of records are stored twice (the records and the change log),
  // not three times.
  const std::string memo =
      Sqlite(path_, "SELECT length(response) FROM requests");
  EXPECT_LT(std::stoi(memo), 1000) << "the memo holds the records again";

  // A retry still gets exactly the first answer, after a restart too, and
  // after the records changed since.
  v1::UpdateRecordRequest update;
  update.mutable_record()->set_id("m3");
  update.mutable_record()->set_title("changed later");
  update.mutable_update_mask()->add_paths("title");
  ASSERT_TRUE(core_->UpdateRecord(update, Deadline(), Editor()).ok());
  Open();
  auto retry = core_->BatchCreateRecords(batch, Deadline(), Editor());
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->SerializeAsString(), first->SerializeAsString());

  v1::CreateRecordRequest create;
  *create.mutable_record() = Record("single");
  create.set_request_id("single");
  auto created = core_->CreateRecord(create, Deadline(), Editor());
  ASSERT_TRUE(created.ok());
  auto again = core_->CreateRecord(create, Deadline(), Editor());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->SerializeAsString(), created->SerializeAsString());
  update.mutable_record()->set_id("single");
  update.set_request_id("update-single");
  auto updated = core_->UpdateRecord(update, Deadline(), Editor());
  ASSERT_TRUE(updated.ok());
  auto updated_again = core_->UpdateRecord(update, Deadline(), Editor());
  ASSERT_TRUE(updated_again.ok()) << updated_again.status();
  EXPECT_EQ(updated_again->SerializeAsString(), updated->SerializeAsString());
}

TEST_F(RecordLimitsTest, ARowThatDoesNotParseIsInternalNamingItsId) {
  ASSERT_TRUE(Create(Record("good")).ok());
  ASSERT_TRUE(Create(Record("rotten")).ok());
  core_.reset();
  // A truncated varint: no parser reads this as a record.
  Sqlite(path_, "UPDATE records SET data = X'0AFFFFFF' WHERE id = 'rotten'");
  Open();

  v1::GetRecordRequest get;
  get.set_id("rotten");
  auto got = core_->GetRecord(get);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(got.status().message(), HasSubstr("rotten"));
  get.set_id("good");
  EXPECT_TRUE(core_->GetRecord(get).ok());

  // An update never writes back what it could not read.
  v1::UpdateRecordRequest update;
  update.mutable_record()->set_id("rotten");
  update.mutable_record()->set_title("patched");
  update.mutable_update_mask()->add_paths("title");
  auto updated = core_->UpdateRecord(update, Deadline(), Editor());
  EXPECT_EQ(updated.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(updated.status().message(), HasSubstr("rotten"));
  v1::DeleteRecordRequest remove;
  remove.set_id("rotten");
  EXPECT_EQ(core_->DeleteRecord(remove, Editor()).status().code(),
            absl::StatusCode::kInternal);
  EXPECT_EQ(core_->revision(), 2);
  EXPECT_EQ(Sqlite(path_, "SELECT hex(data) FROM records WHERE id = 'rotten'"),
            "0AFFFFFF");

  v1::ListRecordsRequest list;
  auto listed = core_->ListRecords(list, Deadline());
  EXPECT_EQ(listed.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(listed.status().message(), HasSubstr("rotten"));
}

TEST_F(RecordLimitsTest, ARowHoldingAnotherRecordIsInternal) {
  ASSERT_TRUE(Create(Record("first")).ok());
  ASSERT_TRUE(Create(Record("second")).ok());
  core_.reset();
  Sqlite(path_,
         "UPDATE records SET data = (SELECT data FROM records WHERE id = "
         "'first') WHERE id = 'second'");
  Open();
  v1::GetRecordRequest get;
  get.set_id("second");
  auto got = core_->GetRecord(get);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(got.status().message(), HasSubstr("second"));
}

TEST_F(RecordLimitsTest, AChangeThatDoesNotParseIsInternal) {
  ASSERT_TRUE(Create(Record("logged")).ok());
  core_.reset();
  Sqlite(path_, "UPDATE changes SET data = X'0AFFFFFF' WHERE id = 'logged'");
  Open();
  auto changes = core_->ChangesAfter(0);
  EXPECT_EQ(changes.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(changes.status().message(), HasSubstr("logged"));
}

TEST_F(RecordLimitsTest, TotalSizeIsNotCutTo32Bits) {
  core_.reset();
  auto store = SqliteCooperationStore::Open(path_);
  ASSERT_TRUE(store.ok());
  auto core = CooperationCore::Open(
      std::make_unique<HugeCountStore>(std::move(*store)), &references_);
  ASSERT_TRUE(core.ok());
  v1::ListRecordsRequest list;
  auto listed = (*core)->ListRecords(list, Deadline());
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(listed->total_size(), (int64_t{1} << 32) + 5);
}

TEST_F(RecordLimitsTest, ATagAcceptedOnWriteCanBeFilteredOn) {
  const std::string longest(domain::kMaxTagLength, 't');
  v1::CooperationRecord record = Record("tagged");
  record.add_tags(longest);
  ASSERT_TRUE(Create(record).ok());

  v1::ListRecordsRequest list;
  list.mutable_filter()->add_tags(longest);
  auto listed = core_->ListRecords(list, Deadline());
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->records_size(), 1);
  EXPECT_EQ(listed->records(0).id(), "tagged");

  const std::string too_long(domain::kMaxTagLength + 1, 't');
  record.set_id("tagged-too-long");
  record.clear_tags();
  record.add_tags(too_long);
  EXPECT_EQ(Create(record).status().code(), absl::StatusCode::kInvalidArgument);
  list.mutable_filter()->set_tags(0, too_long);
  EXPECT_EQ(core_->ListRecords(list, Deadline()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace thb::cooperation
