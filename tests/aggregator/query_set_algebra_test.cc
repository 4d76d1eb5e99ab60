// all_of, any_of and difference over small hand-made indexes, and answers
// that follow writes, the snapshot and the day.

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
#include "tests/aggregator/query_engine_fixture.h"
#include "tests/aggregator/reference_registry.h"

namespace thb::aggregator::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

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

}  // namespace
}  // namespace thb::aggregator::testing
