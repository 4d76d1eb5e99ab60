// Faults with real processes: the disk under the cooperation store fills up;
// the registry dies while cooperation and the aggregator follow it.

#include <errno.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "tests/support/servers.h"
#include "tests/support/test_pki.h"
#include "thb/cooperation/v1/cooperation_service.grpc.pb.h"
#include "thb/registry/v1/registry_service.grpc.pb.h"
#include "thb/stats/v1/stats_service.grpc.pb.h"

namespace thb {
namespace {

using ::thb::testing::ServerProcess;
namespace coop = ::thb::cooperation::v1;
namespace reg = ::thb::registry::v1;
namespace stats = ::thb::stats::v1;
using HealthResponse = ::grpc::health::v1::HealthCheckResponse;

std::chrono::system_clock::time_point In(absl::Duration duration) {
  return absl::ToChronoTime(absl::Now() + duration);
}

coop::CooperationRecord Record(const std::string& id,
                               const std::string& region = "") {
  coop::CooperationRecord record;
  record.set_id(id);
  record.set_reporting_country("AT");
  record.set_kind(coop::RECORD_KIND_MEASURE);
  record.add_thematic_areas(coop::THEMATIC_AREA_LAW_ENFORCEMENT);
  record.set_form(coop::COOPERATION_FORM_OPERATIONAL_AD_HOC);
  record.set_title(absl::StrCat("Measure ", id));
  // Some bulk, so that a few hundred writes fill the disk.
  record.set_description(std::string(4000, 'd'));
  if (!region.empty()) record.add_target_regions(region);
  auto* source = record.add_sources();
  source->set_citation("Test source");
  source->set_footnote(16);
  return record;
}

grpc::Status Create(coop::CooperationRecordService::Stub& stub,
                    const coop::CooperationRecord& record) {
  coop::CreateRecordRequest request;
  *request.mutable_record() = record;
  coop::CreateRecordResponse response;
  grpc::ClientContext context;
  context.set_deadline(In(absl::Seconds(10)));
  return stub.CreateRecord(&context, request, &response);
}

grpc::Status Get(coop::CooperationRecordService::Stub& stub,
                 const std::string& id) {
  coop::GetRecordRequest request;
  request.set_id(id);
  coop::GetRecordResponse response;
  grpc::ClientContext context;
  context.set_deadline(In(absl::Seconds(10)));
  grpc::Status status = stub.GetRecord(&context, request, &response);
  if (status.ok() && response.record().id() != id) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "another record");
  }
  return status;
}

// --- The disk fills up under SQLite ----------------------------------------

// The size of the filesystem the cooperation store lives on: room for the
// store and a few hundred records, then full.
constexpr char kSmallDisk[] = "size=6m,mode=0700";

class DiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = thb::testing::MakeTempDir("disk-full");
    disk_ = absl::StrCat(dir_, "/disk");
    ASSERT_EQ(mkdir(disk_.c_str(), 0700), 0);
    if (mount("tmpfs", disk_.c_str(), "tmpfs", 0, kSmallDisk) != 0) {
      GTEST_SKIP() << "cannot mount a small tmpfs at " << disk_ << " ("
                   << std::strerror(errno)
                   << "): the disk-full test needs root or CAP_SYS_ADMIN";
    }
    mounted_ = true;
  }

  void TearDown() override {
    cooperation_.reset();
    if (mounted_) umount2(disk_.c_str(), MNT_DETACH);
  }

  std::string dir_;
  std::string disk_;
  bool mounted_ = false;
  std::unique_ptr<ServerProcess> cooperation_;
};

