// A replica that stops loses no call: three aggregators behind round_robin
// under 16 concurrent callers with the suite's channel (retry on UNAVAILABLE);
// one is sent SIGTERM, or SIGKILL, mid-run, and every call still succeeds.

#include <signal.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/channel.h"
#include "domain/dataset.h"
#include "domain/record_filter.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "tests/support/servers.h"
#include "tests/support/test_pki.h"
#include "thb/cooperation/v1/cooperation_service.grpc.pb.h"
#include "thb/stats/v1/stats_service.grpc.pb.h"

namespace thb {
namespace {

using ::thb::testing::ServerProcess;
namespace coop = ::thb::cooperation::v1;
namespace stats = ::thb::stats::v1;
using HealthResponse = ::grpc::health::v1::HealthCheckResponse;

constexpr int kCallers = 16;
constexpr char kStatsService[] = "thb.stats.v1.StatisticsService";
// What a deployment uses (the flag's default): long enough for clients that
// watch readiness to move away before the server stops accepting.
constexpr char kDrain[] = "--drain=2s";

std::chrono::system_clock::time_point In(absl::Duration duration) {
  return absl::ToChronoTime(absl::Now() + duration);
}

const coop::Dataset& Study() {
  static const auto* dataset = [] {
    auto loaded = domain::LoadDataset(THB_STUDY_DATASET);
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    return new coop::Dataset(std::move(*loaded));
  }();
  return *dataset;
}

// Counts calls and keeps the first failure of each status code.
class Tally {
 public:
  void Add(const grpc::Status& status) {
    ++calls_;
    if (status.ok()) return;
    std::lock_guard<std::mutex> lock(mu_);
    auto [it, inserted] = failures_.try_emplace(status.error_code());
    ++it->second.first;
    if (inserted) it->second.second = status.error_message();
  }
  int calls() const { return calls_.load(); }
  int failed() {
    std::lock_guard<std::mutex> lock(mu_);
    int failed = 0;
    for (const auto& [code, failure] : failures_) failed += failure.first;
    return failed;
  }
  std::string Describe() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> lines;
    for (const auto& [code, failure] : failures_) {
      lines.push_back(absl::StrCat(failure.first, " failed with code ", code,
                                   ", first: ", failure.second));
    }
    return absl::StrCat(calls_.load(), " calls; ", absl::StrJoin(lines, "; "));
  }

 private:
  std::atomic<int> calls_{0};
  std::mutex mu_;
  std::map<int, std::pair<int, std::string>> failures_;
};

class DrainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = thb::testing::MakeTempDir("drain");
    registry_ =
        std::make_unique<ServerProcess>(THB_REGISTRY_BIN, dir_, "registry");
    ASSERT_TRUE(registry_->Start().ok());
    cooperation_ = std::make_unique<ServerProcess>(
        THB_COOPERATION_BIN, dir_, "cooperation",
        std::vector<std::string>{
            absl::StrCat("--registry=", registry_->address())});
    ASSERT_TRUE(cooperation_->Start().ok());
    auto cooperation = coop::CooperationRecordService::NewStub(
        thb::testing::TestChannel(cooperation_->address()));
    coop::BatchCreateRecordsRequest request;
    *request.mutable_records() = Study().records();
    coop::BatchCreateRecordsResponse response;
    grpc::ClientContext context;
    context.set_deadline(In(absl::Seconds(20)));
    const grpc::Status status =
        cooperation->BatchCreateRecords(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    imported_revision_ = response.revision();

    std::vector<std::string> addresses;
    for (int i = 0; i < 3; ++i) {
      auto server = std::make_unique<ServerProcess>(
          THB_AGGREGATOR_BIN, dir_, absl::StrCat("aggregator", i),
          std::vector<std::string>{
              absl::StrCat("--registry=", registry_->address()),
              absl::StrCat("--cooperation=", cooperation_->address()),
              "--redis=", kDrain},
          /*with_db=*/false);
      const absl::Status started = server->Start();
      ASSERT_TRUE(started.ok()) << started;
      addresses.push_back(server->address());
      aggregators_.push_back(std::move(server));
    }
    channel_ = thb::testing::TestChannel(absl::StrJoin(addresses, ","));
    stub_ = stats::StatisticsService::NewStub(channel_);
    // Every replica synced and reached before the load starts.
    const absl::Time give_up = absl::Now() + absl::Seconds(20);
    for (auto& aggregator : aggregators_) {
      while (
          testing::HealthPortStatus(aggregator->health_port(), kStatsService) !=
              HealthResponse::SERVING &&
          absl::Now() < give_up) {
        absl::SleepFor(absl::Milliseconds(50));
      }
    }
    for (int i = 0; i < 6; ++i) {
      ASSERT_TRUE(Call(absl::Seconds(15)).ok());
    }
  }

