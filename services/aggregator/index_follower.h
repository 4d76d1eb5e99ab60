#ifndef THB_SERVICES_AGGREGATOR_INDEX_FOLLOWER_H_
#define THB_SERVICES_AGGREGATOR_INDEX_FOLLOWER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/list_watch.h"
#include "grpcpp/channel.h"
#include "services/aggregator/record_index.h"
#include "thb/cooperation/v1/cooperation_service.grpc.pb.h"

namespace thb::aggregator {

// Keeps a RecordIndex equal to the cooperation store by list, then watch: a
// background thread lists every record into a fresh index, swaps it in,
// watches from the list's revision applying each change (idempotently by
// revision), resumes a broken stream from the last revision applied, and
// lists again when resuming cannot work: the store answers OUT_OF_RANGE, its
// incarnation changes or its revision moves backwards (it was replaced or
// restored from an older copy), or watching makes no progress. Queries read
// the index under a shared lock while changes apply under an exclusive one.
class IndexFollower {
 public:
  // How long asking the store its revision may take (CheckReachable).
  static constexpr absl::Duration kStoreProbeTimeout = absl::Seconds(1);

  struct Options {
    absl::Duration call_timeout = absl::Seconds(60);
    absl::Duration initial_backoff = absl::Milliseconds(100);
    absl::Duration max_backoff = absl::Seconds(5);
    int page_size = 10000;
    // For messages: the cooperation service's address.
    std::string address;
  };

  IndexFollower(std::shared_ptr<grpc::Channel> channel, Options options);
  // Over any implementation of the service's client interface (a test's
  // in-process transport).
  IndexFollower(
      std::unique_ptr<cooperation::v1::CooperationRecordService::StubInterface>
          stub,
      Options options);
  ~IndexFollower();
  IndexFollower(const IndexFollower&) = delete;
  IndexFollower& operator=(const IndexFollower&) = delete;

  void Start();
  void Stop();

  // Whether a first full list has been applied.
  bool synced() const;
  // The cooperation revision the index is at (0 before the first sync).
  int64_t revision() const;
  // The incarnation of the cooperation store that revision belongs to.
  std::string incarnation() const;
  // How many full lists were made.
  int lists() const;
  // The highest revision the cooperation store said it had (in a list page
  // or a watch batch): the index may lag it, never lead it.
  int64_t store_revision() const;

  // OK when `revision` exists in the store, so that waiting for it can
  // end: at or below store_revision(), or else below what the store
  // answers when asked again (one small list call, bounded by
  // kStoreProbeTimeout and `deadline`, shared by concurrent callers).
  // OUT_OF_RANGE naming both revisions when it is beyond the store's;
  // UNAVAILABLE when the store cannot be asked.
  absl::Status CheckReachable(int64_t revision, absl::Time deadline) const;

  // Waits until the index holds at least `revision`, or `deadline`;
  // DEADLINE_EXCEEDED naming the revision and the one reached.
  absl::Status WaitForRevision(int64_t revision, absl::Time deadline) const;
  // Waits for the first sync; UNAVAILABLE naming the service at `deadline`.
  absl::Status WaitSynced(absl::Time deadline) const;

  // The errors of the two waits above at their deadline, for a caller that
  // waits with WhenRevision.
  absl::Status RevisionNotReached(int64_t revision) const;
  absl::Status NotSynced() const;

  // Whether the index has synced and holds at least `revision`.
  bool Holds(int64_t revision) const;

  // Tells of a revision without any thread waiting for it: runs `callback`
  // once the index has synced and holds at least `revision` (0: once it has
  // synced), after the change is published and outside the index lock, on
  // the thread that applied it; or at once, on this thread, if the index
  // already holds it (then returns 0). Also runs it when the index is listed
  // anew, which may move it back (a store restored from an older copy): the
  // caller checks again. The callback must be short (it delays the next
  // change) and take no lock its caller holds here. Returns an id for
  // CancelWhen.
  uint64_t WhenRevision(int64_t revision, absl::AnyInvocable<void()> callback);
  uint64_t WhenSynced(absl::AnyInvocable<void()> callback) {
    return WhenRevision(0, std::move(callback));
  }
  // Drops a waiting callback: true if it will not run; false if it ran, is
  // running, or was dropped already.
  bool CancelWhen(uint64_t id);
  // Callbacks waiting (for tests and metrics).
  size_t waiting() const;

  // Runs `read(index, revision)` under the shared lock.
  void Read(
      const std::function<void(const RecordIndex&, int64_t revision,
                               const std::string& incarnation)>& read) const;

 private:
  // Lists everything into a new index and swaps it in.
  absl::Status Relist();
  // Watches from the index's revision; whether it applied any change.
  grpc::Status WatchFrom(int64_t revision, bool* progressed);
  // Runs, outside every lock, the callbacks whose revision the index now
  // holds; every callback when `everyone` (the index was listed anew).
  void Notify(bool everyone);

  std::unique_ptr<cooperation::v1::CooperationRecordService::StubInterface>
      stub_;
  Options options_;

  // Guards the index and its revision: shared for queries.
  mutable absl::Mutex index_mu_;
  std::unique_ptr<RecordIndex> index_ ABSL_GUARDED_BY(index_mu_);
  int64_t revision_ ABSL_GUARDED_BY(index_mu_) = 0;
  std::string incarnation_ ABSL_GUARDED_BY(index_mu_);
  bool synced_ ABSL_GUARDED_BY(index_mu_) = false;
  int lists_ ABSL_GUARDED_BY(index_mu_) = 0;
  // Copies of revision_ and synced_ readable without the lock, so that a
  // reactor thread never waits for a batch of changes being applied.
  std::atomic<int64_t> published_revision_{0};
  std::atomic<bool> published_synced_{false};
  // Raised (never lowered) by lists, watches and probes.
  mutable std::atomic<int64_t> store_revision_{0};
  // One probe at a time; callers that waited for one reuse its answer.
  mutable absl::Mutex probe_mu_;
  // When the last probe that got an answer started.
  mutable absl::Time last_probe_start_ ABSL_GUARDED_BY(probe_mu_) =
      absl::InfinitePast();

  // Callbacks waiting for a revision, by id. Taken after index_mu_ is
  // released, never while it is held.
  struct Waiter {
    int64_t revision;
    absl::AnyInvocable<void()> callback;
  };
  mutable absl::Mutex waiters_mu_;
  uint64_t next_waiter_ ABSL_GUARDED_BY(waiters_mu_) = 1;
  std::map<uint64_t, Waiter> waiters_ ABSL_GUARDED_BY(waiters_mu_);

  // Halved while list pages are too large for this client to receive.
  int page_size_;

  ListWatchLoop loop_;
};

}  // namespace thb::aggregator

#endif  // THB_SERVICES_AGGREGATOR_INDEX_FOLLOWER_H_
