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
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "gtest/gtest.h"
#include "services/aggregator/record_index.h"
#include "tests/aggregator/reference_registry.h"

namespace thb::aggregator {
namespace {

using cooperation::v1::CooperationRecord;
using registry::v1::EmnStatus;
using stats::v1::CountryQuery;
using stats::v1::Dimension;
using stats::v1::Measure;
using stats::v1::RecordFilter;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr Dimension kDimensions[] = {
    stats::v1::DIMENSION_KIND,
    stats::v1::DIMENSION_THEMATIC_AREA,
    stats::v1::DIMENSION_FORM,
    stats::v1::DIMENSION_PARTNER,
    stats::v1::DIMENSION_PARTNER_KIND,
    stats::v1::DIMENSION_TARGET_REGION,
    stats::v1::DIMENSION_REPORTING_COUNTRY,
    stats::v1::DIMENSION_YEAR,
    stats::v1::DIMENSION_TAG,
    stats::v1::DIMENSION_EMN_STATUS,
};

// ------------------------------------------------------------------ oracle

// The answers computed the slow, obvious way: every record through
// domain::Matches, sets of strings, dimension values read off each record.
class Oracle {
 public:
  Oracle(const std::vector<CooperationRecord>& records,
         const registry::RegistrySnapshot& registry, absl::CivilDay day)
      : records_(records), registry_(registry), day_(day) {}

  EmnStatus Status(const std::string& code) const {
    auto it = statuses_.find(code);
    if (it == statuses_.end()) {
      it = statuses_.emplace(code, registry_.StatusOn(code, day_)).first;
    }
    return it->second;
  }

  static std::string Country(const CooperationRecord& record) {
    return domain::CanonicalCountryCode(record.reporting_country());
  }

  bool Selects(const cooperation::v1::RecordFilter& filter,
               const CooperationRecord& record) const {
    return domain::Matches(record, filter, Status(Country(record)));
  }

  std::set<std::string> Countries(const CountryQuery& query) const {
    std::set<std::string> result;
    switch (query.expr_case()) {
      case CountryQuery::kFilter: {
        const auto filter = domain::ToCooperationFilter(query.filter());
        for (const auto& record : records_) {
          if (Selects(filter, record)) result.insert(Country(record));
        }
        break;
      }
      case CountryQuery::kAllOf:
        result = Countries(query.all_of().queries(0));
        for (int i = 1; i < query.all_of().queries_size(); ++i) {
          std::set<std::string> next = Countries(query.all_of().queries(i));
          std::set<std::string> both;
          std::set_intersection(result.begin(), result.end(), next.begin(),
                                next.end(), std::inserter(both, both.end()));
          result = both;
        }
        break;
      case CountryQuery::kAnyOf:
        for (const auto& child : query.any_of().queries()) {
          std::set<std::string> next = Countries(child);
          result.insert(next.begin(), next.end());
        }
        break;
      case CountryQuery::kDifference:
        result = Countries(query.difference().queries(0));
        for (int i = 1; i < query.difference().queries_size(); ++i) {
          for (const auto& code : Countries(query.difference().queries(i))) {
            result.erase(code);
          }
        }
        break;
      default:
        break;
    }
    return result;
  }

  void PositiveFilters(const CountryQuery& query,
                       std::vector<const RecordFilter*>& out) const {
    if (query.has_filter()) {
      out.push_back(&query.filter());
    } else if (query.has_all_of()) {
      for (const auto& child : query.all_of().queries()) {
        PositiveFilters(child, out);
      }
    } else if (query.has_any_of()) {
      for (const auto& child : query.any_of().queries()) {
        PositiveFilters(child, out);
      }
    } else if (query.has_difference()) {
      PositiveFilters(query.difference().queries(0), out);
    }
  }

  std::vector<const CooperationRecord*> Behind(
      const CountryQuery& query) const {
    const std::set<std::string> answer = Countries(query);
    std::vector<const RecordFilter*> positive;
    PositiveFilters(query, positive);
    std::vector<cooperation::v1::RecordFilter> filters;
    for (const RecordFilter* filter : positive) {
      filters.push_back(domain::ToCooperationFilter(*filter));
    }
    std::vector<const CooperationRecord*> behind;
    for (const auto& record : records_) {
      if (answer.count(Country(record)) == 0) continue;
      for (const auto& filter : filters) {
        if (Selects(filter, record)) {
          behind.push_back(&record);
          break;
        }
      }
    }
    return behind;
  }

