// The statistics engine against brute force over synthetic records.

#include "services/aggregator/query_engine.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/synthetic.h"
#include "common/errors.h"
#include "domain/footnote.h"
#include "domain/record_filter.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/aggregator/record_index.h"
#include "tests/aggregator/query_engine_fixture.h"
#include "tests/aggregator/reference_registry.h"

namespace thb::aggregator::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST_F(QueryEngineTest, RandomQueriesCountLikeBruteForce) {
  LoadSynthetic(4000);
  QueryMaker maker(42);
  int partial = 0;
  for (int i = 0; i < 300; ++i) {
    const CountryQuery query = maker.Query(maker.Uniform(0, 3));
    const absl::CivilDay day = i % 2 == 0 ? kStudyDay : kEarlierDay;
    ExpectSameCountries(query, day);
    const size_t count =
        Oracle(records_, *registry_, day).Countries(query).size();
    if (count > 0 && count < bench::SyntheticReportingCountries().size()) {
      ++partial;
    }
  }
  // The queries are not all trivially empty or full.
  EXPECT_GT(partial, 100);
}

TEST_F(QueryEngineTest, RandomBreakdownsLikeBruteForce) {
  LoadSynthetic(3000);
  QueryMaker maker(43);
  for (int i = 0; i < 40; ++i) {
    const CountryQuery query = maker.Query(maker.Uniform(0, 2));
    const absl::CivilDay day = i % 2 == 0 ? kStudyDay : kEarlierDay;
    for (Dimension dimension : kDimensions) {
      ExpectSameBreakdown(query, dimension,
                          i % 3 == 0 ? stats::v1::MEASURE_UNSPECIFIED
                                     : stats::v1::MEASURE_COUNTRIES,
                          day);
      ExpectSameBreakdown(query, dimension, stats::v1::MEASURE_RECORDS, day);
    }
  }
}

TEST_F(QueryEngineTest, RandomCrossTabulationsLikeBruteForce) {
  LoadSynthetic(3000);
  QueryMaker maker(44);
  for (int i = 0; i < 30; ++i) {
    const CountryQuery query = maker.Query(maker.Uniform(0, 2));
    const Dimension rows = kDimensions[maker.Uniform(0, 9)];
    const Dimension columns = kDimensions[maker.Uniform(0, 9)];
    const absl::CivilDay day = i % 2 == 0 ? kStudyDay : kEarlierDay;
    ExpectSameCross(query, rows, columns, stats::v1::MEASURE_COUNTRIES, day);
    ExpectSameCross(query, rows, columns, stats::v1::MEASURE_RECORDS, day);
  }
}

TEST_F(QueryEngineTest, ExplainListsTheRecordsBehindEachCountry) {
  LoadSynthetic(2000);
  QueryMaker maker(45);
  for (int i = 0; i < 20; ++i) {
    const CountryQuery query = maker.Query(maker.Uniform(0, 2));
    Oracle oracle(records_, *registry_, kStudyDay);
    auto response = Explain(index_, *registry_, kStudyDay, query);
    ASSERT_TRUE(response.ok()) << response.status();
    std::map<std::string, std::vector<const CooperationRecord*>> by_country;
    for (const CooperationRecord* record : oracle.Behind(query)) {
      by_country[Oracle::Country(*record)].push_back(record);
    }
    const std::set<std::string> answer = oracle.Countries(query);
    const std::vector<std::string> order = oracle.StudyOrder(answer);
    ASSERT_EQ(response->countries_size(), static_cast<int>(order.size()));
    EXPECT_EQ(response->footnote(), oracle.Footnote(answer));
    for (int c = 0; c < response->countries_size(); ++c) {
      const auto& country = response->countries(c);
      EXPECT_EQ(country.country(), order[c]);
      EXPECT_EQ(country.emn_status(), oracle.Status(order[c]));
      auto& expected = by_country[order[c]];
      std::sort(expected.begin(), expected.end(),
                [](const CooperationRecord* a, const CooperationRecord* b) {
                  return a->id() < b->id();
                });
      ASSERT_EQ(country.records_size(), static_cast<int>(expected.size()));
      for (int r = 0; r < country.records_size(); ++r) {
        const auto& evidence = country.records(r);
        EXPECT_EQ(evidence.record_id(), expected[r]->id());
        EXPECT_EQ(evidence.kind(), expected[r]->kind());
        EXPECT_EQ(evidence.title(), expected[r]->title());
        ASSERT_EQ(evidence.sources_size(), expected[r]->sources_size());
        EXPECT_EQ(evidence.sources(0).SerializeAsString(),
                  expected[r]->sources(0).SerializeAsString());
      }
    }
  }
}

}  // namespace
}  // namespace thb::aggregator::testing
