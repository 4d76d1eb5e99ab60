// Under ThreadSanitizer: each way of holding an absl::Mutex that our code
// uses orders the accesses it guards, as TSan sees it through
// absl_tsan_shim.cc. Every test fails (TSan reports a race, a double lock
// or an unlock of an unlocked mutex, and halts) if the shim misses or
// doubles an annotation. Built only with THB_SANITIZE=thread.
#include <functional>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace {

constexpr int kThreads = 4;
constexpr int kRounds = 200;

// Runs `body` on kThreads threads at once, kRounds times each.
void OnThreads(const std::function<void()>& body) {
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&body] {
      for (int i = 0; i < kRounds; ++i) body();
    });
  }
  for (auto& thread : threads) thread.join();
}

TEST(AbslTsanShimTest, LockAndReaderLockOrderACounter) {
  absl::Mutex mu;
  int counter = 0;
  OnThreads([&] {
    {
      absl::MutexLock lock(&mu);
      ++counter;
    }
    absl::ReaderMutexLock lock(&mu);
    EXPECT_GT(counter, 0);
  });
  EXPECT_EQ(counter, kThreads * kRounds);
}

TEST(AbslTsanShimTest, TryLockOrdersACounter) {
  absl::Mutex mu;
  int counter = 0;
  OnThreads([&] {
    while (!mu.TryLock()) {
    }
    ++counter;
    mu.Unlock();
  });
  EXPECT_EQ(counter, kThreads * kRounds);
}

TEST(AbslTsanShimTest, LockWhenWithTimeoutOrdersACounter) {
  absl::Mutex mu;
  int counter = 0;
  bool open = true;
  OnThreads([&] {
    ASSERT_TRUE(
        mu.LockWhenWithTimeout(absl::Condition(&open), absl::Seconds(10)));
    ++counter;
    mu.Unlock();
  });
  EXPECT_EQ(counter, kThreads * kRounds);
}

TEST(AbslTsanShimTest, AwaitWithTimeoutOrdersTurns) {
  absl::Mutex mu;
  int turn = 0;  // whose turn it is: thread t moves on at turn % kThreads
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds / 10; ++i) {
        absl::MutexLock lock(&mu);
        auto mine = [&] { return turn % kThreads == t; };
        ASSERT_TRUE(
            mu.AwaitWithTimeout(absl::Condition(&mine), absl::Seconds(10)));
        ++turn;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(turn, kThreads * (kRounds / 10));
}

// A reader waits for what a writer publishes, holding a reader lock while
// it waits (as IndexFollower::WaitSynced does).
TEST(AbslTsanShimTest, AwaitUnderAReaderLockSeesTheWriter) {
  for (int i = 0; i < kRounds / 10; ++i) {
    absl::Mutex mu;
    int value = 0;
    bool ready = false;
    std::thread writer([&] {
      absl::MutexLock lock(&mu);
      value = i + 1;
      ready = true;
    });
    {
      absl::ReaderMutexLock lock(&mu);
      ASSERT_TRUE(mu.AwaitWithDeadline(absl::Condition(&ready),
                                       absl::Now() + absl::Seconds(10)));
      EXPECT_EQ(value, i + 1);
    }
    writer.join();
  }
}

TEST(AbslTsanShimTest, CondVarWaitWithTimeoutHandsOverData) {
  absl::Mutex mu;
  absl::CondVar ready;
  int value = 0;
  bool full = false;
  std::thread consumer([&] {
    for (int i = 1; i <= kRounds; ++i) {
      absl::MutexLock lock(&mu);
      while (!full) ready.WaitWithTimeout(&mu, absl::Seconds(10));
      EXPECT_EQ(value, i);
      full = false;
      ready.SignalAll();
    }
  });
  for (int i = 1; i <= kRounds; ++i) {
    absl::MutexLock lock(&mu);
    while (full) ready.WaitWithTimeout(&mu, absl::Seconds(10));
    value = i;
    full = true;
    ready.SignalAll();
  }
  consumer.join();
}

TEST(AbslTsanShimTest, NotificationPublishesWhatCameBefore) {
  for (int i = 0; i < kRounds; ++i) {
    absl::Notification done;
    int value = 0;  // written before Notify, read after the wait, no lock
    std::thread writer([&] {
      value = i + 1;
      done.Notify();
    });
    ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
    EXPECT_EQ(value, i + 1);
    writer.join();
  }
}

}  // namespace