  std::set<std::string> Values(const CooperationRecord& record,
                               Dimension dimension) const {
    namespace v1 = cooperation::v1;
    std::set<std::string> values;
    switch (dimension) {
      case stats::v1::DIMENSION_KIND:
        if (record.kind() != 0)
          values.insert(v1::RecordKind_Name(record.kind()));
        break;
      case stats::v1::DIMENSION_THEMATIC_AREA:
        for (int area : record.thematic_areas()) {
          if (area != 0) {
            values.insert(
                v1::ThematicArea_Name(static_cast<v1::ThematicArea>(area)));
          }
        }
        break;
      case stats::v1::DIMENSION_FORM:
        if (record.form() != 0) {
          values.insert(v1::CooperationForm_Name(record.form()));
        }
        break;
      case stats::v1::DIMENSION_PARTNER:
        for (const auto& partner : record.partners()) {
          if (!partner.id().empty()) {
            values.insert(partner.id());
          } else if (partner.kind() != 0) {
            values.insert("<" + v1::PartnerKind_Name(partner.kind()) + ">");
          }
        }
        break;
      case stats::v1::DIMENSION_PARTNER_KIND:
        for (const auto& partner : record.partners()) {
          if (partner.kind() != 0) {
            values.insert(v1::PartnerKind_Name(partner.kind()));
          }
        }
        break;
      case stats::v1::DIMENSION_TARGET_REGION:
        values.insert(record.target_regions().begin(),
                      record.target_regions().end());
        break;
      case stats::v1::DIMENSION_REPORTING_COUNTRY:
        values.insert(Country(record));
        break;
      case stats::v1::DIMENSION_YEAR:
        if (record.start_year() != 0 && record.end_year() != 0) {
          for (int year = record.start_year(); year <= record.end_year();
               ++year) {
            values.insert(absl::StrCat(year));
          }
        } else if (record.start_year() != 0) {
          values.insert(absl::StrCat(record.start_year()));
        } else if (record.end_year() != 0) {
          values.insert(absl::StrCat(record.end_year()));
        }
        break;
      case stats::v1::DIMENSION_TAG:
        values.insert(record.tags().begin(), record.tags().end());
        break;
      case stats::v1::DIMENSION_EMN_STATUS:
        values.insert(registry::v1::EmnStatus_Name(Status(Country(record))));
        break;
      default:
        break;
    }
    return values;
  }

  struct Cell {
    std::set<std::string> countries;
    int records = 0;
    int Count(Measure measure) const {
      return measure == stats::v1::MEASURE_RECORDS
                 ? records
                 : static_cast<int>(countries.size());
    }
  };

  std::map<std::string, Cell> Breakdown(const CountryQuery& query,
                                        Dimension dimension) const {
    std::map<std::string, Cell> cells;
    for (const CooperationRecord* record : Behind(query)) {
      for (const auto& value : Values(*record, dimension)) {
        cells[value].countries.insert(Country(*record));
        ++cells[value].records;
      }
    }
    return cells;
  }

  std::map<std::pair<std::string, std::string>, Cell> Cross(
      const CountryQuery& query, Dimension rows, Dimension columns) const {
    std::map<std::pair<std::string, std::string>, Cell> cells;
    for (const CooperationRecord* record : Behind(query)) {
      for (const auto& row : Values(*record, rows)) {
        for (const auto& column : Values(*record, columns)) {
          cells[{row, column}].countries.insert(Country(*record));
          ++cells[{row, column}].records;
        }
      }
    }
    return cells;
  }

  std::vector<std::string> StudyOrder(
      const std::set<std::string>& codes) const {
    return domain::CountryOrder(
        {codes.begin(), codes.end()},
        [this](const std::string& code) { return Status(code); });
  }

  std::string Footnote(const std::set<std::string>& codes) const {
    return domain::StudyFootnote(
        {codes.begin(), codes.end()},
        [this](const std::string& code) { return Status(code); });
  }

 private:
  const std::vector<CooperationRecord>& records_;
  const registry::RegistrySnapshot& registry_;
  absl::CivilDay day_;
  mutable std::map<std::string, EmnStatus> statuses_;
};

// ------------------------------------------------------- random queries

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

  static registry::RegistrySnapshot* registry_;
  RecordIndex index_;
  std::vector<CooperationRecord> records_;
};

registry::RegistrySnapshot* QueryEngineTest::registry_ = nullptr;

const absl::CivilDay kStudyDay(2025, 7, 16);
// Before RS (2023-03-16), AM (2022-10-27), MK and AL became Observers.
const absl::CivilDay kEarlierDay(2022, 6, 1);

CountryQuery FilterQuery(const RecordFilter& filter) {
  CountryQuery query;
  *query.mutable_filter() = filter;
  return query;
}

// ------------------------------------------------- random vs brute force

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

// ------------------------------------------------------------ set algebra

class SetAlgebraTest : public QueryEngineTest {
 protected:
  void SetUp() override {
    QueryEngineTest::SetUp();
    int64_t revision = 0;
    // AT, BE: good practices; BE, DE: challenges; DE, GE: strategy reviews;
    // RS: a measure.
    auto add = [&](const std::string& id, const std::string& country,
                   cooperation::v1::RecordKind kind) {
      CooperationRecord record;
      record.set_id(id);
      record.set_reporting_country(country);
      record.set_kind(kind);
      record.set_title(id);
      record.set_revision(++revision);
      record.add_sources()->set_citation("test");
      ASSERT_TRUE(index_.Upsert(record));
    };
    add("at-good", "AT", cooperation::v1::RECORD_KIND_GOOD_PRACTICE);
    add("be-good", "BE", cooperation::v1::RECORD_KIND_GOOD_PRACTICE);
    add("be-challenge", "BE", cooperation::v1::RECORD_KIND_CHALLENGE);
    add("de-challenge", "DE", cooperation::v1::RECORD_KIND_CHALLENGE);
    add("de-review", "DE", cooperation::v1::RECORD_KIND_STRATEGY_REVIEW);
    add("ge-review", "GE", cooperation::v1::RECORD_KIND_STRATEGY_REVIEW);
    add("rs-measure", "RS", cooperation::v1::RECORD_KIND_MEASURE);
  }

