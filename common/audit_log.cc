#include "common/audit_log.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/fingerprint.h"
#include "common/page_token.h"
#include "google/protobuf/util/time_util.h"

namespace thb::audit {
namespace {

using google::protobuf::Timestamp;
using google::protobuf::util::TimeUtil;
using registry::v1::ListAuditEventsRequest;
using registry::v1::ListAuditEventsResponse;

// What a page token is bound to: the filters, without the paging fields.
uint64_t FilterHash(ListAuditEventsRequest request) {
  request.clear_page_size();
  request.clear_page_token();
  return MessageFingerprint(request);
}

absl::StatusOr<int64_t> MicrosOf(const Timestamp& time,
                                 std::string_view field) {
  if (time.seconds() < TimeUtil::kTimestampMinSeconds ||
      time.seconds() > TimeUtil::kTimestampMaxSeconds || time.nanos() < 0 ||
      time.nanos() > 999999999) {
    return InvalidArgument(
        field,
        absl::StrCat("{seconds: ", time.seconds(), ", nanos: ", time.nanos(),
                     "} is not a valid timestamp (0001-01-01 to "
                     "9999-12-31, nanos 0 to 999999999)"));
  }
  return TimeUtil::TimestampToMicroseconds(time);
}

absl::Status CheckFilter(const std::string& value, std::string_view field) {
  if (value.size() > kMaxFilterLength) {
    return InvalidArgument(
        field, absl::StrCat("is ", value.size(), " bytes long; the limit is ",
                            kMaxFilterLength));
  }
  if (std::any_of(value.begin(), value.end(), [](char c) {
        return absl::ascii_iscntrl(static_cast<unsigned char>(c));
      })) {
    return InvalidArgument(
        field,
        absl::StrCat(QuotedValue(value), " contains a control character"));
  }
  return absl::OkStatus();
}

// "records/fn15-at": a collection, a slash and an id, both non-empty.
absl::Status CheckResource(const std::string& resource) {
  if (auto status = CheckFilter(resource, "resource"); !status.ok()) {
    return status;
  }
  const size_t slash = resource.find('/');
  if (slash == 0 || slash == std::string::npos ||
      slash + 1 == resource.size()) {
    return InvalidArgument(
        "resource",
        absl::StrCat(QuotedValue(resource),
                     " is not a resource name like \"records/fn15-at\" or "
                     "\"countries/EL\""));
  }
  return absl::OkStatus();
}

}  // namespace

const char kMigrationSql[] = R"sql(
  CREATE TABLE audit_events (
    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
    time_micros INTEGER NOT NULL,
    principal TEXT NOT NULL,
    peer TEXT NOT NULL,
    method TEXT NOT NULL,
    resource TEXT NOT NULL,
    request_id TEXT NOT NULL,
    revision INTEGER NOT NULL
  );
  CREATE INDEX audit_events_by_time ON audit_events (time_micros);
  CREATE INDEX audit_events_by_resource ON audit_events (resource, sequence);
  CREATE INDEX audit_events_by_principal ON audit_events (principal, sequence);
)sql";

Event EventOf(const Invocation& call, std::string resource,
              std::string request_id, int64_t revision, int64_t time_micros) {
  Event event;
  event.time_micros = time_micros;
  event.principal = call.caller.principal;
  event.peer = call.caller.peer;
  event.method = call.method;
  event.resource = std::move(resource);
  event.request_id = std::move(request_id);
  event.revision = revision;
  return event;
}

