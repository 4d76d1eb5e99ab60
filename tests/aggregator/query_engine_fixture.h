#ifndef THB_TESTS_AGGREGATOR_QUERY_ENGINE_FIXTURE_H_
#define THB_TESTS_AGGREGATOR_QUERY_ENGINE_FIXTURE_H_

// What the query engine's tests share: random queries, the fixture that
// loads synthetic records into an index and into the brute-force oracle,
// and small helpers.

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
#include "services/aggregator/query_engine.h"
#include "services/aggregator/record_index.h"
#include "tests/aggregator/query_oracle.h"
#include "tests/aggregator/reference_registry.h"

namespace thb::aggregator::testing {

class QueryMaker {
 public:
  explicit QueryMaker(uint64_t seed) : random_(seed) {}

  RecordFilter Filter() {
    RecordFilter filter;
    const int fields = Uniform(1, 3);
    for (int i = 0; i < fields; ++i) {
      switch (Uniform(0, 10)) {
        case 0:
          for (int n = Uniform(1, 2); n > 0; --n) {
            filter.add_kinds(
                static_cast<cooperation::v1::RecordKind>(Uniform(1, 5)));
          }
          break;
        case 1:
          for (int n = Uniform(1, 2); n > 0; --n) {
            filter.add_thematic_areas(
                static_cast<cooperation::v1::ThematicArea>(Uniform(1, 12)));
          }
          break;
        case 2:
          for (int n = Uniform(1, 2); n > 0; --n) {
            filter.add_forms(
                static_cast<cooperation::v1::CooperationForm>(Uniform(1, 8)));
          }
          break;
        case 3:
          filter.add_partner_kinds(
              static_cast<cooperation::v1::PartnerKind>(Uniform(1, 7)));
          break;
        case 4:
          filter.add_partner_ids(
              Pick({"IOM", "UNODC", "CEPOL", "EMPACT", "ILO", "GE", "UNHCR"}));
          break;
        case 5:
          filter.add_target_regions(
              Pick({"SAHEL", "HORN_OF_AFRICA", "NORTH_AFRICA", "EASTERN_EUROPE",
                    "WESTERN_BALKANS"}));
          break;
        case 6:
          for (int n = Uniform(1, 4); n > 0; --n) {
            filter.add_reporting_countries(Pick(
                {"AT", "gr", "EL", "DE", "RS", "AL", "NO", "MT", "FR", "DK"}));
          }
          break;
        case 7:
          filter.add_emn_statuses(static_cast<EmnStatus>(Uniform(1, 3)));
          break;
        case 8:
          filter.set_from_year(Uniform(2014, 2026));
          break;
        case 9:
          filter.set_to_year(Uniform(std::max(2014, filter.from_year()), 2028));
          break;
        default:
          filter.add_tags(Pick(
              {"low-trust", "covid-19", "online", "children", "never-used"}));
          break;
      }
    }
    if (filter.from_year() != 0 && filter.to_year() != 0 &&
        filter.to_year() < filter.from_year()) {
      const int from = filter.from_year();
      filter.set_from_year(filter.to_year());
      filter.set_to_year(from);
    }
    return filter;
  }

  CountryQuery Query(int depth) {
    CountryQuery query;
    if (depth == 0 || Uniform(0, 2) == 0) {
      *query.mutable_filter() = Filter();
      return query;
    }
    stats::v1::CountryQueryList* list = nullptr;
    switch (Uniform(0, 2)) {
      case 0:
        list = query.mutable_all_of();
        break;
      case 1:
        list = query.mutable_any_of();
        break;
      default:
        list = query.mutable_difference();
        break;
    }
    for (int n = Uniform(1, 3); n > 0; --n) {
      *list->add_queries() = Query(depth - 1);
    }
    return query;
  }

  int Uniform(int low, int high) {
    return std::uniform_int_distribution<int>(low, high)(random_);
  }

 private:
  std::string Pick(std::vector<std::string> options) {
    return options[Uniform(0, static_cast<int>(options.size()) - 1)];
  }