  static CountryQuery Kind(cooperation::v1::RecordKind kind) {
    CountryQuery query;
    query.mutable_filter()->add_kinds(kind);
    return query;
  }

  std::vector<std::string> Answer(const CountryQuery& query) {
    auto response = CountCountries(index_, *registry_, kStudyDay, query);
    EXPECT_TRUE(response.ok()) << response.status();
    if (!response.ok()) return {};
    return {response->countries().begin(), response->countries().end()};
  }
};

constexpr auto kGood = cooperation::v1::RECORD_KIND_GOOD_PRACTICE;
constexpr auto kChallenge = cooperation::v1::RECORD_KIND_CHALLENGE;
constexpr auto kReview = cooperation::v1::RECORD_KIND_STRATEGY_REVIEW;

CountryQuery Combine(stats::v1::CountryQueryList* (CountryQuery::*list)(),
                     std::vector<CountryQuery> children) {
  CountryQuery query;
  for (auto& child : children) *(query.*list)()->add_queries() = child;
  return query;
}

TEST_F(SetAlgebraTest, IntersectionUnionAndDifference) {
  EXPECT_THAT(Answer(Combine(&CountryQuery::mutable_all_of,
                             {Kind(kGood), Kind(kChallenge)})),
              ElementsAre("BE"));
  EXPECT_THAT(Answer(Combine(&CountryQuery::mutable_any_of,
                             {Kind(kGood), Kind(kReview)})),
              ElementsAre("AT", "BE", "DE", "GE"));
  EXPECT_THAT(Answer(Combine(&CountryQuery::mutable_difference,
                             {Kind(kChallenge), Kind(kGood)})),
              ElementsAre("DE"));
  // The first minus the union of the rest.
  EXPECT_THAT(
      Answer(Combine(&CountryQuery::mutable_difference,
                     {Combine(&CountryQuery::mutable_any_of,
                              {Kind(kGood), Kind(kChallenge), Kind(kReview)}),
                      Kind(kGood), Kind(kChallenge)})),
      ElementsAre("GE"));
  // A one-element list is its element.
  EXPECT_THAT(
      Answer(Combine(&CountryQuery::mutable_difference, {Kind(kReview)})),
      ElementsAre("DE", "GE"));
  EXPECT_THAT(Answer(Combine(&CountryQuery::mutable_all_of,
                             {Kind(kGood), Kind(kReview)})),
              IsEmpty());
  // Nested: (good ∪ review) ∩ (challenge ∪ review) = BE, DE, GE.
  EXPECT_THAT(Answer(Combine(&CountryQuery::mutable_all_of,
                             {Combine(&CountryQuery::mutable_any_of,
                                      {Kind(kGood), Kind(kReview)}),
                              Combine(&CountryQuery::mutable_any_of,
                                      {Kind(kChallenge), Kind(kReview)})})),
              ElementsAre("BE", "DE", "GE"));
  // Any record: Members by code, then Observers by code.
  EXPECT_THAT(Answer(FilterQuery(RecordFilter())),
              ElementsAre("AT", "BE", "DE", "GE", "RS"));
}

TEST_F(SetAlgebraTest, BreakdownCountsOnlyTheRecordsThatAddCountries) {
  // Challenges minus good practices is DE; DE's review is not behind it.
  auto response =
      Breakdown(index_, *registry_, kStudyDay,
                Combine(&CountryQuery::mutable_difference,
                        {Kind(kChallenge), Kind(kGood)}),
                stats::v1::DIMENSION_KIND, stats::v1::MEASURE_RECORDS);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->buckets_size(), 1);
  EXPECT_EQ(response->buckets(0).value(), "RECORD_KIND_CHALLENGE");
  EXPECT_EQ(response->buckets(0).count(), 1);
  EXPECT_THAT(response->buckets(0).countries(), ElementsAre("DE"));
  EXPECT_EQ(response->buckets(0).footnote(), "DE.");

  // Good practices ∩ challenges is BE: both its records count.
  response = Breakdown(
      index_, *registry_, kStudyDay,
      Combine(&CountryQuery::mutable_all_of, {Kind(kGood), Kind(kChallenge)}),
      stats::v1::DIMENSION_KIND, stats::v1::MEASURE_UNSPECIFIED);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->buckets_size(), 2);
  EXPECT_EQ(response->buckets(0).value(), "RECORD_KIND_CHALLENGE");
  EXPECT_EQ(response->buckets(1).value(), "RECORD_KIND_GOOD_PRACTICE");
}

