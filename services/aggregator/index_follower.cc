#include "services/aggregator/index_follower.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/errors.h"
#include "common/follow_progress.h"
#include "common/logging.h"

namespace thb::aggregator {

namespace v1 = ::thb::cooperation::v1;

IndexFollower::IndexFollower(std::shared_ptr<grpc::Channel> channel,
                             Options options)
    : IndexFollower(v1::CooperationRecordService::NewStub(std::move(channel)),
                    std::move(options)) {}

IndexFollower::IndexFollower(
    std::unique_ptr<v1::CooperationRecordService::StubInterface> stub,
    Options options)
    : stub_(std::move(stub)),
      options_(std::move(options)),
      index_(std::make_unique<RecordIndex>()),
      page_size_(std::max(1, options_.page_size)) {}

IndexFollower::~IndexFollower() { Stop(); }

void IndexFollower::Start() {
  ListWatchLoop::Steps steps;
  steps.initial_backoff = options_.initial_backoff;
  steps.max_backoff = options_.max_backoff;
  steps.reset = ListWatchLoop::BackoffReset::kOnProgress;
  steps.list = [this] {
    const absl::Status status = Relist();
    if (status.ok()) {
      THB_LOG(Info) << "index synced at cooperation revision " << revision();
    }
    return status;
  };
  steps.list_failed = [](const absl::Status& status, absl::Duration backoff) {
    THB_LOG(Warning) << status.message() << "; retrying in "
                     << absl::FormatDuration(backoff);
  };
  steps.watch = [this](bool* progressed) {
    return WatchFrom(revision(), progressed);
  };
  steps.cannot_resume = [this](const std::string& why) {
    THB_LOG(Warning) << "cannot resume watching " << options_.address
                     << " from revision " << revision() << ": " << why
                     << "; listing again";
  };
  loop_.Start(std::move(steps));
}

void IndexFollower::Stop() { loop_.Stop(); }

bool IndexFollower::synced() const {
  return published_synced_.load(std::memory_order_acquire);
}

int64_t IndexFollower::revision() const {
  return published_revision_.load(std::memory_order_acquire);
}

namespace {

void RaiseTo(std::atomic<int64_t>& value, int64_t candidate) {
  int64_t current = value.load(std::memory_order_relaxed);
  while (candidate > current &&
         !value.compare_exchange_weak(current, candidate,
                                      std::memory_order_acq_rel)) {
  }
}

}  // namespace

int64_t IndexFollower::store_revision() const {
  return store_revision_.load(std::memory_order_acquire);
}

absl::Status IndexFollower::CheckReachable(int64_t revision,
                                           absl::Time deadline) const {
  auto known = [this] { return std::max(store_revision(), this->revision()); };
  if (revision <= known()) return absl::OkStatus();
  // A write acknowledged a moment ago may not have reached the watch yet:
  // the store itself says whether the revision exists.
  const absl::Time asked = absl::Now();
  absl::MutexLock lock(&probe_mu_);
  if (revision <= known()) return absl::OkStatus();
  if (last_probe_start_ < asked) {
    const absl::Time start = absl::Now();
    v1::ListRecordsRequest request;
    request.set_page_size(1);
    v1::ListRecordsResponse response;
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(
        std::min(deadline, absl::Now() + kStoreProbeTimeout)));
    const grpc::Status status =
        stub_->ListRecords(&context, request, &response);
    if (!status.ok()) {
      return absl::UnavailableError(
          absl::StrCat("cannot learn whether min_cooperation_revision ",
                       revision, " exists: asking the cooperation service at ",
                       options_.address, " failed: ", status.error_message()));
    }
    RaiseTo(store_revision_, response.revision());
    // Only an answer counts for those who waited: a failed probe is tried
    // again by the next caller.
    last_probe_start_ = start;
  }
  if (revision <= known()) return absl::OkStatus();
  return WithReason(
      absl::OutOfRangeError(absl::StrCat(
          "min_cooperation_revision ", revision,
          " is beyond the cooperation store's current revision ", known())),
      "REVISION_NOT_YET_WRITTEN",
      {{"min_cooperation_revision", absl::StrCat(revision)},
       {"store_revision", absl::StrCat(known())}});
}