  grpc::Status Call(absl::Duration timeout, int i = 0) {
    stats::CountCountriesRequest request;
    const auto& statement = Study().statements(i % Study().statements_size());
    *request.mutable_query()->mutable_filter() =
        domain::ToStatsFilter(statement.filter());
    request.set_as_of_date("2025-07-16");
    request.set_min_cooperation_revision(imported_revision_);
    stats::CountCountriesResponse response;
    grpc::ClientContext context;
    context.set_deadline(In(timeout));
    return stub_->CountCountries(&context, request, &response);
  }

  // Runs kCallers callers until `done`, each call recorded in `tally`.
  std::vector<std::thread> StartLoad(std::atomic<bool>& done, Tally& tally) {
    std::vector<std::thread> callers;
    for (int t = 0; t < kCallers; ++t) {
      callers.emplace_back([this, t, &done, &tally] {
        for (int i = t; !done.load(); i += kCallers) {
          tally.Add(Call(absl::Seconds(10), i));
        }
      });
    }
    return callers;
  }

  std::string dir_;
  std::unique_ptr<ServerProcess> registry_;
  std::unique_ptr<ServerProcess> cooperation_;
  std::vector<std::unique_ptr<ServerProcess>> aggregators_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<stats::StatisticsService::Stub> stub_;
  int64_t imported_revision_ = 0;
};

TEST_F(DrainTest, SigtermOfAReplicaUnderLoadLosesNoCall) {
  std::atomic<bool> done{false};
  Tally tally;
  std::vector<std::thread> callers = StartLoad(done, tally);
  absl::SleepFor(absl::Seconds(1));
  // Two replicas stop one after the other: each stop is a chance to lose
  // the calls that arrive while it shuts down.
  for (int stopped = 0; stopped < 2; ++stopped) {
    ServerProcess& replica = *aggregators_[stopped];
    const int health_port = replica.health_port();
    const absl::Time signalled = absl::Now();
    ASSERT_EQ(kill(replica.process().pid(), SIGTERM), 0);
    absl::SleepFor(absl::Milliseconds(300));
    EXPECT_EQ(testing::HealthPortStatus(health_port, kStatsService),
              HealthResponse::NOT_SERVING)
        << "a stopping replica reports NOT_SERVING while it drains";
    const absl::StatusOr<int> code =
        replica.process().Signal(0, absl::Seconds(15));
    ASSERT_TRUE(code.ok()) << code.status();
    EXPECT_EQ(*code, 0) << replica.process().Log();
    EXPECT_LT(absl::Now() - signalled, absl::Seconds(8))
        << "the stop takes the drain and the calls in flight, not the grace";
    absl::SleepFor(absl::Milliseconds(500));
  }
  done = true;
  for (auto& caller : callers) caller.join();
  EXPECT_GT(tally.calls(), 500);
  EXPECT_EQ(tally.failed(), 0) << tally.Describe();
}

TEST_F(DrainTest, SigkillOfAReplicaUnderLoadLosesNoCall) {
  std::atomic<bool> done{false};
  Tally tally;
  std::vector<std::thread> callers = StartLoad(done, tally);
  absl::SleepFor(absl::Seconds(1));
  aggregators_[0]->process().Kill();
  absl::SleepFor(absl::Seconds(2));
  done = true;
  for (auto& caller : callers) caller.join();
  EXPECT_GT(tally.calls(), 500);
  EXPECT_EQ(tally.failed(), 0) << tally.Describe();
}

TEST_F(DrainTest, SigtermEndsWatchStreamsUnavailableAtOnce) {
  auto cooperation = coop::CooperationRecordService::NewStub(
      thb::testing::TestChannel(cooperation_->address()));
  grpc::ClientContext context;
  context.set_deadline(In(absl::Seconds(30)));
  coop::WatchRequest request;
  request.set_from_revision(imported_revision_);
  auto reader = cooperation->Watch(&context, request);
  reader->WaitForInitialMetadata();

  const absl::Time signalled = absl::Now();
  ASSERT_EQ(kill(cooperation_->process().pid(), SIGTERM), 0);
  coop::WatchResponse response;
  while (reader->Read(&response)) {
  }
  const grpc::Status status = reader->Finish();
  const absl::Duration ended = absl::Now() - signalled;
  // UNAVAILABLE: a follower watches again, elsewhere or once it is back,
  // from the last revision it saw; not a cancellation at the grace's end.
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << status.error_message();
  const absl::StatusOr<int> code =
      cooperation_->process().Signal(0, absl::Seconds(15));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0);
  EXPECT_LT(ended, absl::Seconds(2))
      << "the Watch stream was held until the grace ran out (5 s)";
  EXPECT_LT(absl::Now() - signalled, absl::Seconds(8))
      << cooperation_->process().Log();
}

}  // namespace
}  // namespace thb
