// The whole suite as real processes: registry, cooperation, a real
// redis-server and one or three aggregators, with the study imported. The
// study's figures come back exactly, bad queries name the field, a write is
// read back, and replicas share the load and survive a kill.

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/channel.h"
#include "common/errors.h"
#include "common/grpc_status.h"
#include "domain/record_filter.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/aggregator_suite.h"
#include "tests/support/servers.h"
#include "tests/support/test_pki.h"
#include "thb/cooperation/v1/cooperation_service.grpc.pb.h"
#include "thb/stats/v1/stats_service.grpc.pb.h"

namespace thb {
namespace {

using ::testing::HasSubstr;
using ::thb::testing::FilterQuery;
using ::thb::testing::In;
using ::thb::testing::Statement;
using ::thb::testing::Study;
using ::thb::testing::SuiteTest;
namespace coop = ::thb::cooperation::v1;
namespace stats = ::thb::stats::v1;

TEST_F(SuiteTest, EveryFigureOfTheStudyComesBackExactly) {
  auto stub = stats::StatisticsService::NewStub(
      thb::testing::TestChannel(StartAggregators(1)));
  for (const auto& statement : Study().statements()) {
    const auto response =
        Count(*stub, FilterQuery(statement.filter()), imported_revision_);
    EXPECT_EQ(response.count(), statement.count())
        << "footnote " << statement.footnote();
    if (!statement.countries().empty()) {
      EXPECT_EQ(response.footnote(), statement.countries())
          << "footnote " << statement.footnote();
    }
    EXPECT_EQ(response.as_of().cooperation_revision(), imported_revision_);
    EXPECT_GT(response.as_of().registry_revision(), 0);
  }
  const auto fn15 = Count(*stub, FilterQuery(Statement(15).filter()));
  EXPECT_EQ(absl::StrJoin(fn15.countries(), ","),
            "AT,BG,DE,EL,FR,HU,LT,NL,PL,GE,RS")
      << "study order: Members by code, then Observers";
  EXPECT_EQ(fn15.member_count(), 9);
  EXPECT_EQ(fn15.observer_count(), 2);

  // Serbia is an Observer from 2023-03-16: the day before it is not one.
  const auto before =
      Count(*stub, FilterQuery(Statement(15).filter()), 0, "2023-03-15");
  EXPECT_EQ(before.observer_count(), 1);

  stats::ShareRequest share;
  *share.mutable_part() = FilterQuery(Statement(28).filter());
  *share.mutable_whole() = FilterQuery(Statement(27).filter());
  share.set_as_of_date("2025-07-16");
  stats::ShareResponse shared;
  grpc::ClientContext context;
  context.set_deadline(In(absl::Seconds(10)));
  ASSERT_TRUE(stub->Share(&context, share, &shared).ok());
  EXPECT_EQ(shared.part_count(), 5);
  EXPECT_EQ(shared.whole_count(), 9);
  EXPECT_EQ(shared.text(), "5 of 9, 55.6%");
  EXPECT_EQ(shared.part_footnote(), "AT, FR, LV, PL, SI.");
}

TEST_F(SuiteTest, SetAlgebraAndBreakdownOverTheWire) {
  auto stub = stats::StatisticsService::NewStub(
      thb::testing::TestChannel(StartAggregators(1)));
  // Countries cooperating with EU agencies (fn 7) but not with ICMPD
  // (fn 24): fn 7 minus fn 24, computed here from the records' ids.
  auto countries_of = [](int footnote) {
    std::set<std::string> countries;
    for (const auto& record : Study().records()) {
      if (record.sources(0).footnote() == footnote) {
        countries.insert(record.reporting_country());
      }
    }
    return countries;
  };
  std::set<std::string> expected = countries_of(7);
  for (const auto& code : countries_of(24)) expected.erase(code);
  ASSERT_FALSE(expected.empty());
  stats::CountryQuery difference;
  *difference.mutable_difference()->add_queries() =
      FilterQuery(Statement(7).filter());
  *difference.mutable_difference()->add_queries() =
      FilterQuery(Statement(24).filter());
  const auto answer = Count(*stub, difference, imported_revision_);
  EXPECT_EQ(std::set<std::string>(answer.countries().begin(),
                                  answer.countries().end()),
            expected);

  // fn 22 (UNODC) and fn 23 (OSCE) together, and both.
  stats::CountryQuery both;
  *both.mutable_all_of()->add_queries() = FilterQuery(Statement(22).filter());
  *both.mutable_all_of()->add_queries() = FilterQuery(Statement(23).filter());
  stats::CountryQuery either;
  *either.mutable_any_of()->mutable_queries() = both.all_of().queries();
  std::set<std::string> intersection;
  std::set<std::string> unions = countries_of(22);
  for (const auto& code : countries_of(23)) {
    if (countries_of(22).count(code)) intersection.insert(code);
    unions.insert(code);
  }
  EXPECT_EQ(Count(*stub, both).count(), static_cast<int>(intersection.size()));
  EXPECT_EQ(Count(*stub, either).count(), static_cast<int>(unions.size()));

  stats::BreakdownRequest breakdown;
  stats::CountryQuery regions;
  regions.mutable_filter();  // every record
  *breakdown.mutable_query() = regions;
  breakdown.set_dimension(stats::DIMENSION_TARGET_REGION);
  breakdown.set_as_of_date("2025-07-16");
  stats::BreakdownResponse buckets;
  grpc::ClientContext context;
  context.set_deadline(In(absl::Seconds(10)));
  ASSERT_TRUE(stub->Breakdown(&context, breakdown, &buckets).ok());
  std::map<std::string, int> counts;
  for (const auto& bucket : buckets.buckets())
    counts[bucket.value()] = bucket.count();
  EXPECT_EQ(counts, (std::map<std::string, int>{{"SAHEL", 4},
                                                {"HORN_OF_AFRICA", 6},
                                                {"NORTH_AFRICA", 4},
                                                {"EASTERN_EUROPE", 6},
                                                {"WESTERN_BALKANS", 5}}));
}

TEST_F(SuiteTest, ReadYourWritesAndDeadlines) {
  auto stub = stats::StatisticsService::NewStub(
      thb::testing::TestChannel(StartAggregators(1)));
  coop::CreateRecordRequest create;
  auto* record = create.mutable_record();
  record->set_id("new-no");
  record->set_reporting_country("NO");
  record->set_kind(coop::RECORD_KIND_AGREEMENT_EVALUATION);
  auto* source = record->add_sources();
  source->set_citation("Test");
  coop::CreateRecordResponse created;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(
        cooperation_stub_->CreateRecord(&context, create, &created).ok());
  }
  const auto seen = Count(*stub, FilterQuery(Statement(31).filter()),
                          created.record().revision());
  EXPECT_EQ(seen.footnote(), "FR, SI, and NO, RS.");

