// The Watch reactor driven as gRPC's callback API drives it, but by a call
// of this test instead of gRPC's: completions run on a transport thread,
// notifications on the writer's thread or the notifier's executor, steps on
// the reactor's executor, cancellations on whichever thread cancels. So
// ThreadSanitizer sees every hand-off between them (Debian's gRPC is not
// built with it); the scripts run this test under TSan.
#include "common/watch_reactor.h"

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/executor.h"
#include "common/revision_notifier.h"
#include "gtest/gtest.h"
#include "thb/cooperation/v1/cooperation_service.pb.h"

namespace thb {
namespace {

using Response = cooperation::v1::WatchResponse;

// One server-streaming call. It keeps the promises gRPC makes a reactor:
// one OnWriteDone per write, on the transport thread (false once the call
// is cancelled); OnCancel at most once; OnDone once, last, after the
// handler returned, after Finish and after every other reaction returned.
class FakeWatchCall : public grpc::ServerCallbackWriter<Response> {
 public:
  FakeWatchCall() : transport_([this] { Transport(); }) {}
  ~FakeWatchCall() override {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    transport_.join();
  }

  grpc::CallbackServerContext* context() { return &context_; }

  // Hands the call to the reactor the method handler returned, as gRPC does
  // once the handler returns.
  void Bind(grpc::ServerWriteReactor<Response>* reactor) {
    {
      absl::MutexLock lock(&mu_);
      reactor_ = reactor;
    }
    BindReactor(reactor);
    // As the method handler has returned only now, OnDone may run.
    absl::MutexLock lock(&mu_);
    bound_ = true;
    MaybeDone();
  }

  // The client cancels: OnCancel runs on this thread, unless the call is
  // over.
  void Cancel() {
    grpc::ServerWriteReactor<Response>* reactor;
    {
      absl::MutexLock lock(&mu_);
      if (cancelled_ || done_queued_) return;
      cancelled_ = true;
      ++reactions_;
      reactor = reactor_;
    }
    reactor->OnCancel();
    absl::MutexLock lock(&mu_);
    --reactions_;
    MaybeDone();
  }

  // Waits for OnDone; the status the call ended with.
  absl::StatusOr<grpc::Status> Done(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    if (!mu_.AwaitWithTimeout(absl::Condition(&done_), timeout)) {
      return absl::DeadlineExceededError("OnDone did not run");
    }
    return status_;
  }

  // Waits until a write with `revision` or a later one was sent.
  bool WaitForRevision(int64_t revision, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto reached = [this, revision]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return last_revision_ >= revision;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
  }

  // Every revision sent, in order.
  std::vector<int64_t> revisions() {
    absl::MutexLock lock(&mu_);
    return revisions_;
  }
  bool metadata_sent() {
    absl::MutexLock lock(&mu_);
    return metadata_sent_;
  }

  void SendInitialMetadata() override {
    absl::MutexLock lock(&mu_);
    EXPECT_FALSE(metadata_sent_);
    metadata_sent_ = true;
  }

  void Write(const Response* response, grpc::WriteOptions) override {
    absl::MutexLock lock(&mu_);
    EXPECT_FALSE(writing_) << "a write started before the last one completed";
    EXPECT_FALSE(finished_) << "a write after Finish";
    writing_ = true;
    for (const auto& change : response->changes()) {
      revisions_.push_back(change.revision());
      last_revision_ = change.revision();
    }
  }

  void WriteAndFinish(const Response* response, grpc::WriteOptions options,
                      grpc::Status status) override {
    Write(response, options);
    Finish(std::move(status));
  }

  void Finish(grpc::Status status) override {
    absl::MutexLock lock(&mu_);
    EXPECT_FALSE(finished_) << "Finish twice";
    finished_ = true;
    status_ = std::move(status);
    MaybeDone();
  }

 private:
  grpc::internal::ServerReactor* reactor() override { return reactor_; }
  void CallOnDone() override {}

  // OnDone is due once Finish ran and nothing else is outstanding.
  void MaybeDone() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (bound_ && finished_ && !writing_ && reactions_ == 0 && !done_queued_) {
      done_queued_ = true;
    }
  }

