// What every write of the cooperation core goes through: stamping the
// records and committing them at the next revision. The writes themselves
// are in cooperation_writes.cc, the reads in cooperation_reads.cc, the
// change log and the audit log in cooperation_changes.cc.

#include "services/cooperation/cooperation_core.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/etag.h"
#include "google/protobuf/util/time_util.h"

namespace thb::cooperation {
namespace {

using google::protobuf::util::TimeUtil;
using v1::CooperationRecord;

}  // namespace

CooperationCore::CooperationCore(std::unique_ptr<CooperationStore> store,
                                 const registry::References* references,
                                 CoreOptions options, StoreInfo info)
    : store_(std::move(store)),
      references_(references),
      options_(options),
      incarnation_(info.incarnation),
      notifier_(info.revision),
      revision_(info.revision),
      compacted_revision_(info.compacted_revision) {}

absl::StatusOr<std::unique_ptr<CooperationCore>> CooperationCore::Open(
    std::unique_ptr<CooperationStore> store,
    const registry::References* references, CoreOptions options) {
  if (options.history_revisions < 1) {
    return InvalidArgument(
        "history_revisions",
        absl::StrCat(options.history_revisions, " must be at least 1"));
  }
  // Events that expired while the server was down go before it serves.
  if (auto status =
          audit::PruneExpired(options.clock(), options.audit_retention,
                              [&store](int64_t before_micros, int limit) {
                                return store->PruneAudit(before_micros, limit);
                              });
      !status.ok()) {
    return status;
  }
  auto info = store->Info();
  if (!info.ok()) return info.status();
  return std::unique_ptr<CooperationCore>(
      new CooperationCore(std::move(store), references, options, *info));
}

int64_t CooperationCore::revision() const {
  absl::ReaderMutexLock lock(&mu_);
  return revision_;
}

void CooperationCore::Stamp(
    int64_t revision, absl::Time now, const std::string& principal,
    google::protobuf::RepeatedPtrField<CooperationRecord>* records,
    ChangeKind kind, std::vector<ChangeRow>& changes) {
  const int64_t micros = absl::ToUnixMicros(now);
  const auto timestamp = TimeUtil::MicrosecondsToTimestamp(micros);
  changes.reserve(changes.size() + records->size());
  for (auto& record : *records) {
    record.set_revision(revision);
    record.set_etag(MakeEtag("record", record.id(), revision));
    *record.mutable_update_time() = timestamp;
    if (kind == ChangeKind::kCreated) *record.mutable_create_time() = timestamp;
    record.set_last_changed_by(principal);
    changes.push_back(ChangeRow{revision, kind, record.id(), micros,
                                record.SerializeAsString()});
  }
}

absl::Status CooperationCore::Commit(int64_t revision,
                                     std::vector<ChangeRow> changes,
                                     const audit::Invocation& call,
                                     const std::string& request_id,
                                     uint64_t fingerprint,
                                     const google::protobuf::Message& memo) {
  CommitBatch batch;
  batch.revision = revision;
  batch.changes = std::move(changes);
  batch.audit.reserve(batch.changes.size());
  int64_t now_micros = 0;
  for (const ChangeRow& change : batch.changes) {
    now_micros = change.commit_time_micros;
    batch.audit.push_back(audit::EventOf(call,
                                         absl::StrCat("records/", change.id),
                                         request_id, revision, now_micros));
  }
  batch.audit_expired_before_micros =
      now_micros - absl::ToInt64Microseconds(options_.audit_retention);
  if (!request_id.empty()) {
    batch.request = StoredRequest{request_id, fingerprint, revision,
                                  memo.SerializeAsString()};
  }
  int64_t compacted;
  {
    absl::ReaderMutexLock lock(&mu_);
    compacted = compacted_revision_;
  }
  const bool compacts = revision - compacted > options_.history_revisions;
  if (compacts) {
    batch.compact_through = revision - options_.history_revisions;
    // Announced before the store drops the entries, so that no reader ever
    // takes a log with a hole for a complete one.
    absl::MutexLock lock(&mu_);
    compacted_revision_ = batch.compact_through;
  }
  if (auto status = store_->Commit(batch); !status.ok()) {
    if (compacts) {
      // The store rolled back and still holds those entries (a client can
      // cause this with a duplicate id): compact with the next commit
      // instead. A watcher that saw the announcement only lists again.
      absl::MutexLock lock(&mu_);
      compacted_revision_ = compacted;
    }
    return status;
  }
  {
    absl::MutexLock lock(&mu_);
    revision_ = revision;
  }
  notifier_.Publish(revision);
  return absl::OkStatus();
}

}  // namespace thb::cooperation
