#include "domain/record_filter.h"

#include <ostream>
#include <string>
#include <vector>

#include "common/errors.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace thb::domain {
namespace {

using cooperation::v1::CooperationRecord;
using cooperation::v1::RecordFilter;
using registry::v1::EMN_STATUS_MEMBER;
using registry::v1::EMN_STATUS_NONE;
using registry::v1::EMN_STATUS_OBSERVER;
using registry::v1::EmnStatus;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

template <typename Message>
Message Parse(const std::string& text) {
  Message message;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &message))
      << text;
  return message;
}

// A record with a bit of everything, reported by a Member.
CooperationRecord SampleRecord() {
  return Parse<CooperationRecord>(R"pb(
    id: "fn15-el"
    reporting_country: "EL"
    kind: RECORD_KIND_GOOD_PRACTICE
    thematic_areas: [ THEMATIC_AREA_PREVENTION, THEMATIC_AREA_DIGITAL ]
    form: COOPERATION_FORM_STRUCTURED
    partners { kind: PARTNER_KIND_INTERNATIONAL_ORGANISATION id: "IOM" }
    partners { kind: PARTNER_KIND_THIRD_COUNTRY }
    implementers { kind: PARTNER_KIND_NGO id: "NGO" }
    implementers { kind: PARTNER_KIND_EU_AGENCY id: "EUROPOL" }
    target_regions: "SAHEL"
    start_year: 2021
    end_year: 2023
    tags: [ "low-trust", "covid-19" ]
  )pb");
}

struct MatchCase {
  std::string name;
  std::string filter;
  bool matches;
  EmnStatus status = EMN_STATUS_MEMBER;
};

class MatchesTest : public ::testing::TestWithParam<MatchCase> {};

TEST_P(MatchesTest, SelectsAsTheDesignSays) {
  const MatchCase& test = GetParam();
  EXPECT_EQ(
      Matches(SampleRecord(), Parse<RecordFilter>(test.filter), test.status),
      test.matches)
      << test.filter;
}

INSTANTIATE_TEST_SUITE_P(
    Semantics, MatchesTest,
    ::testing::Values(
        MatchCase{"EmptyFilterSelectsEverything", "", true},
        MatchCase{"Kind", "kinds: RECORD_KIND_GOOD_PRACTICE", true},
        MatchCase{"OtherKind", "kinds: RECORD_KIND_CHALLENGE", false},
        MatchCase{"KindsOr",
                  "kinds: [RECORD_KIND_CHALLENGE, RECORD_KIND_GOOD_PRACTICE]",
                  true},
        MatchCase{"AreaAmongSeveral", "thematic_areas: THEMATIC_AREA_DIGITAL",
                  true},
        MatchCase{"AreasOr",
                  "thematic_areas: [THEMATIC_AREA_JUDICIAL, "
                  "THEMATIC_AREA_PREVENTION]",
                  true},
        MatchCase{"MissingArea", "thematic_areas: THEMATIC_AREA_JUDICIAL",
                  false},
        MatchCase{"FieldsAnd",
                  "kinds: RECORD_KIND_GOOD_PRACTICE "
                  "thematic_areas: THEMATIC_AREA_JUDICIAL",
                  false},
        MatchCase{"FieldsAndBothHold",
                  "kinds: RECORD_KIND_GOOD_PRACTICE "
                  "thematic_areas: THEMATIC_AREA_PREVENTION "
                  "forms: COOPERATION_FORM_STRUCTURED",
                  true},
        MatchCase{"FormsOr",
                  "forms: [COOPERATION_FORM_PROTOCOL, "
                  "COOPERATION_FORM_STRUCTURED]",
                  true},
        MatchCase{"OtherForm", "forms: COOPERATION_FORM_OPERATIONAL_AD_HOC",
                  false},
        MatchCase{"PartnerKind", "partner_kinds: PARTNER_KIND_THIRD_COUNTRY",
                  true},
        MatchCase{"PartnerKindOfAnImplementerOnly",
                  "partner_kinds: PARTNER_KIND_EU_AGENCY", false},
        MatchCase{"PartnerId", "partner_ids: \"IOM\"", true},
        MatchCase{"PartnerIdOfAnImplementerOnly", "partner_ids: \"EUROPOL\"",
                  false},
        MatchCase{"PartnerIdsOr", "partner_ids: [\"UNODC\", \"IOM\"]", true},
        MatchCase{"TargetRegion", "target_regions: \"SAHEL\"", true},
        MatchCase{"OtherRegion", "target_regions: \"NORTH_AFRICA\"", false},
        MatchCase{"ReportingCountry", "reporting_countries: \"EL\"", true},
        MatchCase{"ReportingCountryAlias", "reporting_countries: \"GR\"", true},
        MatchCase{"ReportingCountryLowerCase", "reporting_countries: \"el\"",
                  true},
        MatchCase{"OtherReportingCountry", "reporting_countries: \"FR\"",
                  false},
        MatchCase{"Status", "emn_statuses: EMN_STATUS_MEMBER", true},
        MatchCase{"OtherStatus", "emn_statuses: EMN_STATUS_OBSERVER", false},
        MatchCase{"StatusGiven", "emn_statuses: EMN_STATUS_OBSERVER", true,
                  EMN_STATUS_OBSERVER},
        MatchCase{"StatusesOr",
                  "emn_statuses: [EMN_STATUS_OBSERVER, EMN_STATUS_NONE]", true,
                  EMN_STATUS_NONE},
        MatchCase{"PeriodInside", "from_year: 2022 to_year: 2022", true},
        MatchCase{"PeriodOverlapsStart", "from_year: 2019 to_year: 2021", true},
        MatchCase{"PeriodOverlapsEnd", "from_year: 2023 to_year: 2030", true},
        MatchCase{"PeriodBefore", "from_year: 2010 to_year: 2020", false},
        MatchCase{"PeriodAfter", "from_year: 2024", false},
        MatchCase{"PeriodOpenStart", "to_year: 2021", true},
        MatchCase{"PeriodOpenStartBefore", "to_year: 2020", false},
        MatchCase{"Tag", "tags: \"covid-19\"", true},
        MatchCase{"TagsOr", "tags: [\"cultural-differences\", \"low-trust\"]",
                  true},
        MatchCase{"OtherTag", "tags: \"cultural-differences\"", false}),
    [](const ::testing::TestParamInfo<MatchCase>& info) {
      return info.param.name;
    });