  // A revision the store has not written is refused at once, however long
  // the caller would wait, naming both revisions.
  for (const int64_t beyond :
       {created.record().revision() + 100, int64_t{1} << 62}) {
    stats::CountCountriesRequest future;
    *future.mutable_query() = FilterQuery(Statement(31).filter());
    future.set_min_cooperation_revision(beyond);
    stats::CountCountriesResponse response;
    grpc::ClientContext context;
    context.set_deadline(In(absl::Seconds(20)));
    const absl::Time start = absl::Now();
    const grpc::Status status =
        stub->CountCountries(&context, future, &response);
    EXPECT_LT(absl::Now() - start, absl::Seconds(2));
    EXPECT_EQ(status.error_code(), grpc::StatusCode::OUT_OF_RANGE)
        << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr(absl::StrCat(beyond)));
    EXPECT_THAT(status.error_message(),
                HasSubstr(absl::StrCat(created.record().revision())));
  }
}

TEST_F(SuiteTest, AFilterWithTooManyValuesIsRefusedNamingTheField) {
  auto stub = stats::StatisticsService::NewStub(
      thb::testing::TestChannel(StartAggregators(1)));
  stats::CountCountriesRequest request;
  for (int i = 0; i <= domain::kMaxFilterValues; ++i) {
    request.mutable_query()->mutable_filter()->add_tags(absl::StrCat("t-", i));
  }
  stats::CountCountriesResponse response;
  grpc::ClientContext context;
  context.set_deadline(In(absl::Seconds(10)));
  const grpc::Status status =
      stub->CountCountries(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  const auto violations = FieldViolations(FromGrpcStatus(status));
  ASSERT_EQ(violations.size(), 1u) << status.error_message();
  EXPECT_EQ(violations[0].field, "query.filter.tags");
  EXPECT_THAT(violations[0].description,
              HasSubstr(absl::StrCat(domain::kMaxFilterValues)));
}

TEST_F(SuiteTest, BadQueriesNameTheField) {
  auto stub = stats::StatisticsService::NewStub(
      thb::testing::TestChannel(StartAggregators(1)));
  struct Case {
    stats::CountCountriesRequest request;
    std::string field;
  };
  std::vector<Case> cases;
  cases.push_back({stats::CountCountriesRequest(), "query"});
  {
    stats::CountCountriesRequest request;
    request.mutable_query()->mutable_filter()->add_target_regions("ATLANTIS");
    cases.push_back({request, "query.filter.target_regions[0]"});
  }
  {
    stats::CountCountriesRequest request;
    request.mutable_query()->mutable_filter()->add_kinds(
        static_cast<coop::RecordKind>(77));
    cases.push_back({request, "query.filter.kinds[0]"});
  }
  {
    stats::CountCountriesRequest request;
    request.mutable_query()->mutable_filter();
    request.set_as_of_date("2025-13-01");
    cases.push_back({request, "as_of_date"});
  }
  {
    stats::CountCountriesRequest request;
    stats::CountryQuery* node = request.mutable_query();
    for (int i = 0; i < 12; ++i) {
      node = node->mutable_any_of()->add_queries();
    }
    node->mutable_filter();
    cases.push_back({request, "query"});
  }
  for (const auto& c : cases) {
    stats::CountCountriesResponse response;
    grpc::ClientContext context;
    context.set_deadline(In(absl::Seconds(10)));
    const grpc::Status status =
        stub->CountCountries(&context, c.request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << c.field << ": " << status.error_message();
    const auto violations = FieldViolations(FromGrpcStatus(status));
    ASSERT_FALSE(violations.empty()) << c.field;
    EXPECT_THAT(violations[0].field, ::testing::StartsWith(c.field));
  }
}

TEST_F(SuiteTest, ThreeReplicasShareTheLoadAndSurviveAKill) {
  const std::string addresses = StartAggregators(3);
  auto channel = thb::testing::TestChannel(addresses);
  auto stub = stats::StatisticsService::NewStub(channel);
  // Each replica syncs before it answers; warm all three.
  std::set<std::string> peers;
  for (int i = 0; i < 30; ++i) {
    stats::CountCountriesRequest request;
    *request.mutable_query() = FilterQuery(Statement(22 + i % 4).filter());
    request.set_min_cooperation_revision(imported_revision_);
    stats::CountCountriesResponse response;
    grpc::ClientContext context;
    context.set_deadline(In(absl::Seconds(15)));
    ASSERT_TRUE(stub->CountCountries(&context, request, &response).ok());
    peers.insert(context.peer());
  }
  EXPECT_EQ(peers.size(), 3u) << "round_robin reaches every replica";

  std::atomic<bool> done{false};
  std::atomic<int> calls{0};
  std::atomic<int> failures{0};
  std::string failure;
  std::vector<std::thread> load;
  for (int t = 0; t < 4; ++t) {
    load.emplace_back([&, t] {
      const absl::Time stop = absl::Now() + absl::Seconds(4);
      for (int i = 0; !done && absl::Now() < stop && i < 100000; ++i) {
        stats::CountCountriesRequest request;
        *request.mutable_query() =
            FilterQuery(Statement(17 + (i + t) % 5).filter());
        stats::CountCountriesResponse response;
        grpc::ClientContext context;
        context.set_deadline(In(absl::Seconds(5)));
        const grpc::Status status =
            stub->CountCountries(&context, request, &response);
        ++calls;
        if (!status.ok()) {
          if (failures++ == 0) failure = status.error_message();
        }
      }
    });
  }
  absl::SleepFor(absl::Seconds(1));
  aggregators_[1]->process().Kill();
  for (auto& thread : load) thread.join();
  done = true;
  EXPECT_GT(calls.load(), 100);
  EXPECT_EQ(failures.load(), 0) << failure;
}

}  // namespace
}  // namespace thb