TEST_F(SetAlgebraTest, ShareRoundsToOneDecimal) {
  auto share = Share(index_, *registry_, kStudyDay, Kind(kGood),
                     FilterQuery(RecordFilter()));
  ASSERT_TRUE(share.ok()) << share.status();
  EXPECT_EQ(share->part_count(), 2);
  EXPECT_EQ(share->whole_count(), 5);
  EXPECT_DOUBLE_EQ(share->percent(), 40.0);
  EXPECT_EQ(share->text(), "2 of 5, 40.0%");
  EXPECT_EQ(share->part_footnote(), "AT, BE.");
  EXPECT_EQ(share->whole_footnote(), "AT, BE, DE, and GE, RS.");

  share = Share(
      index_, *registry_, kStudyDay, Kind(kGood),
      Combine(&CountryQuery::mutable_any_of, {Kind(kGood), Kind(kChallenge)}));
  ASSERT_TRUE(share.ok());
  EXPECT_EQ(share->text(), "2 of 3, 66.7%");
  EXPECT_DOUBLE_EQ(share->percent(), 66.7);

  share = Share(index_, *registry_, kStudyDay, Kind(kGood),
                Kind(cooperation::v1::RECORD_KIND_AGREEMENT_EVALUATION));
  ASSERT_TRUE(share.ok());
  EXPECT_EQ(share->whole_count(), 0);
  EXPECT_EQ(share->percent(), 0);
  EXPECT_EQ(share->text(), "2 of 0, no share: the whole is empty");
}

TEST_F(SetAlgebraTest, AnswersFollowWritesAndDeletes) {
  EXPECT_THAT(Answer(Kind(kGood)), ElementsAre("AT", "BE"));
  ASSERT_TRUE(index_.Remove("at-good", 100));
  EXPECT_THAT(Answer(Kind(kGood)), ElementsAre("BE"));
  CooperationRecord record;
  record.set_id("no-good");
  record.set_reporting_country("NO");
  record.set_kind(kGood);
  record.set_revision(101);
  ASSERT_TRUE(index_.Upsert(record));
  EXPECT_THAT(Answer(Kind(kGood)), ElementsAre("BE", "NO"));
  record.set_kind(kChallenge);
  record.set_revision(102);
  ASSERT_TRUE(index_.Upsert(record));
  EXPECT_THAT(Answer(Kind(kGood)), ElementsAre("BE"));
}

// Two fields whose values each occur in several countries but together in
// fewer: the countries a filter could select are narrowed by both fields,
// and must follow updates and removals that move records between them.
TEST_F(SetAlgebraTest, NarrowedCountriesFollowUpdatesAndRemovals) {
  constexpr auto kPrevention = cooperation::v1::THEMATIC_AREA_PREVENTION;
  int64_t revision = 1000;
  auto put = [&](const std::string& id, const std::string& country,
                 cooperation::v1::RecordKind kind, bool prevention) {
    CooperationRecord record;
    record.set_id(id);
    record.set_reporting_country(country);
    record.set_kind(kind);
    if (prevention) record.add_thematic_areas(kPrevention);
    record.set_revision(++revision);
    ASSERT_TRUE(index_.Upsert(record));
  };
  // Good practices in AT, BE; prevention in DE, GE: none has both.
  put("de-prevention", "DE", kReview, true);
  put("ge-prevention", "GE", kReview, true);
  CountryQuery both;
  both.mutable_filter()->add_kinds(kGood);
  both.mutable_filter()->add_thematic_areas(kPrevention);
  CountryQuery prevention;
  prevention.mutable_filter()->add_thematic_areas(kPrevention);
  EXPECT_THAT(Answer(both), IsEmpty());

  // A good practice in prevention appears in DE; a later update moves it to
  // AT, and a removal takes it away.
  put("moving", "DE", kGood, true);
  EXPECT_THAT(Answer(both), ElementsAre("DE"));
  put("moving", "AT", kGood, true);
  EXPECT_THAT(Answer(both), ElementsAre("AT"));
  EXPECT_THAT(Answer(prevention), ElementsAre("AT", "DE", "GE"));
  EXPECT_THAT(
      Answer(Combine(&CountryQuery::mutable_all_of, {both, Kind(kGood)})),
      ElementsAre("AT"));
  EXPECT_THAT(
      Answer(Combine(&CountryQuery::mutable_any_of, {both, Kind(kChallenge)})),
      ElementsAre("AT", "BE", "DE"));
  EXPECT_THAT(
      Answer(Combine(&CountryQuery::mutable_difference, {prevention, both})),
      ElementsAre("DE", "GE"));
  ASSERT_TRUE(index_.Remove("moving", ++revision));
  EXPECT_THAT(Answer(both), IsEmpty());
  EXPECT_THAT(
      Answer(Combine(&CountryQuery::mutable_difference, {prevention, both})),
      ElementsAre("DE", "GE"));
  // A country named by the filter but without a record of both values.
  both.mutable_filter()->add_reporting_countries("at");
  EXPECT_THAT(Answer(both), IsEmpty());
  put("back", "AT", kGood, true);
  EXPECT_THAT(Answer(both), ElementsAre("AT"));
}

