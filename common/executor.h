#ifndef THB_COMMON_EXECUTOR_H_
#define THB_COMMON_EXECUTOR_H_

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace thb {

// Tasks that may wait for a thread by default. Past it new work is refused
// at once: a queue that only grows turns a burst into calls that all wait
// out their deadlines; a refusal lets the client back off or go elsewhere.
inline constexpr int kDefaultMaxQueuedTasks = 1024;

// A fixed pool of threads where blocking work (SQLite, Redis, waits) runs,
// so that gRPC callback reactors return at once. Tasks run in FIFO order.
class Executor {
 public:
  explicit Executor(int threads, int max_queued = kDefaultMaxQueuedTasks);
  // Runs the queued tasks, then joins.
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // New work (a call just received): RESOURCE_EXHAUSTED naming the limit
  // when `max_queued` tasks already wait, and `task` is dropped.
  absl::Status TrySchedule(std::function<void()> task);
  // Work that continues what was already admitted (a stream's next step),
  // which a refusal would leave half done: always queued.
  void Schedule(std::function<void()> task);

 private:
  void Loop();

  const int max_queued_;
  absl::Mutex mu_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace thb

#endif  // THB_COMMON_EXECUTOR_H_
