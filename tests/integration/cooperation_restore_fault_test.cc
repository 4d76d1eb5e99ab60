// Fault: the cooperation store is killed and restored from an older copy
// while an aggregator follows it. The aggregator must end up answering what
// a fresh aggregator started afterwards answers, from its index and from
// the Redis cache they share, even once the restored store reaches
// revisions the aggregator had already seen with other data.

#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "domain/dataset.h"
#include "domain/record_filter.h"
#include "gtest/gtest.h"
#include "tests/support/redis_server.h"
#include "tests/support/servers.h"
#include "tests/support/test_pki.h"
#include "thb/cooperation/v1/cooperation_service.grpc.pb.h"
#include "thb/stats/v1/stats_service.grpc.pb.h"

namespace thb {
namespace {

using ::thb::testing::ServerProcess;
namespace coop = ::thb::cooperation::v1;
namespace stats = ::thb::stats::v1;

constexpr char kRedisPassword[] = "restore-redis-password-51c3";
constexpr char kHmacKey[] = "restore-cache-hmac-key-of-40-bytes-9e2b7";

std::chrono::system_clock::time_point In(absl::Duration duration) {
  return absl::ToChronoTime(absl::Now() + duration);
}

std::string WriteFile(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

const coop::Dataset& Study() {
  static const auto* dataset = [] {
    auto loaded = domain::LoadDataset(THB_STUDY_DATASET);
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    return new coop::Dataset(std::move(*loaded));
  }();
  return *dataset;
}

// A good practice in prevention: moves the study's footnote 10 (13).
coop::CooperationRecord Prevention(const std::string& id,
                                   const std::string& country) {
  coop::CooperationRecord record;
  record.set_id(id);
  record.set_reporting_country(country);
  record.set_kind(coop::RECORD_KIND_GOOD_PRACTICE);
  record.add_thematic_areas(coop::THEMATIC_AREA_PREVENTION);
  record.add_sources()->set_citation("restore test");
  return record;
}

class CooperationRestoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = thb::testing::MakeTempDir("restore");
    db_ = dir_ + "/cooperation.sqlite3";
    thb::testing::RedisServerOptions redis_options;
    redis_options.password = kRedisPassword;
    auto redis = thb::testing::RedisServer::Start(redis_options);
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = std::move(*redis);
    password_file_ = WriteFile(dir_ + "/redis-password", kRedisPassword);
    key_file_ = WriteFile(dir_ + "/cache-hmac-key", kHmacKey);
    registry_ =
        std::make_unique<ServerProcess>(THB_REGISTRY_BIN, dir_, "registry");
    ASSERT_TRUE(registry_->Start().ok());
    ASSERT_NO_FATAL_FAILURE(StartCooperation());
  }

  // Starts the cooperation service on `db_`, on the port of its first start
  // when it was started before, so followers find it where it was.
  void StartCooperation() {
    std::vector<std::string> args = {
        absl::StrCat("--registry=", registry_->address())};
    if (port_ != 0) args.push_back(absl::StrCat("--port=", port_));
    // A new ServerProcess counts its starts from 1 again: the port files of
    // the last start must not be taken for this one's.
    for (const char* file :
         {"/cooperation.port-1", "/cooperation.health-port-1"}) {
      std::filesystem::remove(dir_ + file);
    }
    cooperation_ = std::make_unique<ServerProcess>(THB_COOPERATION_BIN, dir_,
                                                   "cooperation", args);
    const absl::Status started = cooperation_->Start();
    ASSERT_TRUE(started.ok()) << started;
    port_ = cooperation_->port();
    stub_ = coop::CooperationRecordService::NewStub(
        thb::testing::TestChannel(cooperation_->address()));
  }

