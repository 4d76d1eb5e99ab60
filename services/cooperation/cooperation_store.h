#ifndef THB_SERVICES_COOPERATION_COOPERATION_STORE_H_
#define THB_SERVICES_COOPERATION_COOPERATION_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/audit_log.h"

namespace thb::cooperation {

// What a change did; values match thb.cooperation.v1.ChangeType.
enum class ChangeKind : int { kCreated = 1, kUpdated = 2, kDeleted = 3 };

// A record as stored: its serialized message and the revision of its last
// change.
struct RecordRow {
  std::string id;
  int64_t revision = 0;
  std::string data;
};

// One entry of the change log. For a deletion `data` is the last state.
struct ChangeRow {
  int64_t revision = 0;
  ChangeKind type = ChangeKind::kCreated;
  std::string id;
  int64_t commit_time_micros = 0;
  std::string data;
};

// The outcome of a write made with a request id, kept so that a retry gets
// the same answer instead of writing twice.
struct StoredRequest {
  std::string request_id;
  // Fingerprint of the request, so a reused id with another request is told
  // apart from a retry.
  uint64_t fingerprint = 0;
  int64_t revision = 0;
  std::string response;
};

struct StoreInfo {
  int64_t revision = 0;
  // Changes at or below this revision have been dropped from the log.
  int64_t compacted_revision = 0;
  // Which life of the store this is (32 lowercase hex characters), made when
  // the store was created: revisions of another life mean other things.
  std::string incarnation;
};

// One atomic write at `revision` (the store's revision plus one).
struct CommitBatch {
  int64_t revision = 0;
  std::vector<ChangeRow> changes;
  std::optional<StoredRequest> request;
  // Drop log entries and stored requests at or below this revision; 0 keeps
  // all.
  int64_t compact_through = 0;
  // The audit events of the changes, committed with them.
  std::vector<audit::Event> audit;
  // Also delete up to audit::kMaxPrunedPerCommit events older than this; 0
  // deletes none.
  int64_t audit_expired_before_micros = 0;
};

// Durable state of the cooperation service. Commit is all or nothing and
// returns only once durable. Reads see only committed data and may run
// while a commit is in progress.
class CooperationStore {
 public:
  virtual ~CooperationStore() = default;

  virtual absl::StatusOr<StoreInfo> Info() = 0;
  virtual absl::StatusOr<std::optional<RecordRow>> Get(
      const std::string& id) = 0;
  // The ids among `ids` that are stored.
  virtual absl::StatusOr<std::vector<std::string>> Existing(
      const std::vector<std::string>& ids) = 0;
  // Up to `limit` records with an id greater than `after_id`, by id.
  virtual absl::StatusOr<std::vector<RecordRow>> Scan(
      const std::string& after_id, int limit) = 0;
  virtual absl::StatusOr<int64_t> Count() = 0;
  // Changes with a revision greater than `after_revision`, in order: at
  // least every change of the first such revision, then whole revisions
  // while fewer than `max_changes` have been gathered and their records
  // stay within `max_bytes`.
  virtual absl::StatusOr<std::vector<ChangeRow>> ChangesAfter(
      int64_t after_revision, int max_changes, size_t max_bytes) = 0;
  virtual absl::StatusOr<std::optional<StoredRequest>> FindRequest(
      const std::string& request_id) = 0;
  // FAILED_PRECONDITION and nothing written when `batch.revision` is not
  // the stored revision plus one; ALREADY_EXISTS and nothing written when a
  // kCreated change names a record that is stored.
  virtual absl::Status Commit(const CommitBatch& batch) = 0;

  // The audit events `query` selects, newest first.
  virtual absl::StatusOr<std::vector<audit::Event>> ReadAudit(
      const audit::Query& query) = 0;
  // Deletes up to `limit` audit events older than `before_micros`; returns
  // how many.
  virtual absl::StatusOr<int> PruneAudit(int64_t before_micros, int limit) = 0;
};

}  // namespace thb::cooperation

#endif  // THB_SERVICES_COOPERATION_COOPERATION_STORE_H_
