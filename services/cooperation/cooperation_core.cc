#include "services/cooperation/cooperation_core.h"

#include <algorithm>
#include <set>
#include <string_view>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/dates.h"
#include "common/errors.h"
#include "common/fingerprint.h"
#include "common/page_token.h"
#include "domain/record_filter.h"
#include "google/protobuf/util/field_mask_util.h"
#include "google/protobuf/util/time_util.h"
#include "services/cooperation/record_validation.h"

namespace thb::cooperation {
namespace {

using google::protobuf::util::FieldMaskUtil;
using google::protobuf::util::TimeUtil;
using v1::CooperationRecord;

constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 10000;
constexpr int kScanChunk = 512;
constexpr size_t kMaxRequestIdLength = 64;

const std::set<std::string>& WritableFields() {
  static const auto* fields = new std::set<std::string>{
      "reporting_country", "kind",         "title",    "description",
      "thematic_areas",    "form",         "partners", "target_regions",
      "target_countries",  "implementers", "funding",  "start_year",
      "end_year",          "status",       "tags",     "sources"};
  return *fields;
}

std::string Etag(const std::string& id, int64_t revision) {
  return FingerprintHex(
      Fingerprint64(absl::StrCat("record/", id, "@", revision)));
}

std::string NewRecordId() {
  static absl::Mutex mu(absl::kConstInit);
  static absl::BitGen* gen = new absl::BitGen();
  absl::MutexLock lock(&mu);
  return absl::StrFormat("r%016x", absl::Uniform<uint64_t>(*gen));
}

void ClearOutputOnly(CooperationRecord& record) {
  record.clear_revision();
  record.clear_etag();
  record.clear_create_time();
  record.clear_update_time();
  record.clear_last_changed_by();
}

absl::Status CheckRequestId(const std::string& request_id) {
  if (request_id.size() > kMaxRequestIdLength) {
    return InvalidArgument(
        "request_id",
        absl::StrCat("is ", request_id.size(),
                     " characters long; the limit is ", kMaxRequestIdLength));
  }
  return absl::OkStatus();
}

// The fingerprint of a write request, without its request id, so that a
// retry matches the original; 0 when there is no request id to remember it
// under (a batch of 10,000 records is not serialized for nothing).
template <typename Request>
uint64_t RequestFingerprint(const Request& request) {
  if (request.request_id().empty()) return 0;
  Request copy = request;
  copy.clear_request_id();
  return Fingerprint64(absl::StrCat(Request::descriptor()->full_name(), "/",
                                    MessageFingerprint(copy)));
}

// Reads the stored form of record `id`. A row that does not parse, or that
// holds another record, is never taken for the record: an update would
// write the part that parsed back as if it were whole.
absl::Status ParseRecordRow(const std::string& id, const std::string& data,
                            CooperationRecord* record) {
  if (!record->ParseFromString(data)) {
    return absl::InternalError(absl::StrCat(
        "stored record \"", id, "\" cannot be read: its row does not parse"));
  }
  if (record->id() != id) {
    return absl::InternalError(absl::StrCat("stored record \"", id,
                                            "\" cannot be read: its row "
                                            "holds record \"",
                                            record->id(), "\""));
  }
  return absl::OkStatus();
}

// The form in which a response is remembered under its request id: its
// records cut down to their ids. The change log holds them whole at the
// response's revision for exactly as long as the memo is kept (both are
// compacted together), so a write is not stored a third time.
v1::BatchCreateRecordsResponse MemoOf(
    const v1::BatchCreateRecordsResponse& response) {
  v1::BatchCreateRecordsResponse memo;
  memo.set_revision(response.revision());
  for (const CooperationRecord& record : response.records()) {
    memo.add_records()->set_id(record.id());
  }
  return memo;
}

template <typename Response>
Response MemoOf(const Response& response) {
  Response memo;
  memo.mutable_record()->set_id(response.record().id());
  return memo;
}

// Gives a remembered response its records back through `fill`.
using FillRecords = absl::FunctionRef<absl::Status(
    google::protobuf::RepeatedPtrField<CooperationRecord>*)>;

absl::Status Restore(v1::BatchCreateRecordsResponse& response,
                     FillRecords fill) {
  return fill(response.mutable_records());
}

absl::Status Restore(v1::DeleteRecordResponse&, FillRecords) {
  return absl::OkStatus();
}

template <typename Response>
absl::Status Restore(Response& response, FillRecords fill) {
  google::protobuf::RepeatedPtrField<CooperationRecord> single;
  single.Add()->Swap(response.mutable_record());
  absl::Status status = fill(&single);
  response.mutable_record()->Swap(&single[0]);
  return status;
}

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

template <typename Response>
absl::StatusOr<std::optional<Response>> CooperationCore::Replay(
    const std::string& request_id, uint64_t fingerprint) {
  if (request_id.empty()) return std::nullopt;
  auto stored = store_->FindRequest(request_id);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) return std::nullopt;
  if ((*stored)->fingerprint != fingerprint) {
    return WithReason(
        InvalidArgument("request_id",
                        absl::StrCat("\"", request_id,
                                     "\" was already used for a different "
                                     "request")),
        "REQUEST_ID_REUSED");
  }
  Response response;
  if (!response.ParseFromString((*stored)->response)) {
    return absl::InternalError(
        absl::StrCat("the response remembered for request id \"", request_id,
                     "\" cannot be read back"));
  }
  const int64_t revision = (*stored)->revision;
  if (auto s = Restore(
          response,
          [&](auto* records) { return FillFromLog(revision, records); });
      !s.ok()) {
    return s;
  }
  return std::optional<Response>(std::move(response));
}

absl::Status CooperationCore::FillFromLog(
    int64_t revision,
    google::protobuf::RepeatedPtrField<CooperationRecord>* records) const {
  // Memos written before they were cut down hold whole records.
  const bool cut = std::any_of(
      records->begin(), records->end(),
      [](const CooperationRecord& record) { return record.revision() == 0; });
  if (!cut) return absl::OkStatus();
  // A byte budget of 0 still yields the first revision whole, which is all
  // that is needed here.
  auto rows = store_->ChangesAfter(revision - 1, records->size(),
                                   /*max_bytes=*/0);
  if (!rows.ok()) return rows.status();
  absl::flat_hash_map<std::string_view, const ChangeRow*> logged;
  for (const ChangeRow& row : *rows) {
    if (row.revision == revision) logged.emplace(row.id, &row);
  }
  for (CooperationRecord& record : *records) {
    auto it = logged.find(record.id());
    if (it == logged.end()) {
      return absl::InternalError(absl::StrCat(
          "the change log holds no change of record \"", record.id(),
          "\" at revision ", revision, ", which a remembered response names"));
    }
    const std::string id = record.id();
    if (auto s = ParseRecordRow(id, it->second->data, &record); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
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
    record.set_etag(Etag(record.id(), revision));
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

absl::StatusOr<v1::CreateRecordResponse> CooperationCore::CreateRecord(
    const v1::CreateRecordRequest& request, absl::Time deadline,
    const audit::Invocation& call) {
  if (auto status = CheckRequestId(request.request_id()); !status.ok()) {
    return status;
  }
  const uint64_t fingerprint = RequestFingerprint(request);

  auto snapshot = references_->Snapshot(deadline);
  if (!snapshot.ok()) return snapshot.status();
  CooperationRecord record = request.record();
  ClearOutputOnly(record);
  if (!record.id().empty()) {
    if (auto s = ValidateRecordId(record.id(), "record.id"); !s.ok()) return s;
  }
  if (auto s = ValidateRecord(record, **snapshot, "record"); !s.ok()) return s;

  absl::MutexLock write(&write_mu_);
  auto replay =
      Replay<v1::CreateRecordResponse>(request.request_id(), fingerprint);
  if (!replay.ok()) return replay.status();
  if (replay->has_value()) return std::move(**replay);
  if (record.id().empty()) record.set_id(NewRecordId());
  auto existing = store_->Existing({record.id()});
  if (!existing.ok()) return existing.status();
  if (!existing->empty()) return AlreadyExists("record", record.id());

  const int64_t next = revision() + 1;
  google::protobuf::RepeatedPtrField<CooperationRecord> records;
  *records.Add() = std::move(record);
  std::vector<ChangeRow> changes;
  Stamp(next, options_.clock(), call.caller.principal, &records,
        ChangeKind::kCreated, changes);
  v1::CreateRecordResponse response;
  *response.mutable_record() = std::move(records[0]);
  if (auto s = Commit(next, std::move(changes), call, request.request_id(),
                      fingerprint, MemoOf(response));
      !s.ok()) {
    return s;
  }
  return response;
}

absl::StatusOr<v1::BatchCreateRecordsResponse>
CooperationCore::BatchCreateRecords(
    const v1::BatchCreateRecordsRequest& request, absl::Time deadline,
    const audit::Invocation& call) {
  v1::BatchCreateRecordsRequest taken = request;
  v1::BatchCreateRecordsResponse response;
  if (auto s = BatchCreateRecordsInto(&taken, deadline, call, &response);
      !s.ok()) {
    return s;
  }
  return response;
}

absl::Status CooperationCore::BatchCreateRecordsInto(
    v1::BatchCreateRecordsRequest* request, absl::Time deadline,
    const audit::Invocation& call, v1::BatchCreateRecordsResponse* response) {
  if (auto status = CheckRequestId(request->request_id()); !status.ok()) {
    return status;
  }
  if (request->records().empty()) {
    return InvalidArgument("records", "is empty: nothing to create");
  }
  if (request->records_size() > options_.max_batch_records) {
    return InvalidArgument(
        "records",
        absl::StrCat(request->records_size(), " records; the limit is ",
                     options_.max_batch_records, " a call"));
  }
  size_t bytes = 0;
  for (const CooperationRecord& record : request->records()) {
    bytes += record.ByteSizeLong();
  }
  if (bytes > kMaxBatchBytes) {
    return InvalidArgument(
        "records",
        absl::StrCat("are ", bytes, " bytes serialized; the limit is ",
                     kMaxBatchBytes, " a call"));
  }
  const uint64_t fingerprint = RequestFingerprint(*request);
  auto snapshot = references_->Snapshot(deadline);
  if (!snapshot.ok()) return snapshot.status();

  // The records move to the response, where they are validated, stamped
  // and stored: a batch is not copied.
  auto* records = response->mutable_records();
  records->Swap(request->mutable_records());
  // Views of the records' own ids, which validation leaves as they are.
  absl::flat_hash_set<std::string_view> ids;
  ids.reserve(records->size());
  const FieldPath list("records");
  for (int i = 0; i < records->size(); ++i) {
    CooperationRecord& record = (*records)[i];
    const FieldPath item(list, i);
    ClearOutputOnly(record);
    if (!record.id().empty()) {
      if (auto s = ValidateRecordId(record.id(), FieldPath(item, "id"));
          !s.ok()) {
        return s;
      }
      if (!ids.insert(record.id()).second) {
        return InvalidArgument(
            FieldPath(item, "id").ToString(),
            absl::StrCat("\"", record.id(),
                         "\" appears more than once in the batch"));
      }
    }
    if (auto s = ValidateRecord(record, **snapshot, item); !s.ok()) return s;
  }

  absl::MutexLock write(&write_mu_);
  auto replay = Replay<v1::BatchCreateRecordsResponse>(request->request_id(),
                                                       fingerprint);
  if (!replay.ok()) return replay.status();
  if (replay->has_value()) {
    response->Swap(&**replay);
    return absl::OkStatus();
  }
  // Ids already taken are not looked up one by one here: the store refuses
  // to create a record over an existing one, and nothing of the batch is
  // written then. Only that refusal pays for finding which ids they were.
  for (auto& record : *records) {
    if (record.id().empty()) record.set_id(NewRecordId());
  }

  const int64_t next = revision() + 1;
  std::vector<ChangeRow> changes;
  Stamp(next, options_.clock(), call.caller.principal, records,
        ChangeKind::kCreated, changes);
  response->set_revision(next);
  absl::Status status =
      Commit(next, std::move(changes), call, request->request_id(), fingerprint,
             MemoOf(*response));
  if (absl::IsAlreadyExists(status) && !ids.empty()) {
    auto existing = store_->Existing({ids.begin(), ids.end()});
    if (!existing.ok()) return existing.status();
    if (!existing->empty()) {
      std::sort(existing->begin(), existing->end());
      return AlreadyExists("record", absl::StrJoin(*existing, ", "));
    }
  }
  return status;
}

absl::StatusOr<v1::UpdateRecordResponse> CooperationCore::UpdateRecord(
    const v1::UpdateRecordRequest& request, absl::Time deadline,
    const audit::Invocation& call) {
  if (auto status = CheckRequestId(request.request_id()); !status.ok()) {
    return status;
  }
  const std::string& id = request.record().id();
  if (auto s = ValidateRecordId(id, "record.id"); !s.ok()) return s;
  google::protobuf::FieldMask mask;
  if (request.update_mask().paths().empty()) {
    for (const auto& path : WritableFields()) mask.add_paths(path);
  } else {
    for (int i = 0; i < request.update_mask().paths_size(); ++i) {
      const std::string& path = request.update_mask().paths(i);
      if (!WritableFields().count(path)) {
        return InvalidArgument(
            absl::StrCat("update_mask.paths[", i, "]"),
            absl::StrCat("\"", path,
                         "\" is not a writable field of a record; writable: ",
                         absl::StrJoin(WritableFields(), ", ")));
      }
      mask.add_paths(path);
    }
  }
  const uint64_t fingerprint = RequestFingerprint(request);
  auto snapshot = references_->Snapshot(deadline);
  if (!snapshot.ok()) return snapshot.status();

  absl::MutexLock write(&write_mu_);
  auto replay =
      Replay<v1::UpdateRecordResponse>(request.request_id(), fingerprint);
  if (!replay.ok()) return replay.status();
  if (replay->has_value()) return std::move(**replay);
  auto row = store_->Get(id);
  if (!row.ok()) return row.status();
  if (!row->has_value()) return NotFound("record", id);
  CooperationRecord record;
  if (auto s = ParseRecordRow(id, (*row)->data, &record); !s.ok()) return s;
  if (!request.record().etag().empty() &&
      request.record().etag() != record.etag()) {
    return EtagMismatch("record", id, request.record().etag(), record.etag());
  }
  FieldMaskUtil::MergeOptions options;
  options.set_replace_repeated_fields(true);
  options.set_replace_message_fields(true);
  FieldMaskUtil::MergeMessageTo(request.record(), mask, options, &record);
  if (auto s = ValidateRecord(record, **snapshot, "record"); !s.ok()) return s;

  const int64_t next = revision() + 1;
  google::protobuf::RepeatedPtrField<CooperationRecord> records;
  *records.Add() = std::move(record);
  std::vector<ChangeRow> changes;
  Stamp(next, options_.clock(), call.caller.principal, &records,
        ChangeKind::kUpdated, changes);
  v1::UpdateRecordResponse response;
  *response.mutable_record() = std::move(records[0]);
  if (auto s = Commit(next, std::move(changes), call, request.request_id(),
                      fingerprint, MemoOf(response));
      !s.ok()) {
    return s;
  }
  return response;
}

absl::StatusOr<v1::DeleteRecordResponse> CooperationCore::DeleteRecord(
    const v1::DeleteRecordRequest& request, const audit::Invocation& call) {
  if (auto status = CheckRequestId(request.request_id()); !status.ok()) {
    return status;
  }
  if (auto s = ValidateRecordId(request.id(), "id"); !s.ok()) return s;
  const uint64_t fingerprint = RequestFingerprint(request);

  absl::MutexLock write(&write_mu_);
  auto replay =
      Replay<v1::DeleteRecordResponse>(request.request_id(), fingerprint);
  if (!replay.ok()) return replay.status();
  if (replay->has_value()) return std::move(**replay);
  auto row = store_->Get(request.id());
  if (!row.ok()) return row.status();
  if (!row->has_value()) return NotFound("record", request.id());
  CooperationRecord record;
  if (auto s = ParseRecordRow(request.id(), (*row)->data, &record); !s.ok()) {
    return s;
  }
  if (!request.etag().empty() && request.etag() != record.etag()) {
    return EtagMismatch("record", request.id(), request.etag(), record.etag());
  }
  const int64_t next = revision() + 1;
  std::vector<ChangeRow> changes = {
      ChangeRow{next, ChangeKind::kDeleted, request.id(),
                absl::ToUnixMicros(options_.clock()), std::move((*row)->data)}};
  v1::DeleteRecordResponse response;
  response.set_revision(next);
  if (auto s = Commit(next, std::move(changes), call, request.request_id(),
                      fingerprint, response);
      !s.ok()) {
    return s;
  }
  return response;
}

absl::StatusOr<v1::GetRecordResponse> CooperationCore::GetRecord(
    const v1::GetRecordRequest& request) const {
  if (auto s = ValidateRecordId(request.id(), "id"); !s.ok()) return s;
  auto row = store_->Get(request.id());
  if (!row.ok()) return row.status();
  if (!row->has_value()) return NotFound("record", request.id());
  v1::GetRecordResponse response;
  if (auto s =
          ParseRecordRow(request.id(), (*row)->data, response.mutable_record());
      !s.ok()) {
    return s;
  }
  return response;
}

absl::StatusOr<v1::ListRecordsResponse> CooperationCore::ListRecords(
    const v1::ListRecordsRequest& request, absl::Time deadline) const {
  auto page_size =
      EffectivePageSize(request.page_size(), kDefaultPageSize, kMaxPageSize);
  if (!page_size.ok()) return page_size.status();
  v1::ListRecordsRequest filters = request;
  filters.clear_page_size();
  filters.clear_page_token();
  const uint64_t filter_hash = MessageFingerprint(filters);
  auto after = DecodePageToken(request.page_token(), filter_hash);
  if (!after.ok()) return after.status();
  if (auto s = domain::ValidateFilter(request.filter(), "filter"); !s.ok()) {
    return s;
  }
  auto day = ParseDateOrToday(request.as_of_date(), "as_of_date");
  if (!day.ok()) return day.status();
  std::shared_ptr<const registry::RegistrySnapshot> registry;
  if (!request.filter().emn_statuses().empty()) {
    auto snapshot = references_->Snapshot(deadline);
    if (!snapshot.ok()) return snapshot.status();
    registry = std::move(*snapshot);
  }
  const bool filtered =
      request.has_filter() && request.filter().ByteSizeLong() > 0;

  v1::ListRecordsResponse response;
  response.set_revision(revision());
  response.set_incarnation(incarnation_);
  PageBudget budget(options_.max_page_bytes);
  // The id of the last record this page has passed: returned or filtered
  // out. A page ends before the first matching record that does not fit.
  std::string cursor = *after;
  bool more = true;
  bool full = false;
  // Rows examined by a filtered call, bounded: see kMaxRowsExaminedPerList.
  int examined = 0;
  bool budget_spent = false;
  while (more && !full && !budget_spent) {
    const int chunk =
        filtered ? std::clamp(options_.max_rows_examined_per_list - examined, 1,
                              kScanChunk)
                 : kScanChunk;
    auto rows = store_->Scan(cursor, chunk);
    if (!rows.ok()) return rows.status();
    more = static_cast<int>(rows->size()) == chunk;
    examined += static_cast<int>(rows->size());
    budget_spent = filtered && examined >= options_.max_rows_examined_per_list;
    for (auto& row : *rows) {
      CooperationRecord record;
      if (auto s = ParseRecordRow(row.id, row.data, &record); !s.ok()) return s;
      const auto status =
          registry != nullptr
              ? registry->StatusOn(record.reporting_country(), *day)
              : registry::v1::EMN_STATUS_UNSPECIFIED;
      if (filtered && !domain::Matches(record, request.filter(), status)) {
        cursor = row.id;
        continue;
      }
      if (response.records_size() == *page_size ||
          !budget.Take(row.data.size())) {
        full = true;
        break;
      }
      cursor = row.id;
      *response.add_records() = std::move(record);
    }
  }
  if (full || (more && budget_spent)) {
    response.set_next_page_token(EncodePageToken(cursor, filter_hash));
  }
  if (!filtered) {
    auto count = store_->Count();
    if (!count.ok()) return count.status();
    response.set_total_size(*count);
  }
  return response;
}

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
  auto query =
      audit::QueryOf(request, options_.clock(), options_.audit_retention);
  if (!query.ok()) return query.status();
  auto events = store_->ReadAudit(*query);
  if (!events.ok()) return events.status();
  return audit::ResponseOf(request, std::move(*events));
}

}  // namespace thb::cooperation
