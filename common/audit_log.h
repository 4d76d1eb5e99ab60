#ifndef THB_COMMON_AUDIT_LOG_H_
#define THB_COMMON_AUDIT_LOG_H_

// The audit log that the registry and the cooperation service keep in their
// own SQLite files: the table, its writes (always inside the transaction of
// the write they record), its pruning by age, and ListAuditEvents over it.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/caller.h"
#include "common/sqlite.h"
#include "thb/registry/v1/audit.pb.h"

namespace thb::audit {

// Events kept by default: 400 days, longer than a year of Watch history.
inline constexpr absl::Duration kDefaultRetention = absl::Hours(9600);
// ListAuditEvents pages: 0 asks for the default, more than the maximum gets
// the maximum.
inline constexpr int kDefaultPageSize = 100;
inline constexpr int kMaxPageSize = 1000;
// Most expired events one prune deletes, so that the write that prunes (or a
// start after a long pause) takes bounded time; the next write goes on.
inline constexpr int kMaxPrunedPerCommit = 1000;
// Longest resource or principal a filter may name.
inline constexpr size_t kMaxFilterLength = 512;

// The call that makes a write, as a core receives it from its service: who
// called, and the full gRPC method
// ("/thb.registry.v1.CountryRegistryService/CreateCountry").
struct Invocation {
  Caller caller;
  std::string method;
};

// One event, as stored.
struct Event {
  int64_t sequence = 0;  // set by the store
  int64_t time_micros = 0;
  std::string principal;
  std::string peer;
  std::string method;
  std::string resource;
  std::string request_id;
  int64_t revision = 0;
};

// The event of `call` writing `resource` at `revision`.
Event EventOf(const Invocation& call, std::string resource,
              std::string request_id, int64_t revision, int64_t time_micros);

// A validated ListAuditEvents request, as a store reads it: events matching
// every set filter, with a sequence below `before_sequence` (0: no bound),
// newest first, at most `limit`.
struct Query {
  std::string resource;
  std::string principal;
  int64_t start_micros = 0;           // inclusive
  std::optional<int64_t> end_micros;  // exclusive
  int64_t before_sequence = 0;
  int limit = kDefaultPageSize;
};

// The migration that adds the audit table to a store's schema.
extern const char kMigrationSql[];

// Appends `events` with the next sequences. Runs inside the caller's
// transaction: the events commit or roll back with the write they record.
absl::Status Append(sqlite::Database* db, const std::vector<Event>& events);

// Deletes up to `limit` events older than `before_micros`, oldest first;
// returns how many it deleted.
absl::StatusOr<int> Prune(sqlite::Database* db, int64_t before_micros,
                          int limit);

// Deletes every event older than `retention` before `now` through `prune`
// (a store's PruneAudit), audit::kMaxPrunedPerCommit at a time.
// INVALID_ARGUMENT on "audit_retention" when it is not positive.
absl::Status PruneExpired(
    absl::Time now, absl::Duration retention,
    const std::function<absl::StatusOr<int>(int64_t before_micros, int limit)>&
        prune);

// The events `query` selects.
absl::StatusOr<std::vector<Event>> Read(sqlite::Database* db,
                                        const Query& query);

// Checks `request` (INVALID_ARGUMENT naming the field) and turns it into the
// Query of one page, which never reaches back further than `retention`
// before `now`. The query asks for one event more than the page holds, so
// that ResponseOf knows whether there is a next page.
absl::StatusOr<Query> QueryOf(
    const registry::v1::ListAuditEventsRequest& request, absl::Time now,
    absl::Duration retention);

// The page of `events` read for QueryOf(request, ...).
registry::v1::ListAuditEventsResponse ResponseOf(
    const registry::v1::ListAuditEventsRequest& request,
    std::vector<Event> events);

// A ListAuditEvents call answered from a store: the query of `request`,
// the events `read` returns for it, the page made of them.
absl::StatusOr<registry::v1::ListAuditEventsResponse> ListPage(
    const registry::v1::ListAuditEventsRequest& request, absl::Time now,
    absl::Duration retention,
    const std::function<absl::StatusOr<std::vector<Event>>(const Query&)>&
        read);

}  // namespace thb::audit

#endif  // THB_COMMON_AUDIT_LOG_H_
