#include "common/deadline.h"

#include "gtest/gtest.h"

namespace thb {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1700000000);

TEST(AnswerByTest, KeepsATenthOfTheTimeLeft) {
  EXPECT_EQ(AnswerBy(kNow + absl::Seconds(10), kNow, absl::Seconds(30)),
            kNow + absl::Seconds(9));
}

TEST(AnswerByTest, KeepsAtLeastTheMinimumMargin) {
  EXPECT_EQ(AnswerBy(kNow + absl::Milliseconds(200), kNow, absl::Seconds(30)),
            kNow + absl::Milliseconds(150));
  // At 500 ms left a tenth is the minimum; just over it, a tenth wins.
  EXPECT_EQ(AnswerBy(kNow + absl::Milliseconds(500), kNow, absl::Seconds(30)),
            kNow + absl::Milliseconds(450));
  EXPECT_EQ(AnswerBy(kNow + absl::Milliseconds(510), kNow, absl::Seconds(30)),
            kNow + absl::Milliseconds(459));
}

TEST(AnswerByTest, UsesTheDefaultTimeoutForACallWithoutADeadline) {
  EXPECT_EQ(AnswerBy(absl::InfiniteFuture(), kNow, absl::Seconds(30)),
            kNow + absl::Seconds(27));
}

TEST(AnswerByTest, UsesTheDefaultTimeoutWhenItIsSooner) {
  EXPECT_EQ(AnswerBy(kNow + absl::Hours(1), kNow, absl::Seconds(30)),
            kNow + absl::Seconds(27));
}

TEST(AnswerByTest, GivesAPastTimeForADeadlineAlreadyPassed) {
  EXPECT_LT(AnswerBy(kNow - absl::Seconds(1), kNow, absl::Seconds(30)), kNow);
}

}  // namespace
}  // namespace thb
