// The cooperation core's writes: create, batch create, update and delete,
// each remembered under its request id so that a retry gets the first answer.

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
#include "common/errors.h"
#include "common/etag.h"
#include "common/fingerprint.h"
#include "common/update_mask.h"
#include "services/cooperation/cooperation_core.h"
#include "services/cooperation/record_row.h"
#include "services/cooperation/record_validation.h"

namespace thb::cooperation {
namespace {

using v1::CooperationRecord;

constexpr size_t kMaxRequestIdLength = 64;

const std::set<std::string>& WritableFields() {
  static const auto* fields = new std::set<std::string>{
      "reporting_country", "kind",         "title",    "description",
      "thematic_areas",    "form",         "partners", "target_regions",
      "target_countries",  "implementers", "funding",  "start_year",
      "end_year",          "status",       "tags",     "sources"};
  return *fields;
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
  auto mask =
      EffectiveUpdateMask(request.update_mask(), WritableFields(), "a record");
  if (!mask.ok()) return mask.status();
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
  if (auto s = CheckEtag("record", id, request.record().etag(), record.etag());
      !s.ok()) {
    return s;
  }
  ApplyUpdateMask(request.record(), *mask, &record);
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
  if (auto s = CheckEtag("record", request.id(), request.etag(), record.etag());
      !s.ok()) {
    return s;
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

}  // namespace thb::cooperation
