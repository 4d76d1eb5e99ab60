// Queries, dimensions and measures the engine refuses, each fault named by
// its path.

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

}  // namespace
}  // namespace thb::aggregator::testing