// Statuses are kept between queries: they must follow the snapshot (a copy,
// a change applied to it), the day, and the index's countries after Clear.
TEST_F(SetAlgebraTest, StatusesFollowTheSnapshotTheDayAndTheIndex) {
  CountryQuery reviews = Kind(kReview);
  // DE a Member, GE an Observer on the study's day.
  EXPECT_THAT(Answer(reviews), ElementsAre("DE", "GE"));
  auto count = [&](const registry::RegistrySnapshot& registry,
                   absl::CivilDay day) {
    auto response = CountCountries(index_, registry, day, reviews);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? response->footnote() : "";
  };
  EXPECT_EQ(count(*registry_, kStudyDay), "DE, and GE.");

  // A copy where GE has always been a Member.
  registry::RegistrySnapshot copy = *registry_;
  EXPECT_EQ(count(copy, kStudyDay), "DE, and GE.");
  registry::v1::Change change;
  change.set_type(registry::v1::CHANGE_TYPE_UPDATED);
  *change.mutable_country() = registry_->countries.at("GE");
  change.mutable_country()->clear_emn_history();
  change.mutable_country()->add_emn_history()->set_status(
      registry::v1::EMN_STATUS_MEMBER);
  copy.Apply(change);
  EXPECT_EQ(count(copy, kStudyDay), "DE, GE.");
  EXPECT_EQ(count(*registry_, kStudyDay), "DE, and GE.");

  // A day before the EMN began: neither is a Member or an Observer.
  EXPECT_EQ(count(*registry_, absl::CivilDay(2000, 1, 1)), "DE, GE.");

  // After Clear the same ids name other countries.
  index_.Clear();
  CooperationRecord record;
  record.set_kind(kReview);
  for (const char* code : {"GE", "DE"}) {
    record.set_id(code);
    record.set_reporting_country(code);
    record.set_revision(1);
    ASSERT_TRUE(index_.Upsert(record));
  }
  EXPECT_EQ(count(*registry_, kStudyDay), "DE, and GE.");
}

// ------------------------------------------------------------ validation

std::vector<std::string> ViolatedFields(const absl::Status& status) {
  std::vector<std::string> fields;
  for (const auto& violation : FieldViolations(status)) {
    fields.push_back(violation.field);
  }
  return fields;
}

TEST_F(QueryEngineTest, AnEmptyQueryIsRefused) {
  auto response = CountCountries(index_, *registry_, kStudyDay, CountryQuery());
  ASSERT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(response.status().message(), "query: is empty");

  CountryQuery nested;
  nested.mutable_any_of()->add_queries();
  EXPECT_EQ(ValidateQuery(nested, *registry_, "query").message(),
            "query.any_of.queries[0]: is empty");

  CountryQuery empty_list;
  empty_list.mutable_all_of();
  const absl::Status status = ValidateQuery(empty_list, *registry_, "query");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ViolatedFields(status), ElementsAre("query.all_of.queries"));
}

TEST_F(QueryEngineTest, DepthAndSizeAreLimited) {
  auto nest = [](int depth) {
    CountryQuery query;
    query.mutable_filter();
    for (int i = 1; i < depth; ++i) {
      CountryQuery outer;
      *outer.mutable_all_of()->add_queries() = query;
      query = outer;
    }
    return query;
  };
  EXPECT_TRUE(ValidateQuery(nest(kMaxQueryDepth), *registry_, "query").ok());
  absl::Status status =
      ValidateQuery(nest(kMaxQueryDepth + 1), *registry_, "query");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("query: "));
  EXPECT_THAT(status.message(), HasSubstr("8"));

  CountryQuery wide;
  for (int i = 0; i < kMaxQueryNodes - 1; ++i) {
    wide.mutable_any_of()->add_queries()->mutable_filter();
  }
  EXPECT_TRUE(ValidateQuery(wide, *registry_, "query").ok());
  wide.mutable_any_of()->add_queries()->mutable_filter();
  status = ValidateQuery(wide, *registry_, "part");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("part: "));
  EXPECT_THAT(status.message(), HasSubstr("64"));
}

TEST_F(QueryEngineTest, UnknownIdsAreNamedByTheirPath) {
  CountryQuery query;
  auto* list = query.mutable_all_of();
  list->add_queries()->mutable_filter()->add_kinds(kGood);
  RecordFilter* filter = list->add_queries()->mutable_filter();
  filter->add_target_regions("ATLANTIS");
  filter->add_target_regions("SAHEL");
  filter->add_partner_ids("IOM");
  filter->add_partner_ids("GE");  // A country is a partner too.
  filter->add_partner_ids("NOBODY");
  filter->add_reporting_countries("GR");
  filter->add_reporting_countries("XX");
  filter->add_tags("Not Kebab");

  const absl::Status status = ValidateQuery(query, *registry_, "query");
  ASSERT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ViolatedFields(status),
              ::testing::UnorderedElementsAre(
                  "query.all_of.queries[1].filter.target_regions[0]",
                  "query.all_of.queries[1].filter.partner_ids[2]",
                  "query.all_of.queries[1].filter.reporting_countries[1]",
                  "query.all_of.queries[1].filter.tags[0]"));
  for (const auto& violation : FieldViolations(status)) {
    if (violation.field == "query.all_of.queries[1].filter.target_regions[0]") {
      EXPECT_THAT(violation.description, HasSubstr("ATLANTIS"));
    }
    if (violation.field == "query.all_of.queries[1].filter.partner_ids[2]") {
      EXPECT_THAT(violation.description, HasSubstr("NOBODY"));
    }
    if (violation.field ==
        "query.all_of.queries[1].filter.reporting_countries[1]") {
      EXPECT_THAT(violation.description, HasSubstr("XX"));
    }
  }
}

