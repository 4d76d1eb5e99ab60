#include "common/dates.h"

#include <string>

#include "common/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace thb {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;

TEST(DatesTest, ParsesARealDay) {
  absl::StatusOr<absl::CivilDay> day = ParseDate("2024-02-29", "date");
  ASSERT_TRUE(day.ok()) << day.status();
  EXPECT_EQ(*day, absl::CivilDay(2024, 2, 29));
  EXPECT_EQ(FormatDate(*day), "2024-02-29");
}

TEST(DatesTest, AcceptsTheEdgesOfTheYearRange) {
  EXPECT_TRUE(ParseDate("1900-01-01", "date").ok());
  EXPECT_TRUE(ParseDate("2999-12-31", "date").ok());
}

TEST(DatesTest, RefusesADayThatDoesNotExist) {
  for (const char* text : {"2023-02-29", "2023-02-30", "2023-04-31",
                           "2023-13-01", "2023-00-10", "2023-01-00"}) {
    const absl::Status status = ParseDate(text, "record.date").status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(status.message(),
                HasSubstr(std::string("\"") + text +
                          "\" is not a date in the form YYYY-MM-DD"));
  }
}

TEST(DatesTest, RefusesOtherForms) {
  for (const char* text :
       {"", "2023-1-01", "2023-01-1", "23-01-01", "2023/01/01", "20230101",
        "2023-01-01T00:00:00Z", " 2023-01-01", "2023-01-01 ", "+023-01-01",
        "2023-0a-01", "yesterday"}) {
    const absl::Status status = ParseDate(text, "filter.from_date").status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(FieldViolations(status),
                ElementsAre(Field(&FieldViolation::field, "filter.from_date")))
        << text;
  }
}

TEST(DatesTest, RefusesYearsOutOfRange) {
  EXPECT_FALSE(ParseDate("1899-12-31", "date").ok());
  EXPECT_FALSE(ParseDate("3000-01-01", "date").ok());
  EXPECT_FALSE(ParseDate("0000-01-01", "date").ok());
}

TEST(DatesTest, MessageNamesFieldAndValue) {
  const absl::Status status = ParseDate("2023-1-01", "record.date").status();
  EXPECT_EQ(status.message(),
            "record.date: \"2023-1-01\" is not a date in the form YYYY-MM-DD");
}

TEST(DatesTest, LongOrBinaryGarbageIsCutAndEscaped) {
  const std::string garbage = std::string(1000, 'x') + "\n\x01";
  const absl::Status status = ParseDate(garbage, "date").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_LT(status.message().size(), 200u);
  EXPECT_THAT(std::string(status.message()), HasSubstr("..."));

  const absl::Status binary =
      ParseDate(std::string("2023-01-0\0", 10), "date").status();
  EXPECT_THAT(std::string(binary.message()), HasSubstr("\"2023-01-0\\x00\""));
}

TEST(DatesTest, EmptyMeansTodayOnlyWhereAllowed) {
  absl::StatusOr<absl::CivilDay> day = ParseDateOrToday("", "as_of");
  ASSERT_TRUE(day.ok());
  EXPECT_EQ(*day, TodayUtc());
  EXPECT_EQ(*ParseDateOrToday("2020-05-17", "as_of"),
            absl::CivilDay(2020, 5, 17));
  EXPECT_FALSE(ParseDateOrToday("2020-5-17", "as_of").ok());
}

TEST(DatesTest, FormatPadsWithZeros) {
  EXPECT_EQ(FormatDate(absl::CivilDay(2005, 3, 7)), "2005-03-07");
}

}  // namespace
}  // namespace thb