  std::mt19937_64 random_;
};

// ---------------------------------------------------------------- fixture

class QueryEngineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    registry_ = testing::ReferenceSnapshot().release();
  }
  static void TearDownTestSuite() {
    delete registry_;
    registry_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(registry_, nullptr); }

  // Records in the index and in `records_`, with churn (updates, deletes,
  // re-creates) so that slots are reused, and the shapes the generator does
  // not make: open periods, aliases, lower-case codes.
  void LoadSynthetic(int count) {
    bench::SyntheticRecords synthetic(11);
    std::map<std::string, CooperationRecord> latest;
    int64_t revision = 0;
    auto upsert = [&](CooperationRecord record) {
      record.set_revision(++revision);
      ASSERT_TRUE(index_.Upsert(record));
      latest[record.id()] = record;
    };
    for (int i = 0; i < count; ++i) {
      CooperationRecord record = synthetic.Make(i);
      if (i % 7 == 0) record.set_end_year(0);
      if (i % 11 == 0) record.set_start_year(0);
      if (record.reporting_country() == "EL" && i % 2 == 0) {
        record.set_reporting_country(i % 4 == 0 ? "GR" : "gr");
      }
      upsert(record);
    }
    for (int i = 0; i < count; i += 5) {
      const std::string id = absl::StrCat("syn-", i);
      ASSERT_TRUE(index_.Remove(id, ++revision));
      latest.erase(id);
    }
    for (int i = 0; i < count / 10; ++i) {
      CooperationRecord record = synthetic.Make(count + i);
      record.set_id(absl::StrCat("syn-", (i * 3) % count));
      upsert(record);
    }
    records_.clear();
    for (auto& [id, record] : latest) records_.push_back(record);
    ASSERT_EQ(index_.size(), records_.size());
  }

  void ExpectSameCountries(const CountryQuery& query, absl::CivilDay day) {
    Oracle oracle(records_, *registry_, day);
    auto response = CountCountries(index_, *registry_, day, query);
    ASSERT_TRUE(response.ok()) << response.status();
    const std::set<std::string> expected = oracle.Countries(query);
    EXPECT_EQ(response->count(), static_cast<int>(expected.size()))
        << query.ShortDebugString();
    EXPECT_THAT(response->countries(),
                ::testing::ElementsAreArray(oracle.StudyOrder(expected)))
        << query.ShortDebugString();
    EXPECT_EQ(response->footnote(), oracle.Footnote(expected));
    int members = 0;
    int observers = 0;
    for (const auto& code : expected) {
      members += oracle.Status(code) == registry::v1::EMN_STATUS_MEMBER;
      observers += oracle.Status(code) == registry::v1::EMN_STATUS_OBSERVER;
    }
    EXPECT_EQ(response->member_count(), members);
    EXPECT_EQ(response->observer_count(), observers);
    EXPECT_EQ(
        response->as_of().as_of_date(),
        absl::StrFormat("%04d-%02d-%02d", day.year(), day.month(), day.day()));
  }

  void ExpectSameBreakdown(const CountryQuery& query, Dimension dimension,
                           Measure measure, absl::CivilDay day) {
    Oracle oracle(records_, *registry_, day);
    auto response =
        Breakdown(index_, *registry_, day, query, dimension, measure);
    ASSERT_TRUE(response.ok()) << response.status();
    const auto cells = oracle.Breakdown(query, dimension);
    std::vector<std::pair<std::string, const Oracle::Cell*>> expected;
    for (const auto& [value, cell] : cells) expected.push_back({value, &cell});
    std::sort(
        expected.begin(), expected.end(), [&](const auto& a, const auto& b) {
          const int count_a = a.second->Count(measure);
          const int count_b = b.second->Count(measure);
          return count_a != count_b ? count_a > count_b : a.first < b.first;
        });
    const std::string context = absl::StrCat(
        stats::v1::Dimension_Name(dimension), " ",
        stats::v1::Measure_Name(measure), " ", query.ShortDebugString());
    ASSERT_EQ(response->buckets_size(), static_cast<int>(expected.size()))
        << context;
    for (int i = 0; i < response->buckets_size(); ++i) {
      const auto& bucket = response->buckets(i);
      const Oracle::Cell& cell = *expected[i].second;
      EXPECT_EQ(bucket.value(), expected[i].first) << context;
      EXPECT_EQ(bucket.count(), cell.Count(measure)) << context;
      EXPECT_THAT(bucket.countries(), ::testing::ElementsAreArray(
                                          oracle.StudyOrder(cell.countries)))
          << context;
      EXPECT_EQ(bucket.footnote(), oracle.Footnote(cell.countries)) << context;
    }
  }

  void ExpectSameCross(const CountryQuery& query, Dimension rows,
                       Dimension columns, Measure measure, absl::CivilDay day) {
    Oracle oracle(records_, *registry_, day);
    auto response =
        CrossTabulate(index_, *registry_, day, query, rows, columns, measure);
    ASSERT_TRUE(response.ok()) << response.status();
    std::set<std::string> row_values;
    std::set<std::string> column_values;
    for (const auto& [value, cell] : oracle.Breakdown(query, rows)) {
      row_values.insert(value);
    }
    for (const auto& [value, cell] : oracle.Breakdown(query, columns)) {
      column_values.insert(value);
    }
    const auto cells = oracle.Cross(query, rows, columns);
    const std::string context = absl::StrCat(
        stats::v1::Dimension_Name(rows), " x ",
        stats::v1::Dimension_Name(columns), " ", query.ShortDebugString());
    EXPECT_THAT(response->column_values(),
                ::testing::ElementsAreArray(column_values))
        << context;
    ASSERT_EQ(response->rows_size(), static_cast<int>(row_values.size()))
        << context;
    int r = 0;
    for (const auto& row : row_values) {
      const auto& out = response->rows(r++);
      EXPECT_EQ(out.value(), row) << context;
      ASSERT_EQ(out.counts_size(), static_cast<int>(column_values.size()));
      int c = 0;
      for (const auto& column : column_values) {
        auto it = cells.find({row, column});
        const int expected = it == cells.end() ? 0 : it->second.Count(measure);
        EXPECT_EQ(out.counts(c++), expected)
            << context << " cell " << row << "/" << column;
      }
    }
  }

  inline static registry::RegistrySnapshot* registry_ = nullptr;
  RecordIndex index_;
  std::vector<CooperationRecord> records_;
};

const absl::CivilDay kStudyDay(2025, 7, 16);
// Before RS (2023-03-16), AM (2022-10-27), MK and AL became Observers.
const absl::CivilDay kEarlierDay(2022, 6, 1);

inline CountryQuery FilterQuery(const RecordFilter& filter) {
  CountryQuery query;
  *query.mutable_filter() = filter;
  return query;
}

constexpr auto kGood = cooperation::v1::RECORD_KIND_GOOD_PRACTICE;
constexpr auto kChallenge = cooperation::v1::RECORD_KIND_CHALLENGE;
constexpr auto kReview = cooperation::v1::RECORD_KIND_STRATEGY_REVIEW;

inline std::vector<std::string> ViolatedFields(const absl::Status& status) {
  std::vector<std::string> fields;
  for (const auto& violation : FieldViolations(status)) {
    fields.push_back(violation.field);
  }
  return fields;
}

}  // namespace thb::aggregator::testing

#endif  // THB_TESTS_AGGREGATOR_QUERY_ENGINE_FIXTURE_H_
