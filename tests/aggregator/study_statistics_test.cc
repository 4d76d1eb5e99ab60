// The study's published figures, through the statistics engine: the
// dataset's records in the index, the registry's reference data for EMN
// statuses.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/dates.h"
#include "domain/dataset.h"
#include "domain/record_filter.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/aggregator/query_engine.h"
#include "services/aggregator/record_index.h"
#include "tests/aggregator/reference_registry.h"

namespace thb::aggregator {
namespace {

using cooperation::v1::Dataset;
using cooperation::v1::Statement;
using stats::v1::CountryQuery;
using ::testing::ElementsAre;

class StudyStatisticsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto dataset = domain::LoadDataset(THB_STUDY_DATASET);
    ASSERT_TRUE(dataset.ok()) << dataset.status();
    dataset_ = new Dataset(*std::move(dataset));
    registry_ = testing::ReferenceSnapshot().release();
    index_ = new RecordIndex();
    int64_t revision = 0;
    for (auto record : dataset_->records()) {
      record.set_revision(++revision);
      ASSERT_TRUE(index_->Upsert(record)) << record.id();
    }
  }

  static void TearDownTestSuite() {
    delete dataset_;
    delete registry_;
    delete index_;
    dataset_ = nullptr;
    registry_ = nullptr;
    index_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(dataset_, nullptr);
    ASSERT_NE(registry_, nullptr);
    ASSERT_NE(index_, nullptr);
  }

  static const Statement& StatementOf(int footnote) {
    for (const auto& statement : dataset_->statements()) {
      if (statement.footnote() == footnote) return statement;
    }
    ADD_FAILURE() << "no statement with footnote " << footnote;
    return Statement::default_instance();
  }

  static CountryQuery QueryOf(const Statement& statement) {
    CountryQuery query;
    *query.mutable_filter() = domain::ToStatsFilter(statement.filter());
    return query;
  }

  static stats::v1::CountCountriesResponse Count(const CountryQuery& query,
                                                 absl::CivilDay day) {
    auto response = CountCountries(*index_, *registry_, day, query);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? *response : stats::v1::CountCountriesResponse();
  }

  static Dataset* dataset_;
  static registry::RegistrySnapshot* registry_;
  static RecordIndex* index_;
};

Dataset* StudyStatisticsTest::dataset_ = nullptr;
registry::RegistrySnapshot* StudyStatisticsTest::registry_ = nullptr;
RecordIndex* StudyStatisticsTest::index_ = nullptr;

const absl::CivilDay kStudyDay(2025, 7, 16);

TEST_F(StudyStatisticsTest, EveryStatementComesBackAsPublished) {
  ASSERT_EQ(dataset_->statements_size(), 24);
  for (const auto& statement : dataset_->statements()) {
    absl::CivilDay day = kStudyDay;
    if (!statement.as_of_date().empty()) {
      auto parsed = ParseDate(statement.as_of_date(), "as_of_date");
      ASSERT_TRUE(parsed.ok()) << parsed.status();
      day = *parsed;
    }
    ASSERT_TRUE(ValidateQuery(QueryOf(statement), *registry_, "query").ok())
        << "fn " << statement.footnote();
    const auto response = Count(QueryOf(statement), day);
    EXPECT_EQ(response.count(), statement.count())
        << "fn " << statement.footnote();
    EXPECT_EQ(response.member_count() + response.observer_count(),
              response.count())
        << "fn " << statement.footnote();
    if (!statement.countries().empty()) {
      EXPECT_EQ(response.footnote(), statement.countries())
          << "fn " << statement.footnote();
    }
  }
}

TEST_F(StudyStatisticsTest, Footnote15ListsMembersThenObservers) {
  const auto response = Count(QueryOf(StatementOf(15)), kStudyDay);
  EXPECT_THAT(response.countries(),
              ElementsAre("AT", "BG", "DE", "EL", "FR", "HU", "LT", "NL", "PL",
                          "GE", "RS"));
  EXPECT_EQ(response.member_count(), 9);
  EXPECT_EQ(response.observer_count(), 2);
  EXPECT_EQ(response.footnote(),
            "AT, BG, DE, EL, FR, HU, LT, NL, PL, and GE, RS.");
  EXPECT_EQ(response.as_of().as_of_date(), "2025-07-16");
}

TEST_F(StudyStatisticsTest, LowTrustIsOverHalfOfThePreventionChallenges) {
  auto share = Share(*index_, *registry_, kStudyDay, QueryOf(StatementOf(28)),
                     QueryOf(StatementOf(27)));
  ASSERT_TRUE(share.ok()) << share.status();
  EXPECT_EQ(share->part_count(), 5);
  EXPECT_EQ(share->whole_count(), 9);
  EXPECT_DOUBLE_EQ(share->percent(), 55.6);
  EXPECT_EQ(share->text(), "5 of 9, 55.6%");
  EXPECT_EQ(share->part_footnote(), "AT, FR, LV, PL, SI.");
  EXPECT_EQ(share->whole_footnote(), "AT, BE, DE, ES, FR, LV, PL, SE, SI.");
  EXPECT_EQ(share->as_of().as_of_date(), "2025-07-16");
}