  int64_t Write(const std::vector<coop::CooperationRecord>& records) {
    coop::BatchCreateRecordsRequest request;
    for (const auto& record : records) *request.add_records() = record;
    coop::BatchCreateRecordsResponse response;
    grpc::ClientContext context;
    context.set_deadline(In(absl::Seconds(20)));
    const grpc::Status status =
        stub_->BatchCreateRecords(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.revision();
  }

  std::unique_ptr<stats::StatisticsService::Stub> StartAggregator(
      const std::string& name) {
    aggregators_.push_back(std::make_unique<ServerProcess>(
        THB_AGGREGATOR_BIN, dir_, name,
        std::vector<std::string>{
            absl::StrCat("--registry=", registry_->address()),
            absl::StrCat("--cooperation=", cooperation_->address()),
            absl::StrCat("--redis=", redis_->address()),
            absl::StrCat("--redis_password_file=", password_file_),
            absl::StrCat("--cache_hmac_key_file=", key_file_),
            "--redis_timeout=100ms"},
        /*with_db=*/false));
    const absl::Status started = aggregators_.back()->Start();
    EXPECT_TRUE(started.ok()) << started;
    return stats::StatisticsService::NewStub(
        thb::testing::TestChannel(aggregators_.back()->address()));
  }

  // The countries of the study's footnotes 7, 10 and 11, and the answers'
  // cooperation revisions, as one string; "" when an answer failed.
  static std::string Answers(stats::StatisticsService::Stub& stub,
                             int64_t min_revision) {
    std::string answers;
    for (const auto& statement : Study().statements()) {
      const int footnote = statement.footnote();
      if (footnote != 7 && footnote != 10 && footnote != 11) continue;
      stats::CountCountriesRequest request;
      *request.mutable_query()->mutable_filter() =
          domain::ToStatsFilter(statement.filter());
      request.set_as_of_date("2025-07-16");
      request.set_min_cooperation_revision(min_revision);
      stats::CountCountriesResponse response;
      grpc::ClientContext context;
      context.set_deadline(In(absl::Seconds(5)));
      if (!stub.CountCountries(&context, request, &response).ok()) return "";
      absl::StrAppend(&answers, footnote, ": ", response.footnote(), " @",
                      response.as_of().cooperation_revision(), "\n");
    }
    return answers;
  }

  // Answers, retried while they fail: a follower may take a few seconds to
  // find a restarted service again (gRPC's reconnect backoff) and list it.
  static std::string EventualAnswers(stats::StatisticsService::Stub& stub,
                                     int64_t min_revision) {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    std::string answers;
    while (answers.empty() && absl::Now() < deadline) {
      answers = Answers(stub, min_revision);
    }
    return answers;
  }

  std::string dir_;
  std::string db_;
  std::string password_file_;
  std::string key_file_;
  int port_ = 0;
  std::unique_ptr<thb::testing::RedisServer> redis_;
  std::unique_ptr<ServerProcess> registry_;
  std::unique_ptr<ServerProcess> cooperation_;
  std::unique_ptr<coop::CooperationRecordService::Stub> stub_;
  std::vector<std::unique_ptr<ServerProcess>> aggregators_;
};

TEST_F(CooperationRestoreTest, TheAggregatorConvergesToAFreshOnesAnswers) {
  std::vector<coop::CooperationRecord> study(Study().records().begin(),
                                             Study().records().end());
  const int64_t imported = Write(study);
  ASSERT_GT(imported, 0);
  auto follower = StartAggregator("follower");
  const std::string at_backup = EventualAnswers(*follower, imported);
  ASSERT_NE(at_backup, "");

  // A copy taken while the service is stopped.
  ASSERT_TRUE(cooperation_->process().Signal(SIGTERM, absl::Seconds(20)).ok());
  std::filesystem::copy_file(db_, dir_ + "/backup.sqlite3");
  ASSERT_NO_FATAL_FAILURE(StartCooperation());

  // Writes the backup does not have; the follower answers them (and caches
  // its answers under their revisions).
  const int64_t lost_first = Write({Prevention("lost-mt", "MT")});
  const int64_t lost_last = Write({Prevention("lost-ie", "IE")});
  ASSERT_EQ(lost_last, imported + 2);
  const std::string lost = EventualAnswers(*follower, lost_last);
  ASSERT_NE(lost, "");
  ASSERT_NE(lost, at_backup);
  ASSERT_NE(EventualAnswers(*follower, lost_first), "");

  // Killed, restored from the copy, restarted; then other writes take it
  // back to the very revisions the follower answered with other data.
  cooperation_->process().Kill();
  std::filesystem::copy_file(dir_ + "/backup.sqlite3", db_,
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::remove(db_ + "-wal");
  std::filesystem::remove(db_ + "-shm");
  ASSERT_NO_FATAL_FAILURE(StartCooperation());
  ASSERT_EQ(Write({Prevention("after-lu", "LU")}), lost_first);
  ASSERT_EQ(Write({Prevention("after-si", "SI")}), lost_last);

  auto fresh = StartAggregator("fresh");
  const std::string expected = EventualAnswers(*fresh, lost_last);
  ASSERT_NE(expected, "");
  ASSERT_NE(expected, lost);

  std::string answered;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    answered = Answers(*follower, lost_last);
    if (answered == expected) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(answered, expected);
}

}  // namespace
}  // namespace thb