std::string IndexFollower::incarnation() const {
  absl::ReaderMutexLock lock(&index_mu_);
  return incarnation_;
}

int IndexFollower::lists() const {
  absl::ReaderMutexLock lock(&index_mu_);
  return lists_;
}

absl::Status IndexFollower::WaitForRevision(int64_t revision,
                                            absl::Time deadline) const {
  absl::ReaderMutexLock lock(&index_mu_);
  auto reached = [this, revision]() ABSL_SHARED_LOCKS_REQUIRED(index_mu_) {
    return synced_ && revision_ >= revision;
  };
  if (index_mu_.AwaitWithDeadline(absl::Condition(&reached), deadline)) {
    return absl::OkStatus();
  }
  return RevisionNotReached(revision);
}

absl::Status IndexFollower::WaitSynced(absl::Time deadline) const {
  absl::ReaderMutexLock lock(&index_mu_);
  auto ready = [this]()
                   ABSL_SHARED_LOCKS_REQUIRED(index_mu_) { return synced_; };
  if (index_mu_.AwaitWithDeadline(absl::Condition(&ready), deadline)) {
    return absl::OkStatus();
  }
  return NotSynced();
}

absl::Status IndexFollower::RevisionNotReached(int64_t revision) const {
  const int64_t reached = this->revision();
  return WithReason(
      absl::DeadlineExceededError(absl::StrCat(
          "min_cooperation_revision ", revision,
          " was not reached before the deadline; the index is at revision ",
          reached)),
      "REVISION_NOT_REACHED",
      {{"min_cooperation_revision", absl::StrCat(revision)},
       {"index_revision", absl::StrCat(reached)}});
}

absl::Status IndexFollower::NotSynced() const {
  return absl::UnavailableError(
      absl::StrCat("the index has not synced with the cooperation service at ",
                   options_.address, " yet"));
}

bool IndexFollower::Holds(int64_t revision) const {
  return synced() && this->revision() >= revision;
}

uint64_t IndexFollower::WhenRevision(int64_t revision,
                                     absl::AnyInvocable<void()> callback) {
  {
    absl::MutexLock lock(&waiters_mu_);
    // Publishing stores the revision before it takes waiters_mu_: either
    // this sees it, or Notify sees this waiter.
    if (!Holds(revision)) {
      const uint64_t id = next_waiter_++;
      waiters_.emplace(id, Waiter{revision, std::move(callback)});
      return id;
    }
  }
  callback();
  return 0;
}

bool IndexFollower::CancelWhen(uint64_t id) {
  absl::MutexLock lock(&waiters_mu_);
  return waiters_.erase(id) > 0;
}

size_t IndexFollower::waiting() const {
  absl::MutexLock lock(&waiters_mu_);
  return waiters_.size();
}

