// The cooperation core's reads: one record, and pages of records through a
// filter.

#include <algorithm>
#include <utility>

#include "common/dates.h"
#include "common/errors.h"
#include "common/fingerprint.h"
#include "common/page_token.h"
#include "domain/record_filter.h"
#include "services/cooperation/cooperation_core.h"
#include "services/cooperation/record_row.h"
#include "services/cooperation/record_validation.h"

namespace thb::cooperation {
namespace {

using v1::CooperationRecord;

constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 10000;
constexpr int kScanChunk = 512;

}  // namespace

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

}  // namespace thb::cooperation
