#ifndef THB_SERVICES_REGISTRY_REGISTRY_STORE_H_
#define THB_SERVICES_REGISTRY_REGISTRY_STORE_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/audit_log.h"

namespace thb::registry {

// The resource types the registry keeps.
enum class ResourceKind : int { kCountry = 1, kRegion = 2, kOrganisation = 3 };

// What a change did; values match thb.registry.v1.ChangeType.
enum class ChangeKind : int { kCreated = 1, kUpdated = 2, kDeleted = 3 };

// A resource as stored: its serialized message and the revision of its last
// change.
struct StoredResource {
  ResourceKind kind;
  std::string id;
  int64_t revision = 0;
  std::string data;
};

// One entry of the change log. For a deletion `data` is the last state.
struct StoredChange {
  int64_t revision = 0;
  ChangeKind type = ChangeKind::kCreated;
  ResourceKind kind = ResourceKind::kCountry;
  std::string id;
  int64_t commit_time_micros = 0;
  std::string data;
};

// Everything a store holds, read once at start.
struct StoreState {
  int64_t revision = 0;
  // Changes with a revision at or below this have been dropped from the log.
  int64_t compacted_revision = 0;
  // Which life of the store this is (32 lowercase hex characters), made when
  // the store was created: revisions of another life mean other things.
  std::string incarnation;
  std::vector<StoredResource> resources;
  // Ordered by revision.
  std::vector<StoredChange> changes;
  std::map<std::string, std::string> meta;
};

// One atomic write: every change at `revision` (which must be the store's
// revision plus one), the resources they leave behind, metadata, and the
// log entries dropped by retention.
struct CommitBatch {
  int64_t revision = 0;
  std::vector<StoredChange> changes;
  std::map<std::string, std::string> meta;
  // Drop log entries with a revision at or below this; 0 keeps all.
  int64_t compact_through = 0;
  // The audit events of the changes, committed with them.
  std::vector<audit::Event> audit;
  // Also delete up to audit::kMaxPrunedPerCommit events older than this; 0
  // deletes none.
  int64_t audit_expired_before_micros = 0;
};

// Durable state of the registry. Implementations apply a CommitBatch in one
// transaction and acknowledge it only once it is durable. The registry core
// keeps its working copy in memory and calls the store only to load and to
// commit, so a backend needs no query logic of its own.
class RegistryStore {
 public:
  virtual ~RegistryStore() = default;

  virtual absl::StatusOr<StoreState> Load() = 0;

  // All or nothing. A revision other than the stored one plus one is
  // FAILED_PRECONDITION and writes nothing.
  virtual absl::Status Commit(const CommitBatch& batch) = 0;

  // The audit events `query` selects, newest first.
  virtual absl::StatusOr<std::vector<audit::Event>> ReadAudit(
      const audit::Query& query) = 0;
  // Deletes up to `limit` audit events older than `before_micros`; returns
  // how many.
  virtual absl::StatusOr<int> PruneAudit(int64_t before_micros, int limit) = 0;
};

}  // namespace thb::registry

#endif  // THB_SERVICES_REGISTRY_REGISTRY_STORE_H_
