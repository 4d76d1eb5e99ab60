#ifndef THB_COMMON_LIST_WATCH_H_
#define THB_COMMON_LIST_WATCH_H_

#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/status.h"

namespace thb {

// The loop of a list-then-watch follower (the Kubernetes informer pattern;
// the aggregator's index follower and the registry mirror), on a thread of
// its own: list everything, watch from the list's revision, resume a broken
// stream after a backoff, and list again when FollowProgress says resuming
// cannot work. The follower supplies its steps; the loop owns the thread,
// the backoff and stopping, and Stop() cancels the call in flight.
class ListWatchLoop {
 public:
  // When the wait before the next try starts again from the initial
  // backoff. The two followers were written with different rules; both are
  // kept as they were.
  enum class BackoffReset {
    // After a list succeeds and after a watch that applied a change (the
    // index follower).
    kOnProgress,
    // Before listing again, and after waiting out a watch that ended
    // otherwise than UNAVAILABLE (the registry mirror).
    kUnlessUnavailable,
  };

  struct Steps {
    absl::Duration initial_backoff;
    absl::Duration max_backoff;
    BackoffReset reset = BackoffReset::kOnProgress;
    // Lists everything into a fresh copy and publishes it. CANCELLED ends
    // the loop (the follower is stopping); another error goes to
    // `list_failed` and the list is tried again after the backoff.
    absl::AnyInvocable<absl::Status()> list;
    // Tells of a failed list, tried again in `retry_in`.
    absl::AnyInvocable<void(const absl::Status& status,
                            absl::Duration retry_in)>
        list_failed;
    // Watches from where the copy is until the stream ends; sets
    // `*progressed` when it applied a change.
    absl::AnyInvocable<grpc::Status(bool* progressed)> watch;
    // Tells that the watch cannot resume, for the reason `why`, before the
    // loop lists again.
    absl::AnyInvocable<void(const std::string& why)> cannot_resume;
  };

  ListWatchLoop() = default;
  ~ListWatchLoop();
  ListWatchLoop(const ListWatchLoop&) = delete;
  ListWatchLoop& operator=(const ListWatchLoop&) = delete;

  // Runs the steps on a new thread until Stop().
  void Start(Steps steps);
  // Cancels the call in flight and joins the thread; idempotent.
  void Stop();

  // For the steps, around each call: registers `context` so that Stop() can
  // cancel it; false when stopping (then the step makes no call).
  bool Begin(grpc::ClientContext* context);
  void End();

 private:
  void Run();
  bool SleepUnlessStopped(absl::Duration duration);

  Steps steps_;
  std::thread thread_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* active_call_ ABSL_GUARDED_BY(mu_) = nullptr;
};

}  // namespace thb

#endif  // THB_COMMON_LIST_WATCH_H_