// Values that are valid only after canonicalization: lower-case codes and
// aliases of reporting countries, a country's alias as a partner.
TEST_F(QueryEngineTest, CanonicalizedValuesAreValid) {
  CountryQuery query;
  RecordFilter* filter = query.mutable_filter();
  filter->add_reporting_countries("gr");
  filter->add_reporting_countries("El");
  filter->add_reporting_countries("GB");
  filter->add_partner_ids("GR");
  filter->add_partner_ids("IOM");
  filter->add_target_regions("SAHEL");
  EXPECT_TRUE(ValidateQuery(query, *registry_, "query").ok());
  filter->add_partner_ids("gr");
  EXPECT_THAT(ViolatedFields(ValidateQuery(query, *registry_, "query")),
              ElementsAre("query.filter.partner_ids[2]"));
}

TEST_F(QueryEngineTest, MalformedValuesAreReportedOnce) {
  CountryQuery query;
  query.mutable_filter()->add_target_regions("sahel");
  query.mutable_filter()->add_kinds(cooperation::v1::RECORD_KIND_UNSPECIFIED);
  const absl::Status status = ValidateQuery(query, *registry_, "query");
  EXPECT_THAT(ViolatedFields(status),
              ::testing::UnorderedElementsAre(
                  "query.filter.kinds[0]", "query.filter.target_regions[0]"));
}

TEST_F(QueryEngineTest, DimensionsAndMeasuresAreChecked) {
  const CountryQuery query = FilterQuery(RecordFilter());
  auto breakdown =
      Breakdown(index_, *registry_, kStudyDay, query,
                stats::v1::DIMENSION_UNSPECIFIED, stats::v1::MEASURE_RECORDS);
  ASSERT_EQ(breakdown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ViolatedFields(breakdown.status()), ElementsAre("dimension"));
  breakdown = Breakdown(index_, *registry_, kStudyDay, query,
                        static_cast<Dimension>(99), stats::v1::MEASURE_RECORDS);
  EXPECT_THAT(ViolatedFields(breakdown.status()), ElementsAre("dimension"));
  breakdown = Breakdown(index_, *registry_, kStudyDay, query,
                        stats::v1::DIMENSION_KIND, static_cast<Measure>(7));
  EXPECT_THAT(ViolatedFields(breakdown.status()), ElementsAre("measure"));

  auto cross = CrossTabulate(
      index_, *registry_, kStudyDay, query, stats::v1::DIMENSION_KIND,
      stats::v1::DIMENSION_UNSPECIFIED, stats::v1::MEASURE_RECORDS);
  EXPECT_THAT(ViolatedFields(cross.status()), ElementsAre("column_dimension"));
  cross = CrossTabulate(index_, *registry_, kStudyDay, query,
                        stats::v1::DIMENSION_UNSPECIFIED,
                        stats::v1::DIMENSION_KIND, stats::v1::MEASURE_RECORDS);
  EXPECT_THAT(ViolatedFields(cross.status()), ElementsAre("row_dimension"));
}

TEST_F(QueryEngineTest, ShareNamesPartAndWhole) {
  CountryQuery bad;
  bad.mutable_filter()->add_target_regions("ATLANTIS");
  auto share = Share(index_, *registry_, kStudyDay, bad, CountryQuery());
  ASSERT_EQ(share.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ViolatedFields(share.status()),
              ElementsAre("part.filter.target_regions[0]", "whole"));
}

TEST_F(QueryEngineTest, AnEmptyIndexAnswersNothing) {
  auto response = CountCountries(index_, *registry_, kStudyDay,
                                 FilterQuery(RecordFilter()));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->count(), 0);
  EXPECT_EQ(response->footnote(), "");
  auto breakdown =
      Breakdown(index_, *registry_, kStudyDay, FilterQuery(RecordFilter()),
                stats::v1::DIMENSION_YEAR, stats::v1::MEASURE_RECORDS);
  ASSERT_TRUE(breakdown.ok()) << breakdown.status();
  EXPECT_THAT(breakdown->buckets(), IsEmpty());
}

// ------------------------------------------------------------ cost bounds

// Records with one tag each ("t-0", "t-1", ...), reported by AT, added to
// an index that holds only such records until it holds `tags` of them.
void AddTaggedRecords(RecordIndex& index, int tags) {
  for (int i = static_cast<int>(index.size()); i < tags; ++i) {
    CooperationRecord record;
    record.set_id(absl::StrCat("tagged-", i));
    record.set_reporting_country("AT");
    record.set_kind(cooperation::v1::RECORD_KIND_MEASURE);
    record.add_tags(absl::StrCat("t-", i));
    record.set_revision(i + 1);
    ASSERT_TRUE(index.Upsert(record));
  }
}

