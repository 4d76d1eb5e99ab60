// thbctl import: a dataset's records into the cooperation service, in
// batches that a re-run recognises.

#include <algorithm>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/fingerprint.h"
#include "domain/country_code.h"
#include "domain/dataset.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/util/field_mask_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "services/cooperation/cooperation_core.h"
#include "tools/thbctl/commands.h"

namespace thb::thbctl {
namespace {

using cooperation::v1::BatchCreateRecordsRequest;
using cooperation::v1::CooperationRecord;
using google::protobuf::util::FieldMaskUtil;
using google::protobuf::util::MessageDifferencer;

constexpr int kMaxBatchSize = cooperation::kMaxBatchRecords;

// What became of one batch.
struct BatchOutcome {
  // The revision its records are at.
  int64_t revision = 0;
  // False when the service had them already.
  bool written = false;
};

// The same batch always gets the same id: the service then answers a re-run
// with the response it stored the first time, and writes nothing.
std::string ImportRequestId(BatchCreateRecordsRequest request) {
  request.clear_request_id();
  return absl::StrCat("import-", FingerprintHex(MessageFingerprint(request)));
}

template <typename Repeated>
void SortUnique(Repeated* values) {
  std::sort(values->begin(), values->end());
  values->erase(std::unique(values->begin(), values->end()), values->end());
}

bool NamesCountry(cooperation::v1::PartnerKind kind) {
  return kind == cooperation::v1::PARTNER_KIND_THIRD_COUNTRY ||
         kind == cooperation::v1::PARTNER_KIND_EMN_COUNTRY;
}

// A record as the service stores it: codes canonical, repeated enums, ids
// and tags sorted without duplicates, and no output-only fields.
CooperationRecord Canonical(CooperationRecord record) {
  record.clear_revision();
  record.clear_etag();
  record.clear_create_time();
  record.clear_update_time();
  record.clear_last_changed_by();
  record.set_reporting_country(
      domain::CanonicalCountryCode(record.reporting_country()));
  SortUnique(record.mutable_thematic_areas());
  for (auto* partners :
       {record.mutable_partners(), record.mutable_implementers()}) {
    for (auto& partner : *partners) {
      if (NamesCountry(partner.kind()) && !partner.id().empty()) {
        partner.set_id(domain::CanonicalCountryCode(partner.id()));
      }
    }
  }
  SortUnique(record.mutable_target_regions());
  for (std::string& code : *record.mutable_target_countries()) {
    code = domain::CanonicalCountryCode(code);
  }
  SortUnique(record.mutable_target_countries());
  SortUnique(record.mutable_tags());
  return record;
}

// The fields in which `stored` differs from `wanted`, output-only fields
// aside.
std::vector<std::string> DifferingFields(const CooperationRecord& wanted,
                                         const CooperationRecord& stored) {
  const CooperationRecord a = Canonical(wanted);
  const CooperationRecord b = Canonical(stored);
  std::vector<std::string> fields;
  const auto* descriptor = CooperationRecord::descriptor();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    google::protobuf::FieldMask mask;
    mask.add_paths(descriptor->field(i)->name());
    CooperationRecord field_a = a;
    CooperationRecord field_b = b;
    FieldMaskUtil::TrimMessage(mask, &field_a);
    FieldMaskUtil::TrimMessage(mask, &field_b);
    if (!MessageDifferencer::Equals(field_a, field_b)) {
      fields.push_back(descriptor->field(i)->name());
    }
  }
  return fields;
}

// A batch the service refused with ALREADY_EXISTS: its records were
// imported before, under a request id the service no longer remembers.
// Those that exist must hold what the file holds; the others are created.
absl::StatusOr<BatchOutcome> Reconcile(const Client<CooperationStub>& client,
                                       const BatchCreateRecordsRequest& batch,
                                       int64_t revision_before) {
  BatchCreateRecordsRequest missing;
  int64_t revision = 0;
  for (const CooperationRecord& record : batch.records()) {
    if (record.id().empty()) {
      // The earlier import gave it an id of the service's choosing, so
      // nothing tells whether it exists: creating it could make a copy.
      return absl::FailedPreconditionError(absl::StrCat(
          "records of this batch exist from an earlier import whose request "
          "id has expired, and record \"",
          record.title(),
          "\" has no id to tell whether it is one of them; give every record "
          "of the file an id"));
    }
    cooperation::v1::GetRecordRequest get;
    get.set_id(record.id());
    auto found = client.Call(&CooperationStub::GetRecord, get);
    if (!found.ok() && found.status().code() == absl::StatusCode::kNotFound) {
      *missing.add_records() = record;
      continue;
    }
    if (!found.ok()) return found.status();
    const std::vector<std::string> fields =
        DifferingFields(record, found->record());
    if (!fields.empty()) {
      return absl::AlreadyExistsError(absl::StrCat(
          "record \"", record.id(),
          "\" already exists with other content (fields: ",
          absl::StrJoin(fields, ", "),
          "); delete it or give the record in the file another id"));
    }
    revision = std::max(revision, found->record().revision());
  }
  if (missing.records().empty()) return BatchOutcome{revision, false};
  missing.set_request_id(ImportRequestId(missing));
  auto created = client.Call(&CooperationStub::BatchCreateRecords, missing);
  if (!created.ok()) return created.status();
  return BatchOutcome{std::max(revision, created->revision()),
                      created->revision() > revision_before};
}

absl::StatusOr<BatchOutcome> ImportBatch(const Client<CooperationStub>& client,
                                         const BatchCreateRecordsRequest& batch,
                                         int64_t revision_before) {
  auto response = client.Call(&CooperationStub::BatchCreateRecords, batch);
  if (response.ok()) {
    // A write gets a revision above the store's before the import began; a
    // stored response from an earlier run does not.
    return BatchOutcome{response->revision(),
                        response->revision() > revision_before};
  }
  if (response.status().code() != absl::StatusCode::kAlreadyExists) {
    return response.status();
  }
  return Reconcile(client, batch, revision_before);
}

}  // namespace

