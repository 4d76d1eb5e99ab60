#include "common/list_watch.h"

#include <algorithm>
#include <utility>

#include "common/follow_progress.h"

namespace thb {

ListWatchLoop::~ListWatchLoop() { Stop(); }

void ListWatchLoop::Start(Steps steps) {
  steps_ = std::move(steps);
  thread_ = std::thread([this] { Run(); });
}

void ListWatchLoop::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (active_call_ != nullptr) active_call_->TryCancel();
  }
  if (thread_.joinable()) thread_.join();
}

bool ListWatchLoop::Begin(grpc::ClientContext* context) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return false;
  active_call_ = context;
  return true;
}

void ListWatchLoop::End() {
  absl::MutexLock lock(&mu_);
  active_call_ = nullptr;
}

bool ListWatchLoop::SleepUnlessStopped(absl::Duration duration) {
  absl::MutexLock lock(&mu_);
  auto stopping = [this]()
                      ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stopping_; };
  return !mu_.AwaitWithTimeout(absl::Condition(&stopping), duration);
}

void ListWatchLoop::Run() {
  const bool reset_on_progress = steps_.reset == BackoffReset::kOnProgress;
  absl::Duration backoff = steps_.initial_backoff;
  bool listed = false;
  FollowProgress progress;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
    }
    if (!listed) {
      const absl::Status status = steps_.list();
      if (status.code() == absl::StatusCode::kCancelled) return;
      if (!status.ok()) {
        steps_.list_failed(status, backoff);
        if (!SleepUnlessStopped(backoff)) return;
        backoff = std::min(backoff * 2, steps_.max_backoff);
        continue;
      }
      listed = true;
      if (reset_on_progress) backoff = steps_.initial_backoff;
    }
    bool progressed = false;
    const grpc::Status status = steps_.watch(&progressed);
    if (progressed && reset_on_progress) backoff = steps_.initial_backoff;
    std::string why;
    if (progress.ShouldRelist(status, progressed, &why)) {
      steps_.cannot_resume(why);
      listed = false;
      if (!reset_on_progress) backoff = steps_.initial_backoff;
      continue;
    }
    if (!SleepUnlessStopped(backoff)) return;
    backoff = std::min(backoff * 2, steps_.max_backoff);
    if (!reset_on_progress &&
        status.error_code() != grpc::StatusCode::UNAVAILABLE) {
      backoff = steps_.initial_backoff;
    }
  }
}

}  // namespace thb
