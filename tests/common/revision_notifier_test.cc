#include "common/revision_notifier.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace thb {
namespace {

TEST(RevisionNotifierTest, RunsAtOnceWhenAlreadyPast) {
  RevisionNotifier notifier(5);
  int runs = 0;
  EXPECT_EQ(notifier.WhenAfter(4, [&runs] { ++runs; }), 0u);
  EXPECT_EQ(runs, 1);
}

TEST(RevisionNotifierTest, WaitsUntilARevisionAboveSeen) {
  RevisionNotifier notifier(5);
  int runs = 0;
  const uint64_t id = notifier.WhenAfter(5, [&runs] { ++runs; });
  EXPECT_NE(id, 0u);
  notifier.Publish(5);
  EXPECT_EQ(runs, 0);
  notifier.Publish(6);
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(notifier.revision(), 6);
  // Once only.
  notifier.Publish(7);
  EXPECT_EQ(runs, 1);
  EXPECT_FALSE(notifier.Cancel(id));
}

TEST(RevisionNotifierTest, WakesOnlyTheWaitersPassed) {
  RevisionNotifier notifier(0);
  std::vector<int> woken;
  notifier.WhenAfter(0, [&woken] { woken.push_back(0); });
  notifier.WhenAfter(3, [&woken] { woken.push_back(3); });
  notifier.WhenAfter(1, [&woken] { woken.push_back(1); });
  notifier.Publish(2);
  EXPECT_EQ(woken, (std::vector<int>{0, 1}));
  notifier.Publish(4);
  EXPECT_EQ(woken, (std::vector<int>{0, 1, 3}));
}

TEST(RevisionNotifierTest, RevisionNeverGoesBack) {
  RevisionNotifier notifier(10);
  notifier.Publish(4);
  EXPECT_EQ(notifier.revision(), 10);
  int runs = 0;
  notifier.WhenAfter(10, [&runs] { ++runs; });
  notifier.Publish(9);
  EXPECT_EQ(runs, 0);
}

TEST(RevisionNotifierTest, CancelDropsTheCallback) {
  RevisionNotifier notifier(1);
  int runs = 0;
  const uint64_t id = notifier.WhenAfter(1, [&runs] { ++runs; });
  EXPECT_TRUE(notifier.Cancel(id));
  EXPECT_FALSE(notifier.Cancel(id));
  notifier.Publish(2);
  EXPECT_EQ(runs, 0);
}

TEST(RevisionNotifierTest, CallbackMayWaitAgain) {
  // A Watch reactor re-registers from its callback; that must not deadlock.
  RevisionNotifier notifier(0);
  std::vector<int64_t> seen;
  std::function<void()> watch = [&] {
    seen.push_back(notifier.revision());
    notifier.WhenAfter(notifier.revision(), watch);
  };
  notifier.WhenAfter(0, watch);
  notifier.Publish(1);
  notifier.Publish(2);
  notifier.Publish(3);
  EXPECT_EQ(seen, (std::vector<int64_t>{1, 2, 3}));
}

TEST(RevisionNotifierTest, ConcurrentPublishAndWait) {
  RevisionNotifier notifier(0);
  constexpr int kWaiters = 200;
  std::atomic<int> runs{0};
  std::thread writer([&notifier] {
    for (int revision = 1; revision <= 100; ++revision) {
      notifier.Publish(revision);
    }
  });
  for (int i = 0; i < kWaiters; ++i) {
    notifier.WhenAfter(i % 50, [&runs] { runs.fetch_add(1); });
  }
  writer.join();
  EXPECT_EQ(runs.load(), kWaiters);
}

}  // namespace
}  // namespace thb

namespace thb {
namespace {

TEST(RevisionNotifierCloseTest, WakesEveryWaiterAndLaterOnesAtOnce) {
  RevisionNotifier notifier(5);
  int woken = 0;
  notifier.WhenAfter(5, [&] { ++woken; });
  notifier.WhenAfter(7, [&] { ++woken; });
  EXPECT_EQ(woken, 0);
  notifier.Close();
  EXPECT_TRUE(notifier.closed());
  EXPECT_EQ(woken, 2);
  EXPECT_EQ(notifier.WhenAfter(9, [&] { ++woken; }), 0u);
  EXPECT_EQ(woken, 3);
}

}  // namespace
}  // namespace thb
