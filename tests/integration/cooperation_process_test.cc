// The real thb-registry and thb-cooperation processes, talking gRPC over
// loopback with real SQLite files: every RPC, validation on the wire, Watch
// resumption, registry outages, and batches surviving kill -9.

#include <signal.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/channel.h"
#include "common/errors.h"
#include "common/grpc_status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/servers.h"
#include "tests/support/test_pki.h"
#include "thb/cooperation/v1/cooperation_service.grpc.pb.h"

namespace thb {
namespace {

using ::testing::HasSubstr;
using ::thb::testing::ServerProcess;
namespace v1 = ::thb::cooperation::v1;

std::chrono::system_clock::time_point In(absl::Duration duration) {
  return absl::ToChronoTime(absl::Now() + duration);
}

v1::CooperationRecord Record(const std::string& id,
                             const std::string& country) {
  v1::CooperationRecord record;
  record.set_id(id);
  record.set_reporting_country(country);
  record.set_kind(v1::RECORD_KIND_MEASURE);
  record.add_thematic_areas(v1::THEMATIC_AREA_LAW_ENFORCEMENT);
  record.set_form(v1::COOPERATION_FORM_OPERATIONAL_AD_HOC);
  record.set_title(absl::StrCat("Measure ", id));
  auto* source = record.add_sources();
  source->set_citation("Test source");
  source->set_footnote(16);
  return record;
}

// Registry and cooperation on free ports, in one temporary directory.
class Suite {
 public:
  explicit Suite(std::vector<std::string> cooperation_args = {})
      : dir_(thb::testing::MakeTempDir("suite")),
        registry_(THB_REGISTRY_BIN, dir_, "registry"),
        cooperation_args_(std::move(cooperation_args)) {}

  void Start() {
    ASSERT_TRUE(registry_.Start().ok());
    StartCooperation();
  }

  void StartCooperation() {
    std::vector<std::string> args = cooperation_args_;
    args.push_back(absl::StrCat("--registry=", registry_.address()));
    cooperation_ = std::make_unique<ServerProcess>(THB_COOPERATION_BIN, dir_,
                                                   "cooperation", args);
    auto started = cooperation_->Start();
    ASSERT_TRUE(started.ok()) << started;
    stub_ = v1::CooperationRecordService::NewStub(
        thb::testing::TestChannel(cooperation_->address()));
  }

  void RestartCooperation() {
    auto started = cooperation_->Start();
    ASSERT_TRUE(started.ok()) << started;
    stub_ = v1::CooperationRecordService::NewStub(
        thb::testing::TestChannel(cooperation_->address()));
  }

  ServerProcess& registry() { return registry_; }
  ServerProcess& cooperation() { return *cooperation_; }
  v1::CooperationRecordService::Stub& stub() { return *stub_; }

  // Creates with retries while the cooperation service warms its registry
  // copy after a start.
  grpc::Status Create(const v1::CooperationRecord& record,
                      v1::CooperationRecord* created = nullptr) {
    v1::CreateRecordRequest request;
    *request.mutable_record() = record;
    v1::CreateRecordResponse response;
    grpc::ClientContext context;
    context.set_deadline(In(absl::Seconds(10)));
    grpc::Status status = stub_->CreateRecord(&context, request, &response);
    if (created != nullptr) *created = response.record();
    return status;
  }

  std::set<std::string> AllIds() {
    std::set<std::string> ids;
    v1::ListRecordsRequest request;
    request.set_page_size(10000);
    do {
      v1::ListRecordsResponse response;
      grpc::ClientContext context;
      context.set_deadline(In(absl::Seconds(30)));
      const grpc::Status status =
          stub_->ListRecords(&context, request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok()) break;
      for (const auto& record : response.records()) ids.insert(record.id());
      request.set_page_token(response.next_page_token());
    } while (!request.page_token().empty());
    return ids;
  }