TEST_F(QueryEngineTest, FilterValuesPerFieldAreCapped) {
  RecordFilter filter;
  for (int i = 0; i < domain::kMaxFilterValues; ++i) {
    filter.add_tags(absl::StrCat("t-", i));
  }
  EXPECT_TRUE(ValidateQuery(FilterQuery(filter), *registry_, "query").ok());
  filter.add_tags("one-more");
  const absl::Status status =
      ValidateQuery(FilterQuery(filter), *registry_, "query");
  ASSERT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ViolatedFields(status), ElementsAre("query.filter.tags"));
  EXPECT_THAT(status.message(),
              HasSubstr(absl::StrCat(domain::kMaxFilterValues + 1)));
  EXPECT_THAT(status.message(),
              HasSubstr(absl::StrCat(domain::kMaxFilterValues)));
  // The same cap for enum fields, which may repeat a value.
  RecordFilter kinds;
  for (int i = 0; i <= domain::kMaxFilterValues; ++i) kinds.add_kinds(kGood);
  EXPECT_THAT(
      ViolatedFields(ValidateQuery(FilterQuery(kinds), *registry_, "query")),
      ElementsAre("query.filter.kinds"));
}

TEST_F(QueryEngineTest, FilterValuesPerQueryAreCapped) {
  CountryQuery query;
  int values = 0;
  while (values + domain::kMaxFilterValues <= kMaxQueryFilterValues) {
    RecordFilter* filter =
        query.mutable_any_of()->add_queries()->mutable_filter();
    for (int i = 0; i < domain::kMaxFilterValues; ++i) {
      filter->add_tags(absl::StrCat("t-", i));
    }
    values += domain::kMaxFilterValues;
  }
  ASSERT_EQ(values, kMaxQueryFilterValues);
  EXPECT_TRUE(ValidateQuery(query, *registry_, "query").ok());
  query.mutable_any_of()->add_queries()->mutable_filter()->add_tags("t-0");
  const absl::Status status = ValidateQuery(query, *registry_, "query");
  ASSERT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ViolatedFields(status), ElementsAre("query"));
  EXPECT_THAT(status.message(), HasSubstr(absl::StrCat(kMaxQueryFilterValues)));
}

