// The list-then-watch loop both followers run, driven by scripted steps:
// what it lists again on, and how long it waits before each new list under
// each of its two backoff rules.
#include "common/list_watch.h"

#include <deque>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/follow_progress.h"
#include "gtest/gtest.h"

namespace thb {
namespace {

struct WatchResult {
  grpc::Status status;
  bool progressed = false;
};

// Steps that answer from a script, record what the loop asked, and once the
// script is spent make no more calls until the test stops the loop.
class ScriptedFollower {
 public:
  ScriptedFollower(std::deque<absl::Status> lists,
                   std::deque<WatchResult> watches)
      : lists_(std::move(lists)), watches_(std::move(watches)) {}

  void Start(ListWatchLoop::BackoffReset reset) {
    ListWatchLoop::Steps steps;
    steps.initial_backoff = absl::Milliseconds(1);
    steps.max_backoff = absl::Milliseconds(8);
    steps.reset = reset;
    steps.list = [this]() { return Next(lists_, "list"); };
    steps.list_failed = [this](const absl::Status&, absl::Duration retry_in) {
      absl::MutexLock lock(&mu_);
      retries_.push_back(retry_in);
    };
    steps.watch = [this](bool* progressed) {
      WatchResult result;
      {
        absl::MutexLock lock(&mu_);
        events_.push_back("watch");
        if (watches_.empty()) {
          Spent();
          return grpc::Status(grpc::StatusCode::UNAVAILABLE, "spent");
        }
        result = watches_.front();
        watches_.pop_front();
      }
      *progressed = result.progressed;
      return result.status;
    };
    steps.cannot_resume = [this](const std::string& why) {
      absl::MutexLock lock(&mu_);
      events_.push_back("relist: " + why);
    };
    loop_.Start(std::move(steps));
  }

  // Waits until the script is spent, then stops the loop.
  void Finish() {
    spent_.WaitForNotificationWithTimeout(absl::Seconds(30));
    loop_.Stop();
  }

  std::vector<absl::Duration> retries() {
    absl::MutexLock lock(&mu_);
    return retries_;
  }
  std::vector<std::string> events() {
    absl::MutexLock lock(&mu_);
    return events_;
  }

 private:
  absl::Status Next(std::deque<absl::Status>& script, const char* what) {
    absl::MutexLock lock(&mu_);
    events_.push_back(what);
    if (script.empty()) {
      Spent();
      return absl::UnavailableError("spent");
    }
    absl::Status status = script.front();
    script.pop_front();
    return status;
  }

  void Spent() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!spent_.HasBeenNotified()) spent_.Notify();
  }

  ListWatchLoop loop_;
  absl::Notification spent_;
  absl::Mutex mu_;
  std::deque<absl::Status> lists_ ABSL_GUARDED_BY(mu_);
  std::deque<WatchResult> watches_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Duration> retries_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> events_ ABSL_GUARDED_BY(mu_);
};

const grpc::Status kUnavailable(grpc::StatusCode::UNAVAILABLE, "down");
const grpc::Status kOutOfRange(grpc::StatusCode::OUT_OF_RANGE, "reset");

// Lists fail twice, then one passes; the watch ends UNAVAILABLE once, then
// OUT_OF_RANGE, and the next list fails: the wait before that list tells
// the two rules apart.
std::vector<absl::Duration> RetriesUnder(ListWatchLoop::BackoffReset reset) {
  ScriptedFollower follower(
      {absl::UnavailableError("a"), absl::UnavailableError("b"),
       absl::OkStatus(), absl::UnavailableError("c")},
      {{kUnavailable, false}, {kOutOfRange, false}});
  follower.Start(reset);
  follower.Finish();
  // The first three; once the script is spent, lists fail until the stop.
  std::vector<absl::Duration> retries = follower.retries();
  if (retries.size() > 3) retries.resize(3);
  return retries;
}

TEST(ListWatchLoopTest, BackoffRestartsAfterProgressUnderTheFollowersRule) {
  // The wait doubles per failed list; a good list starts it again at 1 ms,
  // the UNAVAILABLE watch doubles it, and listing again keeps it.
  EXPECT_EQ(
      RetriesUnder(ListWatchLoop::BackoffReset::kOnProgress),
      (std::vector<absl::Duration>{absl::Milliseconds(1), absl::Milliseconds(2),
                                   absl::Milliseconds(2)}));
}

TEST(ListWatchLoopTest, BackoffRestartsBeforeListingAgainUnderTheMirrorsRule) {
  // A good list keeps the wait (4 ms), the UNAVAILABLE watch doubles it to
  // the cap, and deciding to list again starts it at 1 ms.
  EXPECT_EQ(
      RetriesUnder(ListWatchLoop::BackoffReset::kUnlessUnavailable),
      (std::vector<absl::Duration>{absl::Milliseconds(1), absl::Milliseconds(2),
                                   absl::Milliseconds(1)}));
}

TEST(ListWatchLoopTest, WaitsNeverExceedTheCap) {
  ScriptedFollower follower(
      {absl::UnavailableError("1"), absl::UnavailableError("2"),
       absl::UnavailableError("3"), absl::UnavailableError("4"),
       absl::UnavailableError("5")},
      {});
  follower.Start(ListWatchLoop::BackoffReset::kOnProgress);
  follower.Finish();
  const std::vector<absl::Duration> retries = follower.retries();
  ASSERT_GE(retries.size(), 5u);
  EXPECT_EQ(retries[3], absl::Milliseconds(8));
  EXPECT_EQ(retries[4], absl::Milliseconds(8));
}

TEST(ListWatchLoopTest, ListsAgainOnOutOfRangeAndAfterStreamsWithoutChange) {
  std::deque<WatchResult> watches = {{kOutOfRange, false}};
  const grpc::Status ended(grpc::StatusCode::INTERNAL, "ended");
  for (int i = 0; i < kMaxWatchTriesWithoutProgress; ++i) {
    watches.push_back({ended, false});
  }
  ScriptedFollower follower(
      {absl::OkStatus(), absl::OkStatus(), absl::OkStatus()},
      std::move(watches));
  follower.Start(ListWatchLoop::BackoffReset::kOnProgress);
  follower.Finish();
  std::vector<std::string> lists_and_relists;
  for (const std::string& event : follower.events()) {
    if (event != "watch") lists_and_relists.push_back(event);
  }
  ASSERT_GE(lists_and_relists.size(), 5u);
  EXPECT_EQ(lists_and_relists[0], "list");
  EXPECT_EQ(lists_and_relists[1], "relist: reset");
  EXPECT_EQ(lists_and_relists[2], "list");
  EXPECT_NE(lists_and_relists[3].find("watch streams in a row ended without "
                                      "a change, the last with 13 ended"),
            std::string::npos)
      << lists_and_relists[3];
  EXPECT_EQ(lists_and_relists[4], "list");
}

TEST(ListWatchLoopTest, StreamsThatEndUnavailableAreResumedNotRelisted) {
  ScriptedFollower follower({absl::OkStatus()}, {{kUnavailable, false},
                                                 {kUnavailable, false},
                                                 {kUnavailable, false},
                                                 {kUnavailable, false},
                                                 {kUnavailable, false},
                                                 {kUnavailable, false}});
  follower.Start(ListWatchLoop::BackoffReset::kOnProgress);
  follower.Finish();
  for (const std::string& event : follower.events()) {
    EXPECT_EQ(event.find("relist"), std::string::npos) << event;
  }
}

}  // namespace
}  // namespace thb
