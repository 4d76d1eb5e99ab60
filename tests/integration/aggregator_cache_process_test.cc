// The suite's Redis cache between aggregator replicas: it never serves a
// stale answer and fails open, an answer moved to another key is not
// served, and equivalent requests share one entry.

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/channel.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/aggregator_suite.h"
#include "tests/support/redis_server.h"
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
using ::thb::testing::SuiteTest;
namespace coop = ::thb::cooperation::v1;
namespace stats = ::thb::stats::v1;

TEST_F(SuiteTest, CacheHitsNeverStaleAndFailsOpen) {
  auto stub = stats::StatisticsService::NewStub(
      thb::testing::TestChannel(StartAggregators(1)));
  const stats::CountryQuery fn7 = FilterQuery(Statement(7).filter());
  const auto first = Count(*stub, fn7, imported_revision_);
  EXPECT_EQ(first.cache(), stats::CACHE_STATUS_MISS);
  const auto second = Count(*stub, fn7, imported_revision_);
  EXPECT_EQ(second.cache(), stats::CACHE_STATUS_HIT);
  EXPECT_EQ(second.count(), 11);

  // A write, then a query that must see it: never the cached 11.
  coop::DeleteRecordRequest remove;
  remove.set_id("fn07-be");
  coop::DeleteRecordResponse removed;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(
        cooperation_stub_->DeleteRecord(&context, remove, &removed).ok());
  }
  const auto after_write = Count(*stub, fn7, removed.revision());
  EXPECT_EQ(after_write.count(), 10);
  EXPECT_EQ(after_write.as_of().cooperation_revision(), removed.revision());
  EXPECT_NE(after_write.cache(), stats::CACHE_STATUS_HIT);

  // Redis gone: answers stay right, computed without the cache (each on a
  // date of its own, so no earlier answer can serve it).
  redis_->Kill();
  for (int day = 1; day <= 5; ++day) {
    const auto without =
        Count(*stub, fn7, removed.revision(), absl::StrCat("2025-08-0", day));
    EXPECT_EQ(without.count(), 10);
    EXPECT_EQ(without.cache(), stats::CACHE_STATUS_BYPASS);
  }
  // Redis back: answers are stored and hit again once the backoff passed.
  ASSERT_TRUE(redis_->Restart().ok());
  bool hit = false;
  const absl::Time give_up = absl::Now() + absl::Seconds(15);
  while (!hit && absl::Now() < give_up) {
    const auto again = Count(*stub, fn7, removed.revision(), "2025-09-01");
    EXPECT_EQ(again.count(), 10);
    hit = again.cache() == stats::CACHE_STATUS_HIT;
    if (!hit) absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_TRUE(hit) << "no cache hit after Redis came back";
}

// One replica's answer moved, MAC and all, under the key of another
// question: the other replica does not serve it, computes, and re-caches.
TEST_F(SuiteTest, AnAnswerMovedToAnotherKeyIsNotServed) {
  StartAggregators(2);
  auto first = stats::StatisticsService::NewStub(
      thb::testing::TestChannel(aggregators_[0]->address()));
  auto second = stats::StatisticsService::NewStub(
      thb::testing::TestChannel(aggregators_[1]->address()));
  const stats::CountryQuery fn15 = FilterQuery(Statement(15).filter());
  const stats::CountryQuery fn7 = FilterQuery(Statement(7).filter());

  ASSERT_EQ(Count(*first, fn15, imported_revision_).cache(),
            stats::CACHE_STATUS_MISS);
  const std::string fn15_key = *redis_->Command({"RANDOMKEY"});
  const std::string fn15_sealed = *redis_->Command({"GET", fn15_key});
  EXPECT_EQ(fn15_sealed[0], '\x01') << "sealed, format version 1";
  ASSERT_EQ(Count(*first, fn7, imported_revision_).cache(),
            stats::CACHE_STATUS_MISS);
  ASSERT_EQ(*redis_->Command({"DBSIZE"}), "2");
  std::string fn7_key = fn15_key;
  while (fn7_key == fn15_key) fn7_key = *redis_->Command({"RANDOMKEY"});
  ASSERT_EQ(*redis_->Command({"SET", fn7_key, fn15_sealed}), "OK");

  const auto moved = Count(*second, fn7, imported_revision_);
  EXPECT_EQ(moved.count(), 11);
  EXPECT_EQ(moved.cache(), stats::CACHE_STATUS_MISS);
  EXPECT_NE(*redis_->Command({"GET", fn7_key}), fn15_sealed);
  const auto again = Count(*second, fn7, imported_revision_);
  EXPECT_EQ(again.count(), 11);
  EXPECT_EQ(again.cache(), stats::CACHE_STATUS_HIT);
  EXPECT_THAT(aggregators_[1]->process().Log(),
              HasSubstr(absl::StrCat("refused the value cached under \"",
                                     fn7_key, "\"")));
}

// Requests that differ only in the order of values, aliases, duplicates
// and unknown fields ask the same question and share one cached answer.
TEST_F(SuiteTest, EquivalentRequestsShareACacheEntry) {
  auto stub = stats::StatisticsService::NewStub(
      thb::testing::TestChannel(StartAggregators(1)));
  auto ask = [&](const stats::CountCountriesRequest& request) {
    stats::CountCountriesResponse response;
    grpc::ClientContext context;
    context.set_deadline(In(absl::Seconds(10)));
    const grpc::Status status =
        stub->CountCountries(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  };
  stats::CountCountriesRequest first;
  first.set_min_cooperation_revision(imported_revision_);
  stats::RecordFilter* filter = first.mutable_query()->mutable_filter();
  filter->add_reporting_countries("GR");
  filter->add_reporting_countries("FR");
  filter->add_reporting_countries("AT");
  filter->add_partner_kinds(coop::PARTNER_KIND_EU_AGENCY);
  filter->add_partner_kinds(coop::PARTNER_KIND_INTERNATIONAL_ORGANISATION);
  const auto miss = ask(first);
  EXPECT_EQ(miss.cache(), stats::CACHE_STATUS_MISS);

  stats::CountCountriesRequest second;
  stats::RecordFilter* same = second.mutable_query()->mutable_filter();
  same->add_reporting_countries("fr");
  same->add_reporting_countries("AT");
  same->add_reporting_countries("EL");
  same->add_reporting_countries("at");
  same->add_partner_kinds(coop::PARTNER_KIND_INTERNATIONAL_ORGANISATION);
  same->add_partner_kinds(coop::PARTNER_KIND_EU_AGENCY);
  same->GetReflection()->MutableUnknownFields(same)->AddVarint(1000, 7);
  second.GetReflection()->MutableUnknownFields(&second)->AddLengthDelimited(
      1001, "busting");
  const auto hit = ask(second);
  EXPECT_EQ(hit.cache(), stats::CACHE_STATUS_HIT);
  EXPECT_THAT(hit.countries(), ::testing::ElementsAreArray(miss.countries()));
}

}  // namespace
}  // namespace thb