 private:
  std::string dir_;
  ServerProcess registry_;
  std::vector<std::string> cooperation_args_;
  std::unique_ptr<ServerProcess> cooperation_;
  std::unique_ptr<v1::CooperationRecordService::Stub> stub_;
};

TEST(CooperationProcessTest, EveryRpcOverTheWire) {
  Suite suite;
  ASSERT_NO_FATAL_FAILURE(suite.Start());

  v1::CooperationRecord created;
  ASSERT_TRUE(suite.Create(Record("fn15-el", "GR"), &created).ok());
  EXPECT_EQ(created.reporting_country(), "EL") << "GR is stored as EL";
  EXPECT_EQ(created.revision(), 1);

  v1::BatchCreateRecordsRequest batch;
  for (int i = 0; i < 60; ++i) {
    *batch.add_records() =
        Record(absl::StrCat("b", i < 10 ? "0" : "", i), i % 3 ? "FR" : "GE");
  }
  v1::BatchCreateRecordsResponse batch_response;
  {
    grpc::ClientContext context;
    context.set_deadline(In(absl::Seconds(10)));
    ASSERT_TRUE(
        suite.stub().BatchCreateRecords(&context, batch, &batch_response).ok());
  }
  EXPECT_EQ(batch_response.revision(), 2);
  EXPECT_EQ(batch_response.records_size(), 60);

  v1::GetRecordRequest get;
  get.set_id("fn15-el");
  v1::GetRecordResponse got;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(suite.stub().GetRecord(&context, get, &got).ok());
  }
  EXPECT_EQ(got.record().etag(), created.etag());

  v1::UpdateRecordRequest update;
  update.mutable_record()->set_id("fn15-el");
  update.mutable_record()->set_etag(created.etag());
  update.mutable_record()->add_target_regions("WESTERN_BALKANS");
  update.mutable_update_mask()->add_paths("target_regions");
  v1::UpdateRecordResponse updated;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(suite.stub().UpdateRecord(&context, update, &updated).ok());
  }
  EXPECT_EQ(updated.record().revision(), 3);
  {
    grpc::ClientContext context;
    EXPECT_EQ(
        suite.stub().UpdateRecord(&context, update, &updated).error_code(),
        grpc::StatusCode::ABORTED)
        << "the etag is stale now";
  }

  // Pagination to the end, with a filter on kind and EMN status.
  v1::ListRecordsRequest list;
  list.set_page_size(7);
  list.mutable_filter()->add_emn_statuses(registry::v1::EMN_STATUS_OBSERVER);
  int listed = 0;
  do {
    v1::ListRecordsResponse page;
    grpc::ClientContext context;
    ASSERT_TRUE(suite.stub().ListRecords(&context, list, &page).ok());
    for (const auto& record : page.records()) {
      EXPECT_EQ(record.reporting_country(), "GE");
      ++listed;
    }
    list.set_page_token(page.next_page_token());
  } while (!list.page_token().empty());
  EXPECT_EQ(listed, 20);

