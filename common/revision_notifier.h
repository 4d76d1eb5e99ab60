#ifndef THB_COMMON_REVISION_NOTIFIER_H_
#define THB_COMMON_REVISION_NOTIFIER_H_

#include <cstdint>
#include <functional>
#include <map>

#include "absl/synchronization/mutex.h"
#include "common/executor.h"

namespace thb {

// Tells watchers that a store's revision moved past the one they have seen,
// without any thread waiting: a Watch reactor registers a callback and
// returns; the writer's Publish() runs it once the revision is passed.
class RevisionNotifier {
 public:
  // With a `fan_out` executor, Publish() only hands the callbacks over and
  // they run there: a writer that publishes while holding its write lock
  // then never waits for a watcher, however slow.
  explicit RevisionNotifier(int64_t initial_revision = 0,
                            Executor* fan_out = nullptr)
      : fan_out_(fan_out), revision_(initial_revision) {}

  int64_t revision() const;

  // Records a committed revision and runs (outside the lock, on `fan_out`
  // if there is one) every callback waiting for a revision below it.
  void Publish(int64_t revision);

  // Runs `callback` once the revision is greater than `seen`: at once, on
  // this thread, if it already is. Returns an id for Cancel (0 if it ran).
  uint64_t WhenAfter(int64_t seen, std::function<void()> callback);

  // Drops a waiting callback; false if it already ran or was dropped.
  bool Cancel(uint64_t id);

  // The server is stopping: runs every waiting callback now, and any later
  // one at once, so that each watcher wakes, sees closed(), and ends its
  // stream instead of holding the stop until the grace period ends.
  void Close();
  bool closed() const;

 private:
  struct Waiter {
    int64_t seen;
    std::function<void()> callback;
  };
  Executor* const fan_out_;
  mutable absl::Mutex mu_;
  int64_t revision_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<uint64_t, Waiter> waiters_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace thb

#endif  // THB_COMMON_REVISION_NOTIFIER_H_
