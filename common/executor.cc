#include "common/executor.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace thb {

Executor::Executor(int threads, int max_queued)
    : max_queued_(max_queued < 1 ? 1 : max_queued) {
  if (threads < 1) threads = 1;
  threads_.reserve(static_cast<size_t>(threads));
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this] { Loop(); });
  }
}

Executor::~Executor() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& thread : threads_) thread.join();
}

absl::Status Executor::TrySchedule(std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  if (static_cast<int>(tasks_.size()) >= max_queued_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the server is overloaded: ", tasks_.size(),
                     " tasks already wait, the limit is ", max_queued_,
                     "; retry with backoff"));
  }
  tasks_.push_back(std::move(task));
  return absl::OkStatus();
}

void Executor::Schedule(std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  tasks_.push_back(std::move(task));
}

void Executor::Loop() {
  auto has_work_or_stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || !tasks_.empty();
  };
  for (;;) {
    std::function<void()> task;
    {
      absl::MutexLock lock(&mu_, absl::Condition(&has_work_or_stopping));
      // Stopping still drains the queue: a scheduled task may own a reply
      // that a client is waiting for.
      if (tasks_.empty()) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

}  // namespace thb