TEST(MatchesTest, ARecordWithoutAPeriodIsOpenOnBothSides) {
  CooperationRecord record = SampleRecord();
  record.clear_start_year();
  record.clear_end_year();
  EXPECT_TRUE(Matches(record,
                      Parse<RecordFilter>("from_year: 1990 to_year: 1991"),
                      EMN_STATUS_MEMBER));
  record.set_end_year(2020);
  EXPECT_FALSE(Matches(record, Parse<RecordFilter>("from_year: 2021"),
                       EMN_STATUS_MEMBER));
  EXPECT_TRUE(
      Matches(record, Parse<RecordFilter>("to_year: 1950"), EMN_STATUS_MEMBER));
  record.set_start_year(2019);
  record.clear_end_year();
  EXPECT_TRUE(Matches(record, Parse<RecordFilter>("from_year: 2099"),
                      EMN_STATUS_MEMBER));
  EXPECT_FALSE(
      Matches(record, Parse<RecordFilter>("to_year: 2018"), EMN_STATUS_MEMBER));
}

TEST(MatchesTest, APartnerWithoutIdMatchesNoId) {
  CooperationRecord record = SampleRecord();
  record.clear_partners();
  record.add_partners()->set_kind(cooperation::v1::PARTNER_KIND_EU_AGENCY);
  EXPECT_TRUE(Matches(
      record, Parse<RecordFilter>("partner_kinds: PARTNER_KIND_EU_AGENCY"),
      EMN_STATUS_MEMBER));
  EXPECT_FALSE(Matches(record, Parse<RecordFilter>("partner_ids: \"EUROPOL\""),
                       EMN_STATUS_MEMBER));
}

TEST(ValidateFilterTest, AcceptsAValidFilter) {
  EXPECT_TRUE(ValidateFilter(Parse<RecordFilter>(R"pb(
                               kinds: RECORD_KIND_CHALLENGE
                               thematic_areas: THEMATIC_AREA_PREVENTION
                               forms: COOPERATION_FORM_PROTOCOL
                               partner_kinds: PARTNER_KIND_CSO
                               partner_ids: [ "IOM", "COUNCIL_OF_EUROPE", "GE" ]
                               target_regions: "WESTERN_BALKANS"
                               reporting_countries: [ "EL", "gr", "GE" ]
                               emn_statuses: EMN_STATUS_NONE
                               from_year: 2021
                               to_year: 2021
                               tags: [ "low-trust", "covid-19" ]
                             )pb"),
                             "filter")
                  .ok());
  EXPECT_TRUE(ValidateFilter(RecordFilter(), "filter").ok());
}

struct InvalidCase {
  std::string filter;
  std::string field;
  std::string says;
};

// Names a case by its filter, so that test names never show raw bytes.
void PrintTo(const InvalidCase& test, std::ostream* os) { *os << test.filter; }

class ValidateFilterErrorTest : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(ValidateFilterErrorTest, NamesTheField) {
  const InvalidCase& test = GetParam();
  const absl::Status status =
      ValidateFilter(Parse<RecordFilter>(test.filter), "filter");
  ASSERT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << test.filter;
  const std::vector<FieldViolation> violations = FieldViolations(status);
  ASSERT_EQ(violations.size(), 1u) << status;
  EXPECT_EQ(violations[0].field, test.field);
  EXPECT_THAT(violations[0].description, HasSubstr(test.says));
  EXPECT_THAT(std::string(status.message()), HasSubstr(test.field));
}

