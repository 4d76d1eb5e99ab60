#include "common/executor.h"

#include <atomic>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace thb {
namespace {

TEST(ExecutorTest, RunsEveryTaskBeforeDestruction) {
  std::atomic<int> done{0};
  {
    Executor executor(3);
    for (int i = 0; i < 1000; ++i) {
      executor.Schedule([&done] { done.fetch_add(1); });
    }
  }
  EXPECT_EQ(done.load(), 1000);
}

TEST(ExecutorTest, OneThreadRunsInOrder) {
  std::vector<int> order;
  {
    Executor executor(1);
    for (int i = 0; i < 100; ++i) {
      executor.Schedule([&order, i] { order.push_back(i); });
    }
  }
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[i], i);
}

TEST(ExecutorTest, TasksRunInParallel) {
  constexpr int kThreads = 4;
  Executor executor(kThreads);
  // Every task blocks until released: all of them can only have started if
  // they run at the same time.
  std::atomic<int> started{0};
  absl::Notification release;
  for (int i = 0; i < kThreads; ++i) {
    executor.Schedule([&] {
      started.fetch_add(1);
      release.WaitForNotificationWithTimeout(absl::Seconds(10));
    });
  }
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (started.load() < kThreads && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_EQ(started.load(), kThreads);
  release.Notify();
}

TEST(ExecutorTest, TaskMayScheduleMore) {
  std::atomic<int> done{0};
  {
    Executor executor(2);
    for (int i = 0; i < 10; ++i) {
      executor.Schedule([&executor, &done] {
        executor.Schedule([&done] { done.fetch_add(1); });
      });
    }
  }
  EXPECT_EQ(done.load(), 10);
}

TEST(ExecutorTest, ZeroThreadsStillRuns) {
  std::atomic<int> done{0};
  {
    Executor executor(0);
    executor.Schedule([&done] { done.fetch_add(1); });
  }
  EXPECT_EQ(done.load(), 1);
}

TEST(ExecutorTest, NewWorkIsRefusedWhenTheQueueIsFull) {
  constexpr int kMaxQueued = 2;
  std::atomic<int> done{0};
  absl::Notification release;
  {
    Executor executor(1, kMaxQueued);
    absl::Notification running;
    ASSERT_TRUE(executor
                    .TrySchedule([&] {
                      running.Notify();
                      release.WaitForNotificationWithTimeout(absl::Seconds(10));
                    })
                    .ok());
    running.WaitForNotification();
    // The running task takes no place in the queue.
    for (int i = 0; i < kMaxQueued; ++i) {
      EXPECT_TRUE(executor.TrySchedule([&done] { done.fetch_add(1); }).ok());
    }
    const absl::Status refused =
        executor.TrySchedule([&done] { done.fetch_add(100); });
    EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
    EXPECT_THAT(std::string(refused.message()),
                ::testing::HasSubstr(absl::StrCat(kMaxQueued)));
    // What continues admitted work is never refused.
    executor.Schedule([&done] { done.fetch_add(1); });
    release.Notify();
  }
  EXPECT_EQ(done.load(), kMaxQueued + 1);
}

TEST(ExecutorTest, TheDefaultQueueIsBounded) {
  absl::Notification release;
  Executor executor(1);
  executor.Schedule(
      [&] { release.WaitForNotificationWithTimeout(absl::Seconds(10)); });
  int accepted = 0;
  while (accepted <= kDefaultMaxQueuedTasks &&
         executor.TrySchedule([] {}).ok()) {
    ++accepted;
  }
  release.Notify();
  EXPECT_LE(accepted, kDefaultMaxQueuedTasks);
}

}  // namespace
}  // namespace thb
