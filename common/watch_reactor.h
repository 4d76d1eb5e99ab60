#ifndef THB_COMMON_WATCH_REACTOR_H_
#define THB_COMMON_WATCH_REACTOR_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/executor.h"
#include "common/grpc_status.h"
#include "common/revision_notifier.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"

namespace thb {

// Watch streams one service serves at once. Each holds a reactor and, while
// it waits, a place in the revision notifier; followers need one each (an
// aggregator replica, a cooperation replica), so a few hundred leave room
// for every replica of a large deployment while bounding what a caller
// opening streams in a loop can hold.
inline constexpr int kMaxWatchStreams = 256;

// Counts the Watch streams of one service; the stream over the limit is
// refused with RESOURCE_EXHAUSTED.
class WatchStreamLimit {
 public:
  explicit WatchStreamLimit(int max_streams = kMaxWatchStreams)
      : max_streams_(max_streams) {}

  int max_streams() const { return max_streams_; }
  int open() const {
    absl::MutexLock lock(&mu_);
    return open_;
  }

  bool TryAcquire() {
    absl::MutexLock lock(&mu_);
    if (open_ >= max_streams_) return false;
    ++open_;
    return true;
  }
  void Release() {
    absl::MutexLock lock(&mu_);
    --open_;
  }

 private:
  const int max_streams_;
  mutable absl::Mutex mu_;
  int open_ ABSL_GUARDED_BY(mu_) = 0;
};

// Server side of a Watch stream: sends every change after `from_revision`,
// then waits on the store's RevisionNotifier and sends each new batch. No
// thread blocks: a write completion or a notification moves it on.
//
// `changes_after(r)` returns the next batch after revision r (empty when
// there is none yet) or an error that ends the stream (OUT_OF_RANGE for a
// compacted revision). The response type needs `changes()` whose elements
// have `revision()`. When `changes_after` may block (it reads a disk),
// pass an `executor` and every call of it runs there. With a `limit`, a
// stream beyond it ends at once with RESOURCE_EXHAUSTED.
template <typename Response>
class WatchReactor : public grpc::ServerWriteReactor<Response> {
 public:
  using ChangesAfter = std::function<absl::StatusOr<Response>(int64_t)>;

  // The metadata key that carries the store's revision when the stream
  // was accepted; its presence tells a client the stream is established.
  static constexpr char kRevisionHeader[] = "thb-watch-revision";

  WatchReactor(grpc::CallbackServerContext* context, int64_t from_revision,
               RevisionNotifier* notifier, ChangesAfter changes_after,
               std::string domain, Executor* executor = nullptr,
               WatchStreamLimit* limit = nullptr)
      : sent_(from_revision),
        notifier_(notifier),
        changes_after_(std::move(changes_after)),
        domain_(std::move(domain)),
        executor_(executor) {
    if (limit != nullptr) {
      if (!limit->TryAcquire()) {
        FinishOnce(grpc::Status(
            grpc::StatusCode::RESOURCE_EXHAUSTED,
            absl::StrCat(limit->max_streams(),
                         " watch streams are open, the most this server "
                         "serves at once (kMaxWatchStreams); retry later")));
        return;
      }
      limit_ = limit;
    }
    // Tells the client at once that the stream is established, even when
    // there is nothing to send yet.
    context->AddInitialMetadata(kRevisionHeader,
                                std::to_string(notifier->revision()));
    this->StartSendInitialMetadata();
    Next();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      FinishOnce(grpc::Status(grpc::StatusCode::CANCELLED,
                              "the watch stream was closed"));
      return;
    }
    Next();
  }

  void OnCancel() override {
    uint64_t id;
    {
      absl::MutexLock lock(&mu_);
      cancelled_ = true;
      id = wait_id_;
    }
    if (id != 0 && notifier_->Cancel(id)) {
      FinishOnce(
          grpc::Status(grpc::StatusCode::CANCELLED, "the watch was cancelled"));
    }
  }

  void OnDone() override {
    if (limit_ != nullptr) limit_->Release();
    delete this;
  }

 private:
  // Only one Next() chain is ever active: started by the constructor, then
  // continued by exactly one of OnWriteDone or a notification.
  void Next() {
    if (executor_ != nullptr) {
      executor_->Schedule([this] { Step(); });
    } else {
      Step();
    }
  }

  void Step() {
    bool cancelled;
    {
      absl::MutexLock lock(&mu_);
      cancelled = cancelled_;
    }
    if (cancelled) {
      FinishOnce(
          grpc::Status(grpc::StatusCode::CANCELLED, "the watch was cancelled"));
      return;
    }
    if (notifier_->closed()) {
      // UNAVAILABLE, which followers retry: they watch again from the last
      // revision they saw, on another replica or once this one is back.
      FinishOnce(
          grpc::Status(grpc::StatusCode::UNAVAILABLE,
                       "the server is stopping; watch again from revision " +
                           std::to_string(sent_)));
      return;
    }
    absl::StatusOr<Response> batch = changes_after_(sent_);
    if (!batch.ok()) {
      FinishOnce(ToGrpcStatus(batch.status(), domain_));
      return;
    }
    if (batch->changes_size() > 0) {
      sent_ = batch->changes(batch->changes_size() - 1).revision();
      response_ = std::move(*batch);
      this->StartWrite(&response_);
      return;
    }
    uint64_t sequence;
    {
      absl::MutexLock lock(&mu_);
      sequence = ++wait_sequence_;
    }
    const uint64_t id = notifier_->WhenAfter(sent_, [this, sequence] {
      {
        absl::MutexLock lock(&mu_);
        fired_sequence_ = sequence;
        wait_id_ = 0;
      }
      Next();
    });
    bool take_over = false;
    {
      absl::MutexLock lock(&mu_);
      // A notification that already fired owns the chain; otherwise record
      // the waiter so that a cancellation can take it back.
      if (id != 0 && fired_sequence_ < sequence) {
        wait_id_ = id;
        take_over = cancelled_;
      }
    }
    if (take_over && notifier_->Cancel(id)) {
      FinishOnce(
          grpc::Status(grpc::StatusCode::CANCELLED, "the watch was cancelled"));
    }
  }

  void FinishOnce(const grpc::Status& status) {
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;
      finished_ = true;
    }
    this->Finish(status);
  }

  int64_t sent_;
  RevisionNotifier* notifier_;
  ChangesAfter changes_after_;
  std::string domain_;
  Executor* executor_;
  WatchStreamLimit* limit_ = nullptr;
  Response response_;

  absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t wait_id_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t wait_sequence_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t fired_sequence_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace thb

#endif  // THB_COMMON_WATCH_REACTOR_H_