INSTANTIATE_TEST_SUITE_P(
    Fields, ValidateFilterErrorTest,
    ::testing::Values(
        InvalidCase{"kinds: RECORD_KIND_UNSPECIFIED", "filter.kinds[0]",
                    "RECORD_KIND_UNSPECIFIED selects nothing"},
        InvalidCase{"thematic_areas: [THEMATIC_AREA_PREVENTION, 99]",
                    "filter.thematic_areas[1]",
                    "99 is not a value of thb.cooperation.v1.ThematicArea"},
        InvalidCase{"forms: 0", "filter.forms[0]", "UNSPECIFIED"},
        InvalidCase{"partner_kinds: 42", "filter.partner_kinds[0]",
                    "42 is not a value"},
        InvalidCase{"emn_statuses: [EMN_STATUS_MEMBER, EMN_STATUS_UNSPECIFIED]",
                    "filter.emn_statuses[1]", "EMN_STATUS_UNSPECIFIED"},
        InvalidCase{"partner_ids: [\"IOM\", \"iom\"]", "filter.partner_ids[1]",
                    "\"iom\" is not an organisation id"},
        InvalidCase{"target_regions: \"\"", "filter.target_regions[0]",
                    "\"\" is not a region id"},
        InvalidCase{"reporting_countries: [\"EL\", \"GRC\"]",
                    "filter.reporting_countries[1]",
                    "\"GRC\" is not a two-letter country code"},
        InvalidCase{"reporting_countries: \"E1\"",
                    "filter.reporting_countries[0]", "two-letter"},
        InvalidCase{"from_year: 1899", "filter.from_year",
                    "1899 is outside the years 1900 to 2100"},
        InvalidCase{"to_year: 2101", "filter.to_year", "2101 is outside"},
        InvalidCase{"from_year: -5", "filter.from_year", "-5 is outside"},
        InvalidCase{"from_year: 2023 to_year: 2021", "filter.to_year",
                    "2021 is before from_year 2023"},
        InvalidCase{"tags: [\"low-trust\", \"Low-Trust\"]", "filter.tags[1]",
                    "\"Low-Trust\" is not a lower-kebab tag"},
        InvalidCase{"tags: \"low_trust\"", "filter.tags[0]", "lower-kebab"},
        InvalidCase{"tags: \"-trust\"", "filter.tags[0]", "lower-kebab"},
        InvalidCase{"tags: \"low--trust\"", "filter.tags[0]", "lower-kebab"}));

TEST(ValidateFilterTest, ReportsEveryViolationAndHonoursThePrefix) {
  const absl::Status status = ValidateFilter(
      Parse<RecordFilter>("kinds: 0 tags: \"A\" from_year: 3000"),
      "query.all_of.queries[0].filter");
  std::vector<std::string> fields;
  for (const auto& violation : FieldViolations(status)) {
    fields.push_back(violation.field);
  }
  EXPECT_THAT(fields, ElementsAre("query.all_of.queries[0].filter.kinds[0]",
                                  "query.all_of.queries[0].filter.from_year",
                                  "query.all_of.queries[0].filter.tags[0]"));

  const absl::Status bare = ValidateFilter(Parse<RecordFilter>("kinds: 0"), "");
  ASSERT_EQ(FieldViolations(bare).size(), 1u);
  EXPECT_EQ(FieldViolations(bare)[0].field, "kinds[0]");
}

TEST(ValidateFilterTest, ShowsAHugeValueCutShort) {
  const absl::Status status = ValidateFilter(
      Parse<RecordFilter>("tags: \"" + std::string(500, 'X') + "\""), "f");
  ASSERT_FALSE(status.ok());
  EXPECT_LT(status.message().size(), 200u);
}

TEST(FilterConversionTest, RoundTripsEveryField) {
  const auto filter = Parse<RecordFilter>(R"pb(
    kinds: RECORD_KIND_CHALLENGE
    thematic_areas: [ THEMATIC_AREA_PREVENTION, THEMATIC_AREA_DIGITAL ]
    forms: COOPERATION_FORM_PROTOCOL
    partner_kinds: PARTNER_KIND_CSO
    partner_ids: "IOM"
    target_regions: "SAHEL"
    reporting_countries: "EL"
    emn_statuses: EMN_STATUS_OBSERVER
    from_year: 2021
    to_year: 2023
    tags: "low-trust"
  )pb");
  const stats::v1::RecordFilter stats = ToStatsFilter(filter);
  EXPECT_EQ(stats.kinds(0), cooperation::v1::RECORD_KIND_CHALLENGE);
  EXPECT_EQ(stats.thematic_areas_size(), 2);
  EXPECT_EQ(stats.partner_ids(0), "IOM");
  EXPECT_EQ(stats.emn_statuses(0), EMN_STATUS_OBSERVER);
  EXPECT_EQ(stats.to_year(), 2023);
  EXPECT_EQ(stats.tags(0), "low-trust");
  EXPECT_EQ(ToCooperationFilter(stats).SerializeAsString(),
            filter.SerializeAsString());
}

}  // namespace
}  // namespace thb::domain
