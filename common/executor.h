#ifndef THB_COMMON_EXECUTOR_H_
#define THB_COMMON_EXECUTOR_H_

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace thb {

// A fixed pool of threads where blocking work (SQLite, Redis, waits) runs,
// so that gRPC callback reactors return at once. Tasks run in FIFO order.
class Executor {
 public:
  explicit Executor(int threads);
  // Runs the queued tasks, then joins.
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  void Schedule(std::function<void()> task);

 private:
  void Loop();

  absl::Mutex mu_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace thb

#endif  // THB_COMMON_EXECUTOR_H_