absl::Status Import(Clients& clients, const ImportOptions& options,
                    std::ostream& out, std::ostream& err) {
  if (options.batch_size < 1 || options.batch_size > kMaxBatchSize) {
    return UsageError(absl::StrCat("--batch_size: ", options.batch_size,
                                   " is outside 1..", kMaxBatchSize));
  }
  auto dataset = domain::LoadDataset(options.file);
  if (!dataset.ok()) return dataset.status();

  const absl::Time start = absl::Now();
  const Client<CooperationStub>& client = clients.cooperation();
  cooperation::v1::ListRecordsRequest probe;
  probe.set_page_size(1);
  auto before = client.Call(&CooperationStub::ListRecords, probe);
  if (!before.ok()) return before.status();

  const int total = dataset->records_size();
  ProgressBar progress(options.progress ? &err : nullptr, "importing", total);
  int batches = 0;
  int replayed = 0;
  int64_t revision = before->revision();
  for (int begin = 0, end = 0; begin < total; begin = end) {
    // At most batch_size records, and no more bytes than the service takes
    // in one call (a batch of large records ends sooner).
    BatchCreateRecordsRequest batch;
    size_t bytes = 0;
    for (end = begin; end < total && end - begin < options.batch_size; ++end) {
      const size_t record_bytes = dataset->records(end).ByteSizeLong();
      if (end > begin && bytes + record_bytes > cooperation::kMaxBatchBytes) {
        break;
      }
      bytes += record_bytes;
      *batch.add_records() = dataset->records(end);
    }
    batch.set_request_id(ImportRequestId(batch));
    auto outcome = ImportBatch(client, batch, before->revision());
    if (!outcome.ok()) {
      progress.Finish();
      if (batches > 0) {
        err << "thbctl: " << begin << " of " << total
            << " records were imported before the error; run the import "
               "again to go on\n";
      }
      return outcome.status();
    }
    ++batches;
    if (!outcome->written) ++replayed;
    revision = std::max(revision, outcome->revision);
    progress.Update(end);
  }
  progress.Finish();

  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  out << absl::StrFormat(
      "imported %d records in %d batch%s (%d replayed) at revision %d in "
      "%.2f s (%.0f records/s)\n",
      total, batches, batches == 1 ? "" : "es", replayed, revision, seconds,
      total / std::max(seconds, 1e-3));
  return absl::OkStatus();
}

}  // namespace thb::thbctl