  v1::DeleteRecordRequest remove;
  remove.set_id("b01");
  v1::DeleteRecordResponse deleted;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(suite.stub().DeleteRecord(&context, remove, &deleted).ok());
  }
  EXPECT_EQ(deleted.revision(), 4);
  {
    grpc::ClientContext context;
    v1::GetRecordRequest gone;
    gone.set_id("b01");
    EXPECT_EQ(suite.stub().GetRecord(&context, gone, &got).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  EXPECT_EQ(suite.AllIds().size(), 60u);
}

TEST(CooperationProcessTest, ValidationErrorsNameFieldAndValueAndWriteNothing) {
  Suite suite;
  ASSERT_NO_FATAL_FAILURE(suite.Start());
  struct Case {
    v1::CooperationRecord record;
    std::string field;
    std::string value;
  };
  std::vector<Case> cases;
  cases.push_back({Record("x1", "XX"), "record.reporting_country", "XX"});
  {
    auto record = Record("x2", "DE");
    record.add_target_regions("NARNIA");
    cases.push_back({record, "record.target_regions[0]", "NARNIA"});
  }
  {
    auto record = Record("x3", "DE");
    auto* partner = record.add_partners();
    partner->set_kind(v1::PARTNER_KIND_INTERNATIONAL_ORGANISATION);
    partner->set_id("UNICORN");
    cases.push_back({record, "record.partners[0].id", "UNICORN"});
  }
  {
    auto record = Record("x4", "DE");
    record.set_start_year(2023);
    record.set_end_year(2021);
    cases.push_back({record, "record.start_year", "2023"});
  }
  {
    auto record = Record("x5", "DE");
    record.clear_sources();
    cases.push_back({record, "record.sources", "source"});
  }
  for (const auto& c : cases) {
    const grpc::Status status = suite.Create(c.record);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << c.field;
    EXPECT_THAT(status.error_message(), HasSubstr(c.value));
    const absl::Status decoded = FromGrpcStatus(status);
    const auto violations = FieldViolations(decoded);
    ASSERT_EQ(violations.size(), 1u) << c.field;
    EXPECT_EQ(violations[0].field, c.field);
  }
  EXPECT_TRUE(suite.AllIds().empty()) << "nothing was written";

  v1::BatchCreateRecordsRequest too_large;
  for (int i = 0; i < 10001; ++i) *too_large.add_records() = Record("", "DE");
  v1::BatchCreateRecordsResponse response;
  grpc::ClientContext context;
  context.set_deadline(In(absl::Seconds(20)));
  const grpc::Status status =
      suite.stub().BatchCreateRecords(&context, too_large, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("10001"));
}

TEST(CooperationProcessTest, RegistryOutages) {
  Suite suite({"--registry_max_staleness=500ms"});
  ASSERT_NO_FATAL_FAILURE(suite.Start());
  ASSERT_TRUE(suite.Create(Record("before", "AT")).ok());

  // Stopped registry: once the copy is stale, writes are UNAVAILABLE within
  // their deadline; reads keep working.
  suite.registry().process().Kill();
  absl::SleepFor(absl::Seconds(1));
  v1::CreateRecordRequest request;
  *request.mutable_record() = Record("during", "AT");
  v1::CreateRecordResponse response;
  grpc::ClientContext context;
  context.set_deadline(In(absl::Seconds(2)));
  const absl::Time start = absl::Now();
  const grpc::Status status =
      suite.stub().CreateRecord(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << status.error_message();
  EXPECT_LT(absl::Now() - start, absl::Seconds(4));
  EXPECT_EQ(suite.AllIds(), std::set<std::string>{"before"});

  // A cold start without the registry: the same.
  ASSERT_NO_FATAL_FAILURE(suite.RestartCooperation());
  grpc::ClientContext cold;
  cold.set_deadline(In(absl::Seconds(1)));
  EXPECT_EQ(suite.stub().CreateRecord(&cold, request, &response).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(suite.AllIds(), std::set<std::string>{"before"});
}

TEST(CooperationProcessTest, WatchResumesExactlyOnceAndRelistsWhenCompacted) {
  Suite suite({"--history_revisions=20"});
  ASSERT_NO_FATAL_FAILURE(suite.Start());
  std::atomic<bool> writing{true};
  std::set<std::string> written;
  absl::Mutex written_mu;
  std::thread writer([&] {
    for (int i = 0; i < 40; ++i) {
      const std::string id = absl::StrCat("w", i);
      if (suite.Create(Record(id, "BE")).ok()) {
        absl::MutexLock lock(&written_mu);
        written.insert(id);
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
    writing = false;
  });

  // A consumer that hangs up after every few changes and resumes from the
  // last revision it saw.
  std::vector<int64_t> revisions;
  std::vector<std::string> seen;
  int64_t last = 0;
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (absl::Now() < give_up) {
    grpc::ClientContext context;
    context.set_deadline(In(absl::Seconds(2)));
    v1::WatchRequest request;
    request.set_from_revision(last);
    auto reader = suite.stub().Watch(&context, request);
    v1::WatchResponse message;
    int taken = 0;
    while (taken < 3 && reader->Read(&message)) {
      for (const auto& change : message.changes()) {
        revisions.push_back(change.revision());
        seen.push_back(change.record().id());
        last = change.revision();
      }
      ++taken;
    }
    context.TryCancel();
    reader->Finish();
    if (!writing && seen.size() >= 40) break;
  }
  writer.join();
  ASSERT_EQ(seen.size(), 40u);
  for (size_t i = 1; i < revisions.size(); ++i) {
    EXPECT_EQ(revisions[i], revisions[i - 1] + 1) << "in order, no gap";
  }
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), written)
      << "every change exactly once";

  // Revision 5 is no longer kept (40 revisions, 20 kept): OUT_OF_RANGE,
  // and a list gives the whole state to watch on from.
  grpc::ClientContext old_context;
  old_context.set_deadline(In(absl::Seconds(5)));
  v1::WatchRequest old;
  old.set_from_revision(5);
  auto old_reader = suite.stub().Watch(&old_context, old);
  v1::WatchResponse message;
  while (old_reader->Read(&message)) {
  }
  EXPECT_EQ(old_reader->Finish().error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_EQ(suite.AllIds(), written);
}

TEST(CooperationProcessTest, BatchesSurviveKillNineWholeOrNotAtAll) {
  Suite suite;
  ASSERT_NO_FATAL_FAILURE(suite.Start());
  constexpr int kBatch = 2000;
  std::mt19937 random(16072025);
  std::map<std::string, bool> batches;  // batch prefix → acknowledged
  for (int round = 0; round < 10; ++round) {
    std::vector<std::pair<std::string, bool>> attempts;
    absl::Mutex mu;
    absl::Notification first;
    std::thread writer([&] {
      for (int b = 0; b < 1000; ++b) {
        const std::string prefix = absl::StrCat("k", round, "-", b, "-");
        v1::BatchCreateRecordsRequest request;
        for (int i = 0; i < kBatch; ++i) {
          *request.add_records() =
              Record(absl::StrCat(prefix, i), i % 2 ? "IT" : "ES");
        }
        {
          absl::MutexLock lock(&mu);
          attempts.emplace_back(prefix, false);
        }
        v1::BatchCreateRecordsResponse response;
        grpc::ClientContext context;
        context.set_deadline(In(absl::Seconds(10)));
        if (!suite.stub()
                 .BatchCreateRecords(&context, request, &response)
                 .ok()) {
          return;
        }
        {
          absl::MutexLock lock(&mu);
          attempts.back().second = true;
        }
        if (!first.HasBeenNotified()) first.Notify();
      }
    });
    // The kill lands at a random point of the writes, counted from the first
    // acknowledged batch: a slow start (a sanitized build, a loaded machine)
    // must not leave a round with nothing to check.
    first.WaitForNotificationWithTimeout(absl::Seconds(60));
    absl::SleepFor(absl::Milliseconds(
        std::uniform_int_distribution<int>(200, 900)(random)));
    suite.cooperation().process().Kill();
    writer.join();
    for (const auto& [prefix, acknowledged] : attempts) {
      batches[prefix] = acknowledged;
    }
    ASSERT_NO_FATAL_FAILURE(suite.RestartCooperation());

    std::map<std::string, int> present;
    for (const auto& id : suite.AllIds()) {
      present[id.substr(0, id.rfind('-') + 1)]++;
    }
    int acknowledged_batches = 0;
    for (const auto& [prefix, acknowledged] : batches) {
      const int count = present.count(prefix) ? present[prefix] : 0;
      EXPECT_TRUE(count == 0 || count == kBatch)
          << "batch " << prefix << " is partly there: " << count;
      if (acknowledged) {
        ++acknowledged_batches;
        EXPECT_EQ(count, kBatch) << "acknowledged batch " << prefix << " lost";
      }
    }
    EXPECT_GT(acknowledged_batches, 0);
  }
}

}  // namespace
}  // namespace thb