absl::Status Append(sqlite::Database* db, const std::vector<Event>& events) {
  if (events.empty()) return absl::OkStatus();
  auto insert = db->Prepare(
      "INSERT INTO audit_events (time_micros, principal, peer, method, "
      "resource, request_id, revision) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  if (!insert.ok()) return insert.status();
  for (const Event& event : events) {
    // The events outlive every run of the statement: no copies.
    (*insert)
        ->Bind(1, event.time_micros)
        .BindTextUnowned(2, event.principal)
        .BindTextUnowned(3, event.peer)
        .BindTextUnowned(4, event.method)
        .BindTextUnowned(5, event.resource)
        .BindTextUnowned(6, event.request_id)
        .Bind(7, event.revision);
    if (auto status = (*insert)->Run(); !status.ok()) return status;
    (*insert)->Reset();
  }
  return absl::OkStatus();
}

absl::StatusOr<int> Prune(sqlite::Database* db, int64_t before_micros,
                          int limit) {
  // Through the time index: a prune with nothing expired reads one entry.
  auto prune = db->Prepare(
      "DELETE FROM audit_events WHERE sequence IN (SELECT sequence FROM "
      "audit_events WHERE time_micros < ?1 ORDER BY time_micros LIMIT ?2)");
  if (!prune.ok()) return prune.status();
  (*prune)->Bind(1, before_micros).Bind(2, static_cast<int64_t>(limit));
  if (auto status = (*prune)->Run(); !status.ok()) return status;
  const int deleted = (*prune)->Changes();
  (*prune)->Reset();
  return deleted;
}

absl::Status PruneExpired(
    absl::Time now, absl::Duration retention,
    const std::function<absl::StatusOr<int>(int64_t, int)>& prune) {
  if (retention <= absl::ZeroDuration()) {
    return InvalidArgument(
        "audit_retention",
        absl::StrCat(absl::FormatDuration(retention), " must be positive"));
  }
  const int64_t before = absl::ToUnixMicros(now - retention);
  while (true) {
    auto pruned = prune(before, kMaxPrunedPerCommit);
    if (!pruned.ok()) return pruned.status();
    if (*pruned < kMaxPrunedPerCommit) return absl::OkStatus();
  }
}

absl::StatusOr<std::vector<Event>> Read(sqlite::Database* db,
                                        const Query& query) {
  // Only the filters that are set, so that SQLite can pick the index of the
  // one that narrows most; each shape is prepared once and cached.
  std::string sql =
      "SELECT sequence, time_micros, principal, peer, method, resource, "
      "request_id, revision FROM audit_events WHERE time_micros >= ?";
  std::vector<std::function<void(sqlite::Statement&, int)>> binds;
  binds.push_back(
      [&](sqlite::Statement& s, int i) { s.Bind(i, query.start_micros); });
  if (query.end_micros.has_value()) {
    sql += " AND time_micros < ?";
    binds.push_back(
        [&](sqlite::Statement& s, int i) { s.Bind(i, *query.end_micros); });
  }
  if (!query.resource.empty()) {
    sql += " AND resource = ?";
    binds.push_back(
        [&](sqlite::Statement& s, int i) { s.Bind(i, query.resource); });
  }
  if (!query.principal.empty()) {
    sql += " AND principal = ?";
    binds.push_back(
        [&](sqlite::Statement& s, int i) { s.Bind(i, query.principal); });
  }
  if (query.before_sequence != 0) {
    sql += " AND sequence < ?";
    binds.push_back(
        [&](sqlite::Statement& s, int i) { s.Bind(i, query.before_sequence); });
  }
  sql += " ORDER BY sequence DESC LIMIT ?";
  binds.push_back([&](sqlite::Statement& s, int i) {
    s.Bind(i, static_cast<int64_t>(query.limit));
  });

  auto stmt = db->Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  for (size_t i = 0; i < binds.size(); ++i) {
    binds[i](**stmt, static_cast<int>(i + 1));
  }
  std::vector<Event> events;
  while (true) {
    auto row = (*stmt)->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    Event event;
    event.sequence = (*stmt)->ColumnInt(0);
    event.time_micros = (*stmt)->ColumnInt(1);
    event.principal = (*stmt)->ColumnText(2);
    event.peer = (*stmt)->ColumnText(3);
    event.method = (*stmt)->ColumnText(4);
    event.resource = (*stmt)->ColumnText(5);
    event.request_id = (*stmt)->ColumnText(6);
    event.revision = (*stmt)->ColumnInt(7);
    events.push_back(std::move(event));
  }
  return events;
}

absl::StatusOr<Query> QueryOf(const ListAuditEventsRequest& request,
                              absl::Time now, absl::Duration retention) {
  auto page_size =
      EffectivePageSize(request.page_size(), kDefaultPageSize, kMaxPageSize);
  if (!page_size.ok()) return page_size.status();
  auto after = DecodePageToken(request.page_token(), FilterHash(request));
  if (!after.ok()) return after.status();
  Query query;
  query.limit = *page_size + 1;
  if (!after->empty() && (!absl::SimpleAtoi(*after, &query.before_sequence) ||
                          query.before_sequence <= 0)) {
    return InvalidArgument("page_token",
                           "does not name a position in the audit log");
  }
  if (!request.resource().empty()) {
    if (auto status = CheckResource(request.resource()); !status.ok()) {
      return status;
    }
    query.resource = request.resource();
  }
  if (auto status = CheckFilter(request.principal(), "principal");
      !status.ok()) {
    return status;
  }
  query.principal = request.principal();
  int64_t start = 0;
  if (request.has_start_time()) {
    auto micros = MicrosOf(request.start_time(), "start_time");
    if (!micros.ok()) return micros.status();
    start = *micros;
  }
  if (request.has_end_time()) {
    auto micros = MicrosOf(request.end_time(), "end_time");
    if (!micros.ok()) return micros.status();
    if (request.has_start_time() && *micros <= start) {
      return InvalidArgument(
          "end_time", absl::StrCat(TimeUtil::ToString(request.end_time()),
                                   " is not after start_time ",
                                   TimeUtil::ToString(request.start_time())));
    }
    query.end_micros = *micros;
  }
  // Expired events that a prune has not reached yet are never shown, so the
  // retention is exact for readers.
  query.start_micros = std::max(start, absl::ToUnixMicros(now - retention));
  return query;
}

ListAuditEventsResponse ResponseOf(const ListAuditEventsRequest& request,
                                   std::vector<Event> events) {
  const int page_size =
      EffectivePageSize(request.page_size(), kDefaultPageSize, kMaxPageSize)
          .value_or(kDefaultPageSize);
  ListAuditEventsResponse response;
  const bool more = static_cast<int>(events.size()) > page_size;
  if (more) events.resize(page_size);
  for (Event& event : events) {
    registry::v1::AuditEvent* out = response.add_events();
    out->set_sequence(event.sequence);
    *out->mutable_time() = TimeUtil::MicrosecondsToTimestamp(event.time_micros);
    out->set_principal(std::move(event.principal));
    out->set_peer(std::move(event.peer));
    out->set_method(std::move(event.method));
    out->set_resource(std::move(event.resource));
    out->set_request_id(std::move(event.request_id));
    out->set_revision(event.revision);
  }
  if (more && !events.empty()) {
    response.set_next_page_token(EncodePageToken(
        absl::StrCat(events.back().sequence), FilterHash(request)));
  }
  return response;
}

absl::StatusOr<registry::v1::ListAuditEventsResponse> ListPage(
    const registry::v1::ListAuditEventsRequest& request, absl::Time now,
    absl::Duration retention,
    const std::function<absl::StatusOr<std::vector<Event>>(const Query&)>&
        read) {
  auto query = QueryOf(request, now, retention);
  if (!query.ok()) return query.status();
  auto events = read(*query);
  if (!events.ok()) return events.status();
  return ResponseOf(request, std::move(*events));
}

}  // namespace thb::audit
