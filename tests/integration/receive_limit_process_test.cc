// Each service's receive limit on real processes: a request at the limit
// gets through (for cooperation, the largest legal batch), a request one
// byte over it is refused by gRPC with RESOURCE_EXHAUSTED before any
// handler sees it.

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/unknown_field_set.h"
#include "gtest/gtest.h"
#include "services/aggregator/receive_limit.h"
#include "services/cooperation/cooperation_core.h"
#include "services/cooperation/record_validation.h"
#include "services/registry/registry_core.h"
#include "tests/support/servers.h"
#include "tests/support/test_pki.h"
#include "thb/cooperation/v1/cooperation_service.grpc.pb.h"
#include "thb/registry/v1/registry_service.grpc.pb.h"
#include "thb/stats/v1/stats_service.grpc.pb.h"

namespace thb {
namespace {

using ::thb::testing::ServerProcess;
namespace coop = ::thb::cooperation::v1;

// Appends to `*text` until `message` serializes to exactly `bytes`.
void GrowTo(const google::protobuf::Message& message, std::string* text,
            size_t bytes) {
  while (message.ByteSizeLong() < bytes) {
    text->append(bytes - message.ByteSizeLong(), 'x');
  }
  // A length prefix that grew by a byte may overshoot.
  while (message.ByteSizeLong() > bytes) text->pop_back();
  ASSERT_EQ(message.ByteSizeLong(), bytes);
}

// A field no service knows: it travels and is dropped, so a request padded
// with it is as legal as without, and no answer echoes it.
std::string* Padding(google::protobuf::Message& message) {
  auto* unknown = message.GetReflection()->MutableUnknownFields(&message);
  for (int i = 0; i < unknown->field_count(); ++i) {
    if (unknown->field(i).number() == 9999) {
      return unknown->mutable_field(i)->mutable_length_delimited();
    }
  }
  return unknown->AddLengthDelimited(9999);
}

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
  return context;
}

coop::CooperationRecord Record(const std::string& id) {
  coop::CooperationRecord record;
  record.set_id(id);
  record.set_reporting_country("FR");
  record.set_kind(coop::RECORD_KIND_MEASURE);
  record.add_sources()->set_citation("Test source");
  return record;
}

class ReceiveLimitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = thb::testing::MakeTempDir("receive-limit");
    registry_ =
        std::make_unique<ServerProcess>(THB_REGISTRY_BIN, dir_, "registry");
    ASSERT_TRUE(registry_->Start().ok());
    cooperation_ = std::make_unique<ServerProcess>(
        THB_COOPERATION_BIN, dir_, "cooperation",
        std::vector<std::string>{
            absl::StrCat("--registry=", registry_->address())});
    ASSERT_TRUE(cooperation_->Start().ok());
  }

  std::string dir_;
  std::unique_ptr<ServerProcess> registry_;
  std::unique_ptr<ServerProcess> cooperation_;
};

TEST_F(ReceiveLimitTest, CooperationTakesItsLargestBatchAndNoMore) {
  auto stub = coop::CooperationRecordService::NewStub(
      thb::testing::TestChannel(cooperation_->address()));
  // The largest batch the core accepts: records of kMaxRecordBytes up to
  // kMaxBatchBytes, with the longest request id.
  coop::BatchCreateRecordsRequest largest;
  largest.set_request_id(std::string(64, 'r'));
  size_t bytes = 0;
  while (bytes < cooperation::kMaxBatchBytes) {
    coop::CooperationRecord* record = largest.add_records();
    *record = Record(absl::StrCat("big-", largest.records_size()));
    const size_t target = std::min(cooperation::kMaxRecordBytes,
                                   cooperation::kMaxBatchBytes - bytes);
    // Sources carry the bytes: each citation is capped far below a record.
    while (record->ByteSizeLong() < target) {
      std::string* citation = record->add_sources()->mutable_citation();
      citation->assign(1, 'x');
      citation->append(std::min(cooperation::kMaxShortTextLength - 1,
                                target - record->ByteSizeLong()),
                       'x');
    }
    while (record->ByteSizeLong() > target) {
      record->mutable_sources(record->sources_size() - 1)
          ->mutable_citation()
          ->pop_back();
    }
    bytes += record->ByteSizeLong();
  }
  ASSERT_EQ(bytes, cooperation::kMaxBatchBytes);
  ASSERT_LE(largest.ByteSizeLong(),
            static_cast<size_t>(cooperation::kMaxReceiveMessageBytes));
  coop::BatchCreateRecordsResponse created;
  // The registry copy may still be warming up after the start.
  grpc::Status status;
  for (int attempt = 0; attempt < 50; ++attempt) {
    status = stub->BatchCreateRecords(Context().get(), largest, &created);
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(created.records_size(), largest.records_size());

  coop::BatchCreateRecordsRequest over;
  *over.add_records() = Record("over");
  GrowTo(over, over.mutable_records(0)->mutable_description(),
         cooperation::kMaxReceiveMessageBytes + 1);
  coop::BatchCreateRecordsResponse refused;
  status = stub->BatchCreateRecords(Context().get(), over, &refused);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << status.error_message();
}

TEST_F(ReceiveLimitTest, RegistryTakesARequestAtItsLimitAndNoMore) {
  auto stub = registry::v1::CountryRegistryService::NewStub(
      thb::testing::TestChannel(registry_->address()));
  registry::v1::GetCountryRequest at_limit;
  at_limit.set_code("FR");
  GrowTo(at_limit, Padding(at_limit), registry::kMaxRequestBytes);
  registry::v1::GetCountryResponse response;
  grpc::Status status = stub->GetCountry(Context().get(), at_limit, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();

  registry::v1::GetCountryRequest over;
  over.set_code("FR");
  GrowTo(over, Padding(over), registry::kMaxRequestBytes + 1);
  status = stub->GetCountry(Context().get(), over, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << status.error_message();
}

TEST_F(ReceiveLimitTest, AggregatorTakesARequestAtItsLimitAndNoMore) {
  ServerProcess aggregator(
      THB_AGGREGATOR_BIN, dir_, "aggregator",
      {absl::StrCat("--registry=", registry_->address()),
       absl::StrCat("--cooperation=", cooperation_->address()), "--redis="},
      /*with_db=*/false);
  ASSERT_TRUE(aggregator.Start().ok());
  auto stub = stats::v1::StatisticsService::NewStub(
      thb::testing::TestChannel(aggregator.address()));
  stats::v1::CountCountriesRequest at_limit;
  at_limit.mutable_query()->mutable_filter()->add_kinds(
      coop::RECORD_KIND_MEASURE);
  GrowTo(at_limit, Padding(at_limit), aggregator::kMaxReceiveMessageBytes);
  stats::v1::CountCountriesResponse response;
  grpc::Status status;
  // The aggregator answers once its index has synced.
  for (int attempt = 0; attempt < 50; ++attempt) {
    status = stub->CountCountries(Context().get(), at_limit, &response);
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_TRUE(status.ok()) << status.error_message();

  stats::v1::CountCountriesRequest over = at_limit;
  GrowTo(over, Padding(over), aggregator::kMaxReceiveMessageBytes + 1);
  status = stub->CountCountries(Context().get(), over, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << status.error_message();
}

}  // namespace
}  // namespace thb
