// The cooperation core's logs: the change log that Watch serves, and the
// audit log of writes.

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "google/protobuf/util/time_util.h"
#include "services/cooperation/cooperation_core.h"
#include "services/cooperation/record_row.h"

namespace thb::cooperation {
namespace {

using google::protobuf::util::TimeUtil;

}  // namespace

absl::StatusOr<v1::WatchResponse> CooperationCore::ChangesAfter(
    int64_t from_revision, const std::string& incarnation) const {
  if (from_revision < 0) {
    return InvalidArgument("from_revision",
                           absl::StrCat(from_revision, " is negative"));
  }
  if (!incarnation.empty() && incarnation != incarnation_) {
    return IncarnationChanged(incarnation, incarnation_);
  }
  int64_t compacted;
  int64_t current;
  {
    absl::ReaderMutexLock lock(&mu_);
    compacted = compacted_revision_;
    current = revision_;
  }
  if (from_revision < compacted) {
    return RevisionCompacted(from_revision, compacted + 1);
  }
  if (from_revision > current) return RevisionAhead(from_revision, current);
  auto rows = store_->ChangesAfter(
      from_revision, options_.max_changes_per_batch, options_.max_batch_bytes);
  if (!rows.ok()) return rows.status();
  // A commit is readable in the store a moment before Commit() publishes
  // its revision. Sending it then would make the watcher's next read ask
  // for changes after a revision the core does not have yet, which is
  // refused as a reset store: only what is published goes out.
  while (!rows->empty() && rows->back().revision > current) rows->pop_back();
  v1::WatchResponse response;
  response.set_revision(current);
  response.set_incarnation(incarnation_);
  response.mutable_changes()->Reserve(rows->size());
  for (const auto& row : *rows) {
    v1::Change* change = response.add_changes();
    change->set_revision(row.revision);
    change->set_type(static_cast<v1::ChangeType>(row.type));
    *change->mutable_commit_time() =
        TimeUtil::MicrosecondsToTimestamp(row.commit_time_micros);
    if (auto s = ParseRecordRow(row.id, row.data, change->mutable_record());
        !s.ok()) {
      return absl::InternalError(
          absl::StrCat("change at revision ", row.revision, ": ", s.message()));
    }
  }
  return response;
}

absl::StatusOr<registry::v1::ListAuditEventsResponse>
CooperationCore::ListAuditEvents(
    const registry::v1::ListAuditEventsRequest& request) const {
  return audit::ListPage(
      request, options_.clock(), options_.audit_retention,
      [this](const audit::Query& query) { return store_->ReadAudit(query); });
}

}  // namespace thb::cooperation
