// Canonical queries: one form for queries that ask the same, answered as
// their originals.

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
#include "services/aggregator/query_engine.h"
#include "services/aggregator/record_index.h"
#include "tests/aggregator/query_engine_fixture.h"
#include "tests/aggregator/reference_registry.h"

namespace thb::aggregator::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

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
}  // namespace thb::aggregator::testing
