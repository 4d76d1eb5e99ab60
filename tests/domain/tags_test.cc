#include "domain/tags.h"

#include <string>

#include "common/errors.h"
#include "domain/record_filter.h"
#include "gtest/gtest.h"

namespace thb::domain {
namespace {

TEST(TagLimitTest, AFilterMayNameTheLongestTagARecordMayCarry) {
  cooperation::v1::RecordFilter filter;
  filter.add_tags(std::string(kMaxTagLength, 'a'));
  EXPECT_TRUE(ValidateFilter(filter, "filter").ok())
      << ValidateFilter(filter, "filter");
  EXPECT_TRUE(IsValidFilter(ToStatsFilter(filter)));

  filter.set_tags(0, std::string(kMaxTagLength + 1, 'a'));
  const absl::Status refused = ValidateFilter(filter, "filter");
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  ASSERT_FALSE(FieldViolations(refused).empty());
  EXPECT_EQ(FieldViolations(refused)[0].field, "filter.tags[0]");
  EXPECT_FALSE(IsValidFilter(ToStatsFilter(filter)));
}

}  // namespace
}  // namespace thb::domain