TEST_F(DiskFullTest, WritesAnswerUnavailableLoseNothingAndRecover) {
  ServerProcess registry(THB_REGISTRY_BIN, dir_, "registry");
  ASSERT_TRUE(registry.Start().ok());
  // The store's files on the small disk; the process's ports and logs not.
  cooperation_ = std::make_unique<ServerProcess>(
      THB_COOPERATION_BIN, dir_, "cooperation",
      std::vector<std::string>{
          absl::StrCat("--registry=", registry.address()),
          absl::StrCat("--db=", disk_, "/cooperation.sqlite3")});
  ASSERT_TRUE(cooperation_->Start().ok());
  auto stub = coop::CooperationRecordService::NewStub(
      thb::testing::TestChannel(cooperation_->address()));

  // Most of the disk taken by a file that can be deleted later.
  const std::string filler = absl::StrCat(disk_, "/filler");
  {
    std::ofstream out(filler, std::ios::binary);
    const std::string megabyte(1 << 20, 'f');
    for (int i = 0; i < 4; ++i) out << megabyte;
  }

  std::vector<std::string> acknowledged;
  grpc::Status refused;
  for (int i = 0; i < 2000 && refused.ok(); ++i) {
    const std::string id = absl::StrCat("r", i);
    const grpc::Status status = Create(*stub, Record(id));
    if (status.ok()) {
      acknowledged.push_back(id);
    } else {
      refused = status;
    }
  }
  ASSERT_FALSE(refused.ok()) << "the disk never filled up";
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE)
      << refused.error_message();
  ASSERT_GT(acknowledged.size(), 10u);
  std::cerr << acknowledged.size() << " writes acknowledged before the disk "
            << "was full; then: " << refused.error_message() << "\n";
  // Still full: every write is refused the same way, and the process lives.
  for (int i = 0; i < 5; ++i) {
    const grpc::Status status = Create(*stub, Record(absl::StrCat("full", i)));
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
        << status.error_message();
  }
  EXPECT_TRUE(cooperation_->running()) << cooperation_->process().Log();
  for (const std::string& id : acknowledged) {
    const grpc::Status status = Get(*stub, id);
    EXPECT_TRUE(status.ok()) << id << ": " << status.error_message();
  }

  // Space again: writes succeed without a restart.
  ASSERT_EQ(unlink(filler.c_str()), 0);
  grpc::Status after;
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  do {
    after = Create(*stub, Record("after"));
    if (!after.ok()) absl::SleepFor(absl::Milliseconds(100));
  } while (!after.ok() && absl::Now() < give_up);
  EXPECT_TRUE(after.ok()) << after.error_message();
  if (after.ok()) acknowledged.push_back("after");

  // And everything acknowledged survives a crash.
  ASSERT_TRUE(cooperation_->Start().ok());
  stub = coop::CooperationRecordService::NewStub(
      thb::testing::TestChannel(cooperation_->address()));
  for (const std::string& id : acknowledged) {
    const grpc::Status status = Get(*stub, id);
    EXPECT_TRUE(status.ok()) << id << ": " << status.error_message();
  }
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(Get(*stub, absl::StrCat("full", i)).error_code(),
              grpc::StatusCode::NOT_FOUND)
        << "a refused write was not stored";
  }
}

// --- The registry dies while its followers run -------------------------------

