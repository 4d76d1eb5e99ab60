#include "domain/emn_status.h"

#include <string>

#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace thb::domain {
namespace {

using registry::v1::Country;

Country Parse(const std::string& text) {
  Country country;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &country));
  return country;
}

// A member from 2008-05-14 to 2020-01-31, as the United Kingdom was.
const Country& FormerMember() {
  static const Country* country = new Country(Parse(R"pb(
    code: "UK"
    emn_history {
      status: EMN_STATUS_MEMBER
      start_date: "2008-05-14"
      end_date: "2020-01-31"
    }
  )pb"));
  return *country;
}

TEST(StatusOnTest, IsNoneBeforeTheFirstPeriod) {
  EXPECT_EQ(StatusOn(FormerMember(), absl::CivilDay(2008, 5, 13)),
            registry::v1::EMN_STATUS_NONE);
}

TEST(StatusOnTest, CountsTheFirstAndLastDayOfAPeriod) {
  EXPECT_EQ(StatusOn(FormerMember(), absl::CivilDay(2008, 5, 14)),
            registry::v1::EMN_STATUS_MEMBER);
  EXPECT_EQ(StatusOn(FormerMember(), absl::CivilDay(2020, 1, 31)),
            registry::v1::EMN_STATUS_MEMBER);
}

TEST(StatusOnTest, IsNoneAfterThePeriodEnds) {
  EXPECT_EQ(StatusOn(FormerMember(), absl::CivilDay(2020, 2, 1)),
            registry::v1::EMN_STATUS_NONE);
}

TEST(StatusOnTest, TakesAnOpenStartAsAlways) {
  const Country country =
      Parse(R"pb(emn_history { status: EMN_STATUS_OBSERVER })pb");
  EXPECT_EQ(StatusOn(country, absl::CivilDay(1900, 1, 1)),
            registry::v1::EMN_STATUS_OBSERVER);
}

TEST(StatusOnTest, TakesTheFirstPeriodThatContainsTheDay) {
  const Country country = Parse(R"pb(
    emn_history { status: EMN_STATUS_OBSERVER start_date: "2011-01-01" }
    emn_history { status: EMN_STATUS_MEMBER start_date: "2012-01-01" }
  )pb");
  EXPECT_EQ(StatusOn(country, absl::CivilDay(2011, 6, 1)),
            registry::v1::EMN_STATUS_OBSERVER);
  EXPECT_EQ(StatusOn(country, absl::CivilDay(2013, 6, 1)),
            registry::v1::EMN_STATUS_OBSERVER);
}

TEST(StatusOnTest, IsNoneWithoutHistory) {
  EXPECT_EQ(StatusOn(Country(), absl::CivilDay(2024, 1, 1)),
            registry::v1::EMN_STATUS_NONE);
}

TEST(StatusOnDateTest, AgreesWithStatusOnForTheFormattedDay) {
  EXPECT_EQ(StatusOnDate(FormerMember(), "2020-01-31"),
            registry::v1::EMN_STATUS_MEMBER);
  EXPECT_EQ(StatusOnDate(FormerMember(), "2020-02-01"),
            registry::v1::EMN_STATUS_NONE);
}

}  // namespace
}  // namespace thb::domain