TEST_F(QueryEngineTest, BreakdownBucketsAreCapped) {
  AddTaggedRecords(index_, kMaxBreakdownBuckets);
  const CountryQuery all = FilterQuery(RecordFilter());
  auto breakdown =
      Breakdown(index_, *registry_, kStudyDay, all, stats::v1::DIMENSION_TAG,
                stats::v1::MEASURE_RECORDS);
  ASSERT_TRUE(breakdown.ok()) << breakdown.status();
  EXPECT_EQ(breakdown->buckets_size(), kMaxBreakdownBuckets);

  AddTaggedRecords(index_, kMaxBreakdownBuckets + 1);
  breakdown = Breakdown(index_, *registry_, kStudyDay, all,
                        stats::v1::DIMENSION_TAG, stats::v1::MEASURE_RECORDS);
  ASSERT_EQ(breakdown.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(breakdown.status().message(),
              HasSubstr(absl::StrCat(kMaxBreakdownBuckets)));
}

TEST_F(QueryEngineTest, CrossTabulationCellsAreCapped) {
  int side = 1;
  while ((side + 1) * (side + 1) <= kMaxCrossTabulateCells) ++side;
  AddTaggedRecords(index_, side);
  const CountryQuery all = FilterQuery(RecordFilter());
  auto cross = CrossTabulate(index_, *registry_, kStudyDay, all,
                             stats::v1::DIMENSION_TAG, stats::v1::DIMENSION_TAG,
                             stats::v1::MEASURE_RECORDS);
  ASSERT_TRUE(cross.ok()) << cross.status();
  EXPECT_EQ(cross->rows_size(), side);

  AddTaggedRecords(index_, side + 1);
  cross = CrossTabulate(index_, *registry_, kStudyDay, all,
                        stats::v1::DIMENSION_TAG, stats::v1::DIMENSION_TAG,
                        stats::v1::MEASURE_RECORDS);
  ASSERT_EQ(cross.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(cross.status().message(),
              HasSubstr(absl::StrCat(kMaxCrossTabulateCells)));
}

TEST_F(QueryEngineTest, ExplainedRecordsAreCapped) {
  AddTaggedRecords(index_, kMaxExplainRecords);
  const CountryQuery all = FilterQuery(RecordFilter());
  auto explain = Explain(index_, *registry_, kStudyDay, all);
  ASSERT_TRUE(explain.ok()) << explain.status();
  AddTaggedRecords(index_, kMaxExplainRecords + 1);
  explain = Explain(index_, *registry_, kStudyDay, all);
  ASSERT_EQ(explain.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(explain.status().message(),
              HasSubstr(absl::StrCat(kMaxExplainRecords)));
}

TEST_F(QueryEngineTest, APastDeadlineStopsTheComputation) {
  LoadSynthetic(4000);
  StopWhen stop;
  stop.deadline = absl::Now() - absl::Seconds(1);
  const CountryQuery all = FilterQuery(RecordFilter());
  auto count = CountCountries(index_, *registry_, kStudyDay, all, stop);
  EXPECT_EQ(count.status().code(), absl::StatusCode::kDeadlineExceeded);
  auto cross = CrossTabulate(
      index_, *registry_, kStudyDay, all, stats::v1::DIMENSION_TAG,
      stats::v1::DIMENSION_PARTNER, stats::v1::MEASURE_RECORDS, stop);
  EXPECT_EQ(cross.status().code(), absl::StatusCode::kDeadlineExceeded);
  // Without a stop the same questions are answered.
  EXPECT_TRUE(CountCountries(index_, *registry_, kStudyDay, all).ok());
}

TEST_F(QueryEngineTest, CancellationStopsALongComputation) {
  LoadSynthetic(4000);
  // Cancelled only after the computation has begun: the engine must look
  // again while it works, not just once at the start.
  int looks = 0;
  StopWhen stop;
  stop.cancelled = [&looks] { return ++looks > 1; };
  const CountryQuery all = FilterQuery(RecordFilter());
  auto cross = CrossTabulate(
      index_, *registry_, kStudyDay, all, stats::v1::DIMENSION_TAG,
      stats::v1::DIMENSION_PARTNER, stats::v1::MEASURE_RECORDS, stop);
  EXPECT_EQ(cross.status().code(), absl::StatusCode::kCancelled);
  EXPECT_GT(looks, 1);
}

// ------------------------------------------------------- canonical queries

std::string Deterministic(const google::protobuf::Message& message) {
  std::string bytes;
  google::protobuf::io::StringOutputStream stream(&bytes);
  google::protobuf::io::CodedOutputStream out(&stream);
  out.SetSerializationDeterministic(true);
  message.SerializeToCodedStream(&out);
  return bytes;
}

TEST_F(QueryEngineTest,
       OrderAliasesDuplicatesAndUnknownFieldsCanonicalizeAlike) {
  CountryQuery a;
  RecordFilter* fa = a.mutable_any_of()->add_queries()->mutable_filter();
  fa->add_reporting_countries("GR");
  fa->add_reporting_countries("AT");
  fa->add_reporting_countries("at");
  fa->add_partner_ids("IOM");
  fa->add_partner_ids("GB");
  fa->add_tags("low-trust");
  fa->add_tags("covid-19");
  fa->add_kinds(kGood);
  fa->add_kinds(cooperation::v1::RECORD_KIND_MEASURE);

  CountryQuery b;
  RecordFilter* fb = b.mutable_any_of()->add_queries()->mutable_filter();
  fb->add_reporting_countries("EL");
  fb->add_reporting_countries("AT");
  fb->add_partner_ids("UK");
  fb->add_partner_ids("IOM");
  fb->add_tags("covid-19");
  fb->add_tags("low-trust");
  fb->add_tags("covid-19");
  fb->add_kinds(cooperation::v1::RECORD_KIND_MEASURE);
  fb->add_kinds(kGood);
  fb->GetReflection()->MutableUnknownFields(fb)->AddVarint(1000, 7);

  ASSERT_TRUE(ValidateQuery(a, *registry_, "query").ok());
  ASSERT_TRUE(ValidateQuery(b, *registry_, "query").ok());
  EXPECT_NE(Deterministic(a), Deterministic(b));
  CanonicalizeQuery(&a, *registry_);
  CanonicalizeQuery(&b, *registry_);
  EXPECT_EQ(Deterministic(a), Deterministic(b));
  EXPECT_THAT(a.any_of().queries(0).filter().reporting_countries(),
              ElementsAre("AT", "EL"));
  EXPECT_THAT(a.any_of().queries(0).filter().partner_ids(),
              ElementsAre("IOM", "UK"));
}

TEST_F(QueryEngineTest, CanonicalQueriesAnswerLikeTheirOriginals) {
  LoadSynthetic(2000);
  QueryMaker maker(7);
  for (int i = 0; i < 200; ++i) {
    const CountryQuery query = maker.Query(maker.Uniform(0, 3));
    CountryQuery canonical = query;
    CanonicalizeQuery(&canonical, *registry_);
    auto raw = Breakdown(index_, *registry_, kStudyDay, query,
                         stats::v1::DIMENSION_TAG, stats::v1::MEASURE_RECORDS);
    auto same = Breakdown(index_, *registry_, kStudyDay, canonical,
                          stats::v1::DIMENSION_TAG, stats::v1::MEASURE_RECORDS);
    ASSERT_EQ(raw.ok(), same.ok()) << query.ShortDebugString();
    if (!raw.ok()) continue;
    EXPECT_EQ(raw->SerializeAsString(), same->SerializeAsString())
        << query.ShortDebugString();
  }
}

}  // namespace
}  // namespace thb::aggregator