// RS is an Observer from 2023-03-16. Before, it is a third country: still
// in the answer (its record is there), counted as neither Member nor
// Observer, and placed after the Observers. The footnote reads the same,
// since StudyFootnote puts every non-Member after the "and".
TEST_F(StudyStatisticsTest, SerbiaIsAnObserverOnlyFromMarch2023) {
  const CountryQuery query = QueryOf(StatementOf(15));
  for (const absl::CivilDay day :
       {absl::CivilDay(2023, 1, 1), absl::CivilDay(2023, 3, 15)}) {
    const auto before = Count(query, day);
    EXPECT_EQ(before.count(), 11) << day;
    EXPECT_EQ(before.member_count(), 9) << day;
    EXPECT_EQ(before.observer_count(), 1) << day;
    EXPECT_THAT(before.countries(),
                ElementsAre("AT", "BG", "DE", "EL", "FR", "HU", "LT", "NL",
                            "PL", "GE", "RS"));
    EXPECT_EQ(before.footnote(),
              "AT, BG, DE, EL, FR, HU, LT, NL, PL, and GE, RS.");
  }
  const auto from = Count(query, absl::CivilDay(2023, 3, 16));
  EXPECT_EQ(from.observer_count(), 2);

  // Asked by status, RS joins the Observers on its date.
  CountryQuery observers = query;
  observers.mutable_filter()->add_emn_statuses(
      registry::v1::EMN_STATUS_OBSERVER);
  EXPECT_THAT(Count(observers, absl::CivilDay(2023, 3, 15)).countries(),
              ElementsAre("GE"));
  EXPECT_THAT(Count(observers, absl::CivilDay(2023, 3, 16)).countries(),
              ElementsAre("GE", "RS"));
  CountryQuery third = query;
  third.mutable_filter()->add_emn_statuses(registry::v1::EMN_STATUS_NONE);
  EXPECT_THAT(Count(third, absl::CivilDay(2023, 1, 1)).countries(),
              ElementsAre("RS"));

  auto explain =
      Explain(*index_, *registry_, absl::CivilDay(2023, 1, 1), query);
  ASSERT_TRUE(explain.ok()) << explain.status();
  ASSERT_EQ(explain->countries_size(), 11);
  EXPECT_EQ(explain->countries(10).country(), "RS");
  EXPECT_EQ(explain->countries(10).emn_status(), registry::v1::EMN_STATUS_NONE);
  EXPECT_EQ(explain->countries(9).emn_status(),
            registry::v1::EMN_STATUS_OBSERVER);
}

TEST_F(StudyStatisticsTest, BreakdownsReproduceTheFootnoteFamilies) {
  CountryQuery everything;
  everything.mutable_filter();
  std::map<std::string, int> footnote_of = {
      {"UNODC", 22}, {"OSCE", 23}, {"ICMPD", 24}, {"IOM", 25}};
  auto partners =
      Breakdown(*index_, *registry_, kStudyDay, everything,
                stats::v1::DIMENSION_PARTNER, stats::v1::MEASURE_COUNTRIES);
  ASSERT_TRUE(partners.ok()) << partners.status();
  int found = 0;
  for (const auto& bucket : partners->buckets()) {
    auto it = footnote_of.find(bucket.value());
    if (it == footnote_of.end()) continue;
    ++found;
    const Statement& statement = StatementOf(it->second);
    EXPECT_EQ(bucket.count(), statement.count()) << bucket.value();
    EXPECT_EQ(bucket.footnote(), statement.countries()) << bucket.value();
  }
  EXPECT_EQ(found, 4);
  // Footnote 7 names no agency: its partners count under their kind.
  bool eu_agencies = false;
  for (const auto& bucket : partners->buckets()) {
    if (bucket.value() == "<PARTNER_KIND_EU_AGENCY>") {
      eu_agencies = true;
      EXPECT_EQ(bucket.footnote(), StatementOf(7).countries());
    }
  }
  EXPECT_TRUE(eu_agencies);

  std::map<std::string, int> region_footnote = {{"SAHEL", 17},
                                                {"HORN_OF_AFRICA", 18},
                                                {"NORTH_AFRICA", 19},
                                                {"EASTERN_EUROPE", 20},
                                                {"WESTERN_BALKANS", 21}};
  auto regions = Breakdown(*index_, *registry_, kStudyDay, everything,
                           stats::v1::DIMENSION_TARGET_REGION,
                           stats::v1::MEASURE_UNSPECIFIED);
  ASSERT_TRUE(regions.ok()) << regions.status();
  ASSERT_EQ(regions->buckets_size(), 5);
  for (const auto& bucket : regions->buckets()) {
    const Statement& statement =
        StatementOf(region_footnote.at(bucket.value()));
    EXPECT_EQ(bucket.count(), statement.count()) << bucket.value();
    EXPECT_EQ(bucket.footnote(), statement.countries()) << bucket.value();
  }
  // Largest first, ties by value.
  EXPECT_EQ(regions->buckets(0).value(), "EASTERN_EUROPE");
  EXPECT_EQ(regions->buckets(1).value(), "HORN_OF_AFRICA");
  EXPECT_EQ(regions->buckets(2).value(), "WESTERN_BALKANS");
}

TEST_F(StudyStatisticsTest, ExplainTracesEveryCountryToItsFootnotedRecord) {
  auto explain =
      Explain(*index_, *registry_, kStudyDay, QueryOf(StatementOf(31)));
  ASSERT_TRUE(explain.ok()) << explain.status();
  ASSERT_EQ(explain->countries_size(), 3);
  EXPECT_EQ(explain->footnote(), StatementOf(31).countries());
  for (const auto& country : explain->countries()) {
    ASSERT_EQ(country.records_size(), 1) << country.country();
    const auto& evidence = country.records(0);
    EXPECT_EQ(evidence.kind(),
              cooperation::v1::RECORD_KIND_AGREEMENT_EVALUATION);
    EXPECT_FALSE(evidence.title().empty());
    ASSERT_EQ(evidence.sources_size(), 1);
    EXPECT_EQ(evidence.sources(0).footnote(), 31);
    EXPECT_FALSE(evidence.sources(0).citation().empty());
  }
  // All 179 records cite the same press release: few distinct sources.
  EXPECT_LE(index_->source_count(), 30u);
}

}  // namespace
}  // namespace thb::aggregator
