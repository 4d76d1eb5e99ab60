#ifndef THB_SERVICES_COOPERATION_COOPERATION_CORE_H_
#define THB_SERVICES_COOPERATION_COOPERATION_CORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/audit_log.h"
#include "common/message_budget.h"
#include "common/revision_notifier.h"
#include "services/cooperation/cooperation_store.h"
#include "services/registry/client/registry_snapshot.h"
#include "thb/cooperation/v1/cooperation_service.pb.h"

namespace thb::cooperation {

// The records of one BatchCreateRecords call, serialized as sent: with
// kMaxRecordBytes, what sizes the service's receive limit.
inline constexpr size_t kMaxBatchBytes = 16 * 1024 * 1024;
// Most records one BatchCreateRecords call may carry (the default of
// CoreOptions::max_batch_records).
inline constexpr int kMaxBatchRecords = 10000;
// The largest request the service must accept: a batch at kMaxBatchBytes,
// plus each record's tag and length (at most 5 bytes, as no record is
// longer than kMaxBatchBytes < 2^28) and a request id (at most 66 bytes):
// 50,066 bytes at most, rounded up to 64 KiB.
inline constexpr int kMaxReceiveMessageBytes =
    static_cast<int>(kMaxBatchBytes) + 64 * 1024;
// Rows a filtered ListRecords examines per call. When it is spent before the
// page is full, the page so far comes back with a next_page_token that
// continues after the last row examined (AIP-158 allows a short page), so a
// filter that matches nothing costs bounded work per call.
inline constexpr int kMaxRowsExaminedPerList = 20000;

struct CoreOptions {
  // Revisions of change history (and of remembered request ids) kept.
  int64_t history_revisions = 10000;
  // Most changes one ChangesAfter call gathers (whole revisions).
  int max_changes_per_batch = 1000;
  // Most bytes of records one ListRecords page carries (at least one).
  size_t max_page_bytes = kMaxListPageBytes;
  // Most bytes of changes one ChangesAfter call gathers (whole revisions, at
  // least one).
  size_t max_batch_bytes = kMaxWatchBatchBytes;
  // Most records one BatchCreateRecords call may carry.
  int max_batch_records = kMaxBatchRecords;
  int max_rows_examined_per_list = kMaxRowsExaminedPerList;
  // How long audit events are kept.
  absl::Duration audit_retention = audit::kDefaultRetention;
  // The server time that writes and the audit log go by.
  std::function<absl::Time()> clock = [] { return absl::Now(); };
};

// The cooperation service's logic: validation of records against the
// registry's codes, ids, etags, request-id idempotency, revisions, the
// change log and record filters. Writes are serialized and durable before
// they return; reads go to the store and may run alongside.
class CooperationCore {
 public:
  static absl::StatusOr<std::unique_ptr<CooperationCore>> Open(
      std::unique_ptr<CooperationStore> store,
      const registry::References* references, CoreOptions options = {});

  // `deadline` bounds the wait for the registry's codes (UNAVAILABLE when
  // they are not there in time; nothing is written then).
  // Every write records an audit event per record it changes, made by
  // `call`, in the write's transaction.
  absl::StatusOr<v1::CreateRecordResponse> CreateRecord(
      const v1::CreateRecordRequest& request, absl::Time deadline,
      const audit::Invocation& call);
  absl::StatusOr<v1::BatchCreateRecordsResponse> BatchCreateRecords(
      const v1::BatchCreateRecordsRequest& request, absl::Time deadline,
      const audit::Invocation& call);
  // The same, filling `response` in place (it may live on the call's arena;
  // a batch is validated and stamped where it will be sent from). The
  // records are moved out of `request`, not copied: it is left without them.
  absl::Status BatchCreateRecordsInto(v1::BatchCreateRecordsRequest* request,
                                      absl::Time deadline,
                                      const audit::Invocation& call,
                                      v1::BatchCreateRecordsResponse* response);
  absl::StatusOr<v1::UpdateRecordResponse> UpdateRecord(
      const v1::UpdateRecordRequest& request, absl::Time deadline,
      const audit::Invocation& call);
  absl::StatusOr<v1::DeleteRecordResponse> DeleteRecord(
      const v1::DeleteRecordRequest& request, const audit::Invocation& call);

  absl::StatusOr<v1::GetRecordResponse> GetRecord(
      const v1::GetRecordRequest& request) const;
  // Filtering on EMN status needs the registry; the other filters do not.
  absl::StatusOr<v1::ListRecordsResponse> ListRecords(
      const v1::ListRecordsRequest& request, absl::Time deadline) const;

  // Changes after `from_revision`, whole revisions at a time; empty when
  // none yet; OUT_OF_RANGE when the log no longer reaches back that far, when
  // `from_revision` is beyond the store's revision, or when `incarnation` is
  // set and is not the store's: the caller must list again.
  absl::StatusOr<v1::WatchResponse> ChangesAfter(
      int64_t from_revision, const std::string& incarnation = "") const;

  // The store's incarnation, sent with every List and Watch answer.
  const std::string& incarnation() const { return incarnation_; }

  // The audit log of record writes.
  absl::StatusOr<registry::v1::ListAuditEventsResponse> ListAuditEvents(
      const registry::v1::ListAuditEventsRequest& request) const;

  int64_t revision() const;
  RevisionNotifier& notifier() { return notifier_; }

 private:
  CooperationCore(std::unique_ptr<CooperationStore> store,
                  const registry::References* references, CoreOptions options,
                  StoreInfo info);

  // Returns the response of an earlier request with `request_id`, if any:
  // OK with it for a retry of the same request, INVALID_ARGUMENT when the id
  // was used for another request.
  template <typename Response>
  absl::StatusOr<std::optional<Response>> Replay(const std::string& request_id,
                                                 uint64_t fingerprint)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  // Fills each record that a remembered response holds only by its id with
  // the record as the change log holds it at `revision`.
  absl::Status FillFromLog(
      int64_t revision,
      google::protobuf::RepeatedPtrField<v1::CooperationRecord>* records) const;

  // Sets revision, etag, times and last writer of each written record for a
  // commit at `revision`, in the records and in their serialized form.
  static void Stamp(
      int64_t revision, absl::Time now, const std::string& principal,
      google::protobuf::RepeatedPtrField<v1::CooperationRecord>* records,
      ChangeKind kind, std::vector<ChangeRow>& changes);

  // Makes `changes` durable at the next revision, with an audit event of
  // `call` for each (and `memo`, the response with its records cut to their
  // ids, remembered under `request_id`, if set), then publishes the
  // revision.
  absl::Status Commit(int64_t revision, std::vector<ChangeRow> changes,
                      const audit::Invocation& call,
                      const std::string& request_id, uint64_t fingerprint,
                      const google::protobuf::Message& memo)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  std::unique_ptr<CooperationStore> store_;
  const registry::References* references_;
  CoreOptions options_;
  const std::string incarnation_;
  RevisionNotifier notifier_;

  absl::Mutex write_mu_;
  mutable absl::Mutex mu_;
  int64_t revision_ ABSL_GUARDED_BY(mu_);
  int64_t compacted_revision_ ABSL_GUARDED_BY(mu_);
};

}  // namespace thb::cooperation

#endif  // THB_SERVICES_COOPERATION_COOPERATION_CORE_H_