  void Transport() {
    while (true) {
      grpc::ServerWriteReactor<Response>* reactor;
      bool ok;
      bool done;
      {
        absl::MutexLock lock(&mu_);
        auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
          return stopping_ || (writing_ && reactor_ != nullptr) ||
                 (done_queued_ && !done_);
        };
        mu_.Await(absl::Condition(&ready));
        if (done_queued_ && !done_) {
          done = true;
        } else if (writing_ && reactor_ != nullptr) {
          done = false;
          writing_ = false;
          ++reactions_;
        } else {
          return;
        }
        ok = !cancelled_;
        reactor = reactor_;
      }
      if (done) {
        reactor->OnDone();  // the reactor deletes itself
        absl::MutexLock lock(&mu_);
        done_ = true;
        continue;
      }
      reactor->OnWriteDone(ok);
      absl::MutexLock lock(&mu_);
      --reactions_;
      MaybeDone();
    }
  }

  grpc::CallbackServerContext context_;
  absl::Mutex mu_;
  grpc::ServerWriteReactor<Response>* reactor_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool bound_ ABSL_GUARDED_BY(mu_) = false;
  bool metadata_sent_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  int reactions_ ABSL_GUARDED_BY(mu_) = 0;
  bool done_queued_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
  std::vector<int64_t> revisions_ ABSL_GUARDED_BY(mu_);
  int64_t last_revision_ ABSL_GUARDED_BY(mu_) = 0;
  // Last: it starts once every member above exists.
  std::thread transport_;
};

// A store's change log: one change per revision, appended by a writer, read
// in batches of at most three revisions.
class ChangeLog {
 public:
  explicit ChangeLog(Executor* fan_out = nullptr) : notifier_(0, fan_out) {}

  RevisionNotifier& notifier() { return notifier_; }

  void Append() {
    int64_t revision;
    {
      absl::MutexLock lock(&mu_);
      revision = ++head_;
    }
    notifier_.Publish(revision);
  }

  absl::StatusOr<Response> ChangesAfter(int64_t after) {
    absl::MutexLock lock(&mu_);
    if (after > head_) {
      return absl::OutOfRangeError("revision " + std::to_string(after) +
                                   " is beyond the store's");
    }
    Response response;
    for (int64_t r = after + 1; r <= head_ && r <= after + 3; ++r) {
      response.add_changes()->set_revision(r);
    }
    response.set_revision(head_);
    return response;
  }

 private:
  absl::Mutex mu_;
  int64_t head_ ABSL_GUARDED_BY(mu_) = 0;
  RevisionNotifier notifier_;
};

struct Setup {
  bool step_executor;
  bool fan_out_executor;
};

class WatchReactorTest : public ::testing::TestWithParam<Setup> {
 protected:
  WatchReactorTest()
      : steps_(2),
        fan_out_(1),
        log_(GetParam().fan_out_executor ? &fan_out_ : nullptr) {}

  // Opens a stream from `from`, as the service's Watch method does.
  FakeWatchCall& Open(int64_t from) {
    calls_.push_back(std::make_unique<FakeWatchCall>());
    FakeWatchCall& call = *calls_.back();
    auto* reactor = new WatchReactor<Response>(
        call.context(), from, &log_.notifier(),
        [this](int64_t after) { return log_.ChangesAfter(after); },
        "test.thb.example", GetParam().step_executor ? &steps_ : nullptr,
        &limit_);
    call.Bind(reactor);
    return call;
  }

  static std::vector<int64_t> Range(int64_t first, int64_t last) {
    std::vector<int64_t> range;
    for (int64_t r = first; r <= last; ++r) range.push_back(r);
    return range;
  }

  Executor steps_;
  Executor fan_out_;
  ChangeLog log_;
  WatchStreamLimit limit_{8};
  std::vector<std::unique_ptr<FakeWatchCall>> calls_;
};

TEST_P(WatchReactorTest, SendsEveryRevisionOnceInOrderWhileTheyAreWritten) {
  for (int i = 0; i < 10; ++i) log_.Append();
  const std::vector<int64_t> from = {0, 4, 10, 10, 0, 7};
  for (int64_t f : from) Open(f);
  std::thread writer([this] {
    for (int i = 0; i < 200; ++i) {
      log_.Append();
      if (i % 16 == 0) std::this_thread::yield();
    }
  });
  writer.join();
  for (size_t i = 0; i < calls_.size(); ++i) {
    ASSERT_TRUE(calls_[i]->WaitForRevision(210, absl::Seconds(30))) << i;
    EXPECT_TRUE(calls_[i]->metadata_sent());
  }
  std::thread canceller([this] {
    for (auto& call : calls_) call->Cancel();
  });
  canceller.join();
  for (size_t i = 0; i < calls_.size(); ++i) {
    auto status = calls_[i]->Done(absl::Seconds(30));
    ASSERT_TRUE(status.ok()) << i << ": " << status.status();
    EXPECT_EQ(status->error_code(), grpc::StatusCode::CANCELLED);
    EXPECT_EQ(calls_[i]->revisions(), Range(from[i] + 1, 210)) << i;
  }
  EXPECT_EQ(limit_.open(), 0);
}

