#include "common/message_budget.h"

#include "gtest/gtest.h"

namespace thb {
namespace {

TEST(PageBudgetTest, TakesItemsUpToTheLimitAndNotOneByteMore) {
  // Items of 98 bytes take 100 each with their tag and length.
  ASSERT_EQ(RepeatedFieldBytes(98), 100u);
  PageBudget at_limit(300);
  EXPECT_TRUE(at_limit.Take(98));
  EXPECT_TRUE(at_limit.Take(98));
  EXPECT_TRUE(at_limit.Take(98));
  EXPECT_FALSE(at_limit.Take(0));

  PageBudget over(299);
  EXPECT_TRUE(over.Take(98));
  EXPECT_TRUE(over.Take(98));
  EXPECT_FALSE(over.Take(98));
  // Once full, a smaller item is refused too: a page never skips one.
  EXPECT_FALSE(over.Take(1));
}

TEST(PageBudgetTest, TheFirstItemAlwaysFits) {
  PageBudget budget(10);
  EXPECT_TRUE(budget.Take(1000));
  EXPECT_FALSE(budget.Take(1));
}

TEST(RevisionBatchBudgetTest, KeepsWholeRevisionsWithinTheLimit) {
  RevisionBatchBudget budget(350);
  EXPECT_TRUE(budget.Offer(1, 98));
  EXPECT_TRUE(budget.Offer(2, 98));
  EXPECT_TRUE(budget.Offer(2, 98));
  // Revision 3 would be over: offered, then dropped with its revision.
  EXPECT_TRUE(budget.Offer(3, 98));
  EXPECT_FALSE(budget.Offer(4, 1));
  EXPECT_EQ(budget.kept(), 3u);
}

TEST(RevisionBatchBudgetTest, EndsAtARevisionThatFillsItExactly) {
  RevisionBatchBudget budget(200);
  EXPECT_TRUE(budget.Offer(1, 98));
  EXPECT_TRUE(budget.Offer(1, 98));
  EXPECT_FALSE(budget.Offer(2, 1));
  EXPECT_EQ(budget.kept(), 2u);
}

TEST(RevisionBatchBudgetTest, AFirstRevisionLargerThanTheLimitComesWhole) {
  RevisionBatchBudget budget(100);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(budget.Offer(7, 98));
  EXPECT_FALSE(budget.Offer(8, 1));
  EXPECT_EQ(budget.kept(), 5u);
}

TEST(RevisionBatchBudgetTest, TheLastRevisionOfferedCountsWhenChangesRunOut) {
  RevisionBatchBudget fits(1000);
  EXPECT_TRUE(fits.Offer(1, 98));
  EXPECT_TRUE(fits.Offer(2, 98));
  EXPECT_EQ(fits.kept(), 2u);

  RevisionBatchBudget over(150);
  EXPECT_TRUE(over.Offer(1, 98));
  EXPECT_TRUE(over.Offer(2, 98));
  EXPECT_EQ(over.kept(), 1u);
}

}  // namespace
}  // namespace thb
