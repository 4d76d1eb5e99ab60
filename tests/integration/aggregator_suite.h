#ifndef THB_TESTS_INTEGRATION_AGGREGATOR_SUITE_H_
#define THB_TESTS_INTEGRATION_AGGREGATOR_SUITE_H_

// What the aggregator's process tests share: the study, the Redis secrets,
// and the whole suite as real processes (registry, cooperation with the
// study imported, a real redis-server, aggregators on demand). Needs
// THB_STUDY_DATASET and the binaries' paths (THB_REGISTRY_BIN, ...) defined.

#include <chrono>
#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "domain/dataset.h"
#include "domain/record_filter.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "tests/support/redis_server.h"
#include "tests/support/servers.h"
#include "tests/support/test_pki.h"
#include "thb/cooperation/v1/cooperation_service.grpc.pb.h"
#include "thb/stats/v1/stats_service.grpc.pb.h"

namespace thb::testing {

namespace coop = ::thb::cooperation::v1;
namespace stats = ::thb::stats::v1;

inline std::chrono::system_clock::time_point In(absl::Duration duration) {
  return absl::ToChronoTime(absl::Now() + duration);
}

inline const coop::Dataset& Study() {
  static const auto* dataset = [] {
    auto loaded = domain::LoadDataset(THB_STUDY_DATASET);
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    return new coop::Dataset(std::move(*loaded));
  }();
  return *dataset;
}

inline const coop::Statement& Statement(int footnote) {
  for (const auto& statement : Study().statements()) {
    if (statement.footnote() == footnote) return statement;
  }
  ADD_FAILURE() << "no statement for footnote " << footnote;
  return Study().statements(0);
}

inline stats::CountryQuery FilterQuery(const coop::RecordFilter& filter) {
  stats::CountryQuery query;
  *query.mutable_filter() = domain::ToStatsFilter(filter);
  return query;
}

constexpr char kRedisPassword[] = "suite-redis-password-2a9f";
constexpr char kHmacKey[] = "suite-cache-hmac-key-of-40-bytes-6c1d0e";

// Writes `content` to a file in `dir` and returns its path.
inline std::string WriteFile(const std::string& dir, const std::string& name,
                             const std::string& content) {
  const std::string path = absl::StrCat(dir, "/", name);
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

class SuiteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = thb::testing::MakeTempDir("aggregator");
    thb::testing::RedisServerOptions redis_options;
    redis_options.password = kRedisPassword;
    auto redis = thb::testing::RedisServer::Start(redis_options);
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = std::move(*redis);
    // As `echo` writes it: the trailing newline is not the password's.
    password_file_ =
        WriteFile(dir_, "redis-password", absl::StrCat(kRedisPassword, "\n"));
    key_file_ = WriteFile(dir_, "cache-hmac-key", kHmacKey);
    registry_ =
        std::make_unique<ServerProcess>(THB_REGISTRY_BIN, dir_, "registry");
    ASSERT_TRUE(registry_->Start().ok());
    cooperation_ = std::make_unique<ServerProcess>(
        THB_COOPERATION_BIN, dir_, "cooperation",
        std::vector<std::string>{
            absl::StrCat("--registry=", registry_->address())});
    ASSERT_TRUE(cooperation_->Start().ok());
    cooperation_stub_ = coop::CooperationRecordService::NewStub(
        thb::testing::TestChannel(cooperation_->address()));
    ASSERT_NO_FATAL_FAILURE(Import());
  }

  void Import() {
    coop::BatchCreateRecordsRequest request;
    *request.mutable_records() = Study().records();
    coop::BatchCreateRecordsResponse response;
    grpc::ClientContext context;
    context.set_deadline(In(absl::Seconds(20)));
    const grpc::Status status =
        cooperation_stub_->BatchCreateRecords(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    imported_revision_ = response.revision();
  }

  // Starts `count` aggregators; returns their addresses joined by commas.
  std::string StartAggregators(int count) {
    std::vector<std::string> addresses;
    for (int i = 0; i < count; ++i) {
      auto server = std::make_unique<ServerProcess>(
          THB_AGGREGATOR_BIN, dir_, absl::StrCat("aggregator", i),
          std::vector<std::string>{
              absl::StrCat("--registry=", registry_->address()),
              absl::StrCat("--cooperation=", cooperation_->address()),
              absl::StrCat("--redis=", redis_->address()),
              absl::StrCat("--redis_password_file=", password_file_),
              absl::StrCat("--cache_hmac_key_file=", key_file_),
              "--redis_timeout=100ms"},
          /*with_db=*/false);
      auto started = server->Start();
      EXPECT_TRUE(started.ok()) << started;
      addresses.push_back(server->address());
      aggregators_.push_back(std::move(server));
    }
    return absl::StrJoin(addresses, ",");
  }

  stats::CountCountriesResponse Count(stats::StatisticsService::Stub& stub,
                                      const stats::CountryQuery& query,
                                      int64_t min_revision = 0,
                                      const std::string& as_of = "2025-07-16") {
    stats::CountCountriesRequest request;
    *request.mutable_query() = query;
    request.set_as_of_date(as_of);
    request.set_min_cooperation_revision(min_revision);
    stats::CountCountriesResponse response;
    grpc::ClientContext context;
    context.set_deadline(In(absl::Seconds(15)));
    const grpc::Status status =
        stub.CountCountries(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  std::string dir_;
  std::string password_file_;
  std::string key_file_;
  std::unique_ptr<thb::testing::RedisServer> redis_;
  std::unique_ptr<ServerProcess> registry_;
  std::unique_ptr<ServerProcess> cooperation_;
  std::unique_ptr<coop::CooperationRecordService::Stub> cooperation_stub_;
  std::vector<std::unique_ptr<ServerProcess>> aggregators_;
  int64_t imported_revision_ = 0;
};

}  // namespace thb::testing

#endif  // THB_TESTS_INTEGRATION_AGGREGATOR_SUITE_H_