TEST_P(WatchReactorTest, CancellationsRaceWritesAndNotifications) {
  std::mt19937 random(7);
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 8; ++i) Open(0);
    std::thread writer([this] {
      for (int i = 0; i < 60; ++i) log_.Append();
    });
    std::vector<size_t> order;
    for (size_t i = calls_.size() - 8; i < calls_.size(); ++i) {
      order.push_back(i);
    }
    std::shuffle(order.begin(), order.end(), random);
    std::thread canceller([this, order] {
      for (size_t i : order) {
        calls_[i]->Cancel();
        std::this_thread::yield();
      }
    });
    writer.join();
    canceller.join();
    for (size_t i : order) {
      auto status = calls_[i]->Done(absl::Seconds(30));
      ASSERT_TRUE(status.ok()) << i << ": " << status.status();
      EXPECT_EQ(status->error_code(), grpc::StatusCode::CANCELLED);
      // Whatever was sent is a gap-free run from the start.
      const std::vector<int64_t> sent = calls_[i]->revisions();
      EXPECT_EQ(sent, Range(1, static_cast<int64_t>(sent.size())));
    }
    EXPECT_EQ(limit_.open(), 0);
  }
}

TEST_P(WatchReactorTest, ClosingTheNotifierEndsWaitingStreamsUnavailable) {
  for (int i = 0; i < 3; ++i) log_.Append();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(Open(i).WaitForRevision(3, absl::Seconds(30)));
  }
  Open(3);  // nothing to send: it waits at once
  std::thread stopper([this] { log_.notifier().Close(); });
  stopper.join();
  for (auto& call : calls_) {
    auto status = call->Done(absl::Seconds(30));
    ASSERT_TRUE(status.ok()) << status.status();
    EXPECT_EQ(status->error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_NE(status->error_message().find("watch again from revision 3"),
              std::string::npos)
        << status->error_message();
  }
  EXPECT_EQ(limit_.open(), 0);
}

TEST_P(WatchReactorTest, EndsWithTheErrorOfTheChangeLog) {
  for (int i = 0; i < 2; ++i) log_.Append();
  FakeWatchCall& call = Open(5);
  auto status = call.Done(absl::Seconds(30));
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_TRUE(call.revisions().empty());
  EXPECT_EQ(limit_.open(), 0);
}

TEST_P(WatchReactorTest, RefusesAStreamOverTheLimitAndFreesItsPlace) {
  for (int i = 0; i < 8; ++i) Open(0);
  FakeWatchCall& refused = Open(0);
  auto status = refused.Done(absl::Seconds(30));
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(limit_.open(), 8);
  calls_.front()->Cancel();
  ASSERT_TRUE(calls_.front()->Done(absl::Seconds(30)).ok());
  EXPECT_EQ(limit_.open(), 7);
  FakeWatchCall& admitted = Open(0);
  log_.Append();
  EXPECT_TRUE(admitted.WaitForRevision(1, absl::Seconds(30)));
  for (auto& call : calls_) call->Cancel();
  for (auto& call : calls_) ASSERT_TRUE(call->Done(absl::Seconds(30)).ok());
  EXPECT_EQ(limit_.open(), 0);
}

INSTANTIATE_TEST_SUITE_P(
    Threads, WatchReactorTest,
    ::testing::Values(Setup{false, false}, Setup{true, false},
                      Setup{false, true}, Setup{true, true}),
    [](const ::testing::TestParamInfo<Setup>& info) {
      return std::string(info.param.step_executor ? "StepsOnExecutor"
                                                  : "StepsInline") +
             (info.param.fan_out_executor ? "FanOutOnExecutor"
                                          : "FanOutOnWriter");
    });

}  // namespace
}  // namespace thb