void IndexFollower::Notify(bool everyone) {
  std::vector<absl::AnyInvocable<void()>> ready;
  {
    absl::MutexLock lock(&waiters_mu_);
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (everyone || Holds(it->second.revision)) {
        ready.push_back(std::move(it->second.callback));
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& callback : ready) callback();
}

void IndexFollower::Read(
    const std::function<void(const RecordIndex&, int64_t, const std::string&)>&
        read) const {
  absl::ReaderMutexLock lock(&index_mu_);
  read(*index_, revision_, incarnation_);
}

absl::Status IndexFollower::Relist() {
  auto fresh = std::make_unique<RecordIndex>();
  // Pages are read at different revisions; the revision of the first page
  // is where the watch resumes, and replaying a change a later page already
  // showed is a no-op for the index (idempotent by revision).
  int64_t revision = -1;
  int64_t last_page_revision = -1;
  std::string incarnation;
  v1::ListRecordsRequest request;
  while (true) {
    request.set_page_size(page_size_);
    v1::ListRecordsResponse response;
    grpc::ClientContext context;
    context.set_deadline(
        absl::ToChronoTime(absl::Now() + options_.call_timeout));
    if (!loop_.Begin(&context)) return absl::CancelledError("stopping");
    const grpc::Status status =
        stub_->ListRecords(&context, request, &response);
    loop_.End();
    if (FollowProgress::TooLarge(status) && page_size_ > 1) {
      // The same page would fail forever; a smaller one may pass.
      page_size_ = std::max(1, page_size_ / 2);
      THB_LOG(Warning) << "a page of records from " << options_.address
                       << " is larger than this client may receive ("
                       << status.error_message() << "); asking for pages of "
                       << page_size_;
      continue;
    }
    if (!status.ok()) {
      return absl::UnavailableError(absl::StrCat("listing records from ",
                                                 options_.address, ": ",
                                                 status.error_message()));
    }
    if (revision < 0) {
      revision = response.revision();
      incarnation = response.incarnation();
      // A fresh list may follow a store restored to a lower revision: what
      // the store said before no longer holds.
      store_revision_.store(response.revision(), std::memory_order_release);
    } else if (response.incarnation() != incarnation ||
               response.revision() < last_page_revision) {
      return absl::AbortedError(
          absl::StrCat("the cooperation store at ", options_.address,
                       " was replaced or restored while it was being listed"));
    }
    last_page_revision = response.revision();
    RaiseTo(store_revision_, response.revision());
    for (const auto& record : response.records()) fresh->Upsert(record);
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }

  bool moved_back = false;
  {
    absl::MutexLock lock(&index_mu_);
    moved_back =
        synced_ && (incarnation != incarnation_ || revision < revision_);
    index_ = std::move(fresh);
    revision_ = revision;
    incarnation_ = incarnation;
    synced_ = true;
    ++lists_;
    published_revision_.store(revision, std::memory_order_release);
    published_synced_.store(true, std::memory_order_release);
  }
  // A store replaced or restored: what a waiter waits for may no longer come,
  // so every waiter checks again. Otherwise only those the list reached.
  Notify(/*everyone=*/moved_back);
  return absl::OkStatus();
}

grpc::Status IndexFollower::WatchFrom(int64_t revision, bool* progressed) {
  *progressed = false;
  grpc::ClientContext context;
  if (!loop_.Begin(&context)) {
    return grpc::Status(grpc::StatusCode::CANCELLED, "stopping");
  }
  v1::WatchRequest request;
  request.set_from_revision(revision);
  request.set_incarnation(incarnation());
  auto reader = stub_->Watch(&context, request);
  v1::WatchResponse response;
  grpc::Status reset;
  while (reader->Read(&response)) {
    RaiseTo(store_revision_, response.revision());
    {
      absl::MutexLock lock(&index_mu_);
      // A server that does not check the request itself still tells its
      // incarnation and revision in every message.
      if ((!response.incarnation().empty() &&
           response.incarnation() != incarnation_) ||
          response.revision() < revision_) {
        reset = grpc::Status(
            grpc::StatusCode::OUT_OF_RANGE,
            absl::StrCat("the cooperation store is at revision ",
                         response.revision(), " of incarnation \"",
                         response.incarnation(), "\", the index at ", revision_,
                         " of \"", incarnation_, "\": it was reset"));
        context.TryCancel();
        break;
      }
      if (response.changes().empty()) continue;
      for (const auto& change : response.changes()) {
        if (change.type() == v1::CHANGE_TYPE_DELETED) {
          index_->Remove(change.record().id(), change.revision());
        } else {
          index_->Upsert(change.record());
        }
        revision_ = std::max(revision_, change.revision());
      }
      *progressed = true;
      published_revision_.store(revision_, std::memory_order_release);
    }
    Notify(/*everyone=*/false);
  }
  grpc::Status status = reader->Finish();
  loop_.End();
  return reset.ok() ? status : reset;
}

}  // namespace thb::aggregator