TEST(RegistryOutageTest, FollowersKeepAnsweringAndConvergeOnceItIsBack) {
  const std::string dir = thb::testing::MakeTempDir("registry-outage");
  auto registry =
      std::make_unique<ServerProcess>(THB_REGISTRY_BIN, dir, "registry");
  ASSERT_TRUE(registry->Start().ok());
  const int registry_port = registry->port();
  ServerProcess cooperation(THB_COOPERATION_BIN, dir, "cooperation",
                            {absl::StrCat("--registry=", registry->address()),
                             "--registry_max_staleness=2s"});
  ASSERT_TRUE(cooperation.Start().ok());
  ServerProcess aggregator(
      THB_AGGREGATOR_BIN, dir, "aggregator",
      {absl::StrCat("--registry=", registry->address()),
       absl::StrCat("--cooperation=", cooperation.address()), "--redis="},
      /*with_db=*/false);
  ASSERT_TRUE(aggregator.Start().ok());
  auto records = coop::CooperationRecordService::NewStub(
      thb::testing::TestChannel(cooperation.address()));
  auto statistics = stats::StatisticsService::NewStub(
      thb::testing::TestChannel(aggregator.address()));
  const std::string stats_name = "thb.stats.v1.StatisticsService";
  const std::string coop_name = "thb.cooperation.v1.CooperationRecordService";

  ASSERT_TRUE(Create(*records, Record("before")).ok());
  // Countries with a record targeting `region`, as the aggregator answers.
  auto count = [&](const std::string& region, int64_t min_revision,
                   stats::CountCountriesResponse* response) {
    stats::CountCountriesRequest request;
    request.mutable_query()->mutable_filter()->add_target_regions(region);
    request.set_min_cooperation_revision(min_revision);
    grpc::ClientContext context;
    context.set_deadline(In(absl::Seconds(10)));
    return statistics->CountCountries(&context, request, response);
  };
  const absl::Time ready_by = absl::Now() + absl::Seconds(20);
  while (testing::HealthPortStatus(aggregator.health_port(), stats_name) !=
             HealthResponse::SERVING &&
         absl::Now() < ready_by) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  stats::CountCountriesResponse before;
  ASSERT_TRUE(count("SAHEL", 0, &before).ok());

  registry->process().Kill();
  absl::SleepFor(absl::Seconds(3));  // past --registry_max_staleness

  // Both keep answering reads from their copies, and stay ready: readiness
  // waits for the first sync only (README, "Troubleshooting").
  stats::CountCountriesResponse during;
  const grpc::Status counted = count("SAHEL", 0, &during);
  EXPECT_TRUE(counted.ok()) << counted.error_message();
  EXPECT_EQ(during.count(), before.count());
  EXPECT_TRUE(Get(*records, "before").ok());
  EXPECT_EQ(testing::HealthPortStatus(aggregator.health_port(), stats_name),
            HealthResponse::SERVING);
  EXPECT_EQ(testing::HealthPortStatus(cooperation.health_port(), coop_name),
            HealthResponse::SERVING);
  // A write needs codes no older than the staleness bound: refused, and
  // retryable.
  EXPECT_EQ(Create(*records, Record("during")).error_code(),
            grpc::StatusCode::UNAVAILABLE);

  // The registry back on its address, with its data; a region created there
  // reaches both followers.
  registry = std::make_unique<ServerProcess>(
      THB_REGISTRY_BIN, dir, "registry",
      std::vector<std::string>{absl::StrCat("--port=", registry_port)});
  ASSERT_TRUE(registry->Start().ok());
  auto regions = reg::CountryRegistryService::NewStub(
      thb::testing::TestChannel(registry->address()));
  reg::CreateRegionRequest create_region;
  create_region.mutable_region()->set_id("OUTAGE_TEST");
  create_region.mutable_region()->set_name("Outage test");
  create_region.mutable_region()->add_country_codes("MA");
  reg::CreateRegionResponse created_region;
  {
    grpc::ClientContext context;
    context.set_deadline(In(absl::Seconds(10)));
    const grpc::Status status =
        regions->CreateRegion(&context, create_region, &created_region);
    ASSERT_TRUE(status.ok()) << status.error_message() << "\n"
                             << registry->process().Log();
  }
  grpc::Status written;
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  do {
    written = Create(*records, Record("after", "OUTAGE_TEST"));
    if (!written.ok()) absl::SleepFor(absl::Milliseconds(200));
  } while (!written.ok() && absl::Now() < give_up);
  ASSERT_TRUE(written.ok())
      << "cooperation did not converge: " << written.error_message();
  stats::CountCountriesResponse after;
  grpc::Status converged;
  do {
    converged = count("OUTAGE_TEST", 0, &after);
    if (!converged.ok() || after.count() != 1) {
      absl::SleepFor(absl::Milliseconds(200));
    }
  } while ((!converged.ok() || after.count() != 1) && absl::Now() < give_up);
  EXPECT_TRUE(converged.ok()) << converged.error_message();
  EXPECT_EQ(after.count(), 1) << "the aggregator did not converge";
  EXPECT_GE(after.as_of().registry_revision(),
            created_region.region().revision());
}

}  // namespace
}  // namespace thb
