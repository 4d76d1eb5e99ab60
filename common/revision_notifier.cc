#include "common/revision_notifier.h"

#include <utility>
#include <vector>

namespace thb {

int64_t RevisionNotifier::revision() const {
  absl::MutexLock lock(&mu_);
  return revision_;
}

void RevisionNotifier::Publish(int64_t revision) {
  std::vector<std::function<void()>> ready;
  {
    absl::MutexLock lock(&mu_);
    if (revision > revision_) revision_ = revision;
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (it->second.seen < revision_) {
        ready.push_back(std::move(it->second.callback));
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
  }
  if (ready.empty()) return;
  if (fan_out_ != nullptr) {
    fan_out_->Schedule([ready = std::move(ready)] {
      for (auto& callback : ready) callback();
    });
    return;
  }
  for (auto& callback : ready) callback();
}

uint64_t RevisionNotifier::WhenAfter(int64_t seen,
                                     std::function<void()> callback) {
  {
    absl::MutexLock lock(&mu_);
    if (seen >= revision_ && !closed_) {
      const uint64_t id = next_id_++;
      waiters_.emplace(id, Waiter{seen, std::move(callback)});
      return id;
    }
  }
  callback();
  return 0;
}

void RevisionNotifier::Close() {
  std::map<uint64_t, Waiter> woken;
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    woken.swap(waiters_);
  }
  for (auto& [id, waiter] : woken) waiter.callback();
}

bool RevisionNotifier::closed() const {
  absl::MutexLock lock(&mu_);
  return closed_;
}

bool RevisionNotifier::Cancel(uint64_t id) {
  absl::MutexLock lock(&mu_);
  return waiters_.erase(id) > 0;
}

}  // namespace thb
