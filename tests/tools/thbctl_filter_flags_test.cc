// The table of thbctl's filter flags against the RecordFilter it fills: a
// new field of the proto is a failing test here until it has its row.

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"
#include "thb/cooperation/v1/cooperation_service.pb.h"
#include "tools/thbctl/cli.h"
#include "tools/thbctl/filter_flags.h"

namespace thb::thbctl {
namespace {

using cooperation::v1::RecordFilter;
using google::protobuf::FieldDescriptor;
using ::testing::AllOf;
using ::testing::HasSubstr;

const FilterFlag& Row(std::string_view name) {
  const FilterFlag* flag = FindFilterFlag(name);
  EXPECT_NE(flag, nullptr) << name;
  return *flag;
}

TEST(FilterFlagsTest, EveryRowFillsARecordFilterFieldOfItsKind) {
  for (const FilterFlag& flag : kFilterFlags) {
    SCOPED_TRACE(flag.flag);
    EXPECT_EQ(std::string("--") + flag.name, flag.flag);
    const FieldDescriptor* field =
        RecordFilter::descriptor()->FindFieldByName(flag.field);
    ASSERT_NE(field, nullptr) << flag.field;
    switch (flag.value) {
      case FilterValue::kEnums:
        EXPECT_TRUE(field->is_repeated());
        EXPECT_EQ(field->cpp_type(), FieldDescriptor::CPPTYPE_ENUM);
        break;
      case FilterValue::kIds:
      case FilterValue::kTexts:
        EXPECT_TRUE(field->is_repeated());
        EXPECT_EQ(field->cpp_type(), FieldDescriptor::CPPTYPE_STRING);
        break;
      case FilterValue::kYear:
        EXPECT_FALSE(field->is_repeated());
        EXPECT_EQ(field->cpp_type(), FieldDescriptor::CPPTYPE_INT32);
        break;
    }
  }
}

TEST(FilterFlagsTest, EveryRecordFilterFieldHasOneFlag) {
  std::multiset<std::string> filled;
  for (const FilterFlag& flag : kFilterFlags) filled.insert(flag.field);
  const auto* descriptor = RecordFilter::descriptor();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    EXPECT_EQ(filled.count(descriptor->field(i)->name()), 1u)
        << descriptor->field(i)->name();
  }
  EXPECT_EQ(filled.size(), static_cast<size_t>(descriptor->field_count()));
}

TEST(FilterFlagsTest, EachKindOfValueIsParsedIntoItsField) {
  RecordFilter filter;
  ASSERT_TRUE(
      AddToFilter(Row("kind"), {"good_practice", "RECORD_KIND_MEASURE"}, filter)
          .ok());
  ASSERT_TRUE(AddToFilter(Row("partner"), {"iom", "Unodc"}, filter).ok());
  ASSERT_TRUE(AddToFilter(Row("tag"), {"Low-Trust"}, filter).ok());
  ASSERT_TRUE(AddToFilter(Row("from_year"), {"2019"}, filter).ok());
  ASSERT_TRUE(AddToFilter(Row("to_year"), {}, filter).ok());
  ASSERT_TRUE(AddToFilter(Row("emn_status"), {"observer"}, filter).ok());

  ASSERT_EQ(filter.kinds_size(), 2);
  EXPECT_EQ(filter.kinds(0), cooperation::v1::RECORD_KIND_GOOD_PRACTICE);
  EXPECT_EQ(filter.kinds(1), cooperation::v1::RECORD_KIND_MEASURE);
  EXPECT_THAT(filter.partner_ids(), ::testing::ElementsAre("IOM", "UNODC"));
  EXPECT_THAT(filter.tags(), ::testing::ElementsAre("Low-Trust"));
  EXPECT_EQ(filter.from_year(), 2019);
  EXPECT_EQ(filter.to_year(), 0);
  ASSERT_EQ(filter.emn_statuses_size(), 1);
  EXPECT_EQ(filter.emn_statuses(0), registry::v1::EMN_STATUS_OBSERVER);
}

TEST(FilterFlagsTest, AValueTheFieldCannotTakeIsAUsageErrorNamingTheFlag) {
  RecordFilter filter;
  const absl::Status area = AddToFilter(Row("area"), {"bogus"}, filter);
  EXPECT_TRUE(IsUsageError(area)) << area;
  EXPECT_THAT(std::string(area.message()),
              AllOf(HasSubstr("--area"), HasSubstr("\"bogus\""),
                    HasSubstr("PREVENTION")));

  const absl::Status year = AddToFilter(Row("to_year"), {"20x"}, filter);
  EXPECT_TRUE(IsUsageError(year)) << year;
  EXPECT_THAT(std::string(year.message()),
              AllOf(HasSubstr("--to_year"), HasSubstr("\"20x\"")));
}

TEST(FilterFlagsTest, AFieldOfAViolationIsNamedByItsFlag) {
  EXPECT_EQ(FlagOfFilterField("kinds[1]"), "--kind");
  EXPECT_EQ(FlagOfFilterField("reporting_countries[0]"), "--country");
  EXPECT_EQ(FlagOfFilterField("to_year"), "--to_year");
  EXPECT_EQ(FlagOfFilterField("no_such_field"), "no_such_field");
}

TEST(FilterFlagsTest, TheUsageListsEveryFilterFlagWithinTheWidth) {
  // The width of thbctl's usage text, which its prose is wrapped to.
  constexpr size_t kWidth = 77;
  const std::string usage = FilterFlagsUsage(kWidth);
  for (const FilterFlag& flag : kFilterFlags) {
    EXPECT_THAT(usage, HasSubstr(std::string(flag.flag) + ","));
  }
  EXPECT_THAT(usage, HasSubstr("--as_of."));
  const std::vector<std::string> lines =
      absl::StrSplit(usage, '\n', absl::SkipEmpty());
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.front().rfind("Record filters (records list, stats):", 0),
            0u);
  for (const std::string& line : lines) {
    EXPECT_LE(line.size(), kWidth) << line;
  }
}

}  // namespace
}  // namespace thb::thbctl
