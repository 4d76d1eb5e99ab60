// The bounds on what one query may cost: values per filter, buckets, cells,
// explained records, the deadline and cancellation.

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

}  // namespace
}  // namespace thb::aggregator::testing
