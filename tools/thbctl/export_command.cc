// thbctl export: every record of the cooperation service, as a dataset
// file or as CSV.

#include <ostream>
#include <vector>

#include "thb/cooperation/v1/dataset.pb.h"
#include "tools/thbctl/commands.h"
#include "tools/thbctl/record_format.h"

namespace thb::thbctl {
namespace {

using cooperation::v1::CooperationRecord;

constexpr int kPageSize = 1000;

}  // namespace

absl::Status Export(Clients& clients, const ExportOptions& options,
                    std::ostream& out) {
  cooperation::v1::ListRecordsRequest request;
  request.set_page_size(kPageSize);
  std::vector<CooperationRecord> records;
  int64_t revision = 0;
  absl::Status listed = clients.cooperation().ForEachPage(
      &CooperationStub::ListRecords, request,
      [&](const cooperation::v1::ListRecordsResponse& page) {
        revision = page.revision();
        for (const CooperationRecord& record : page.records()) {
          // A dataset file holds what a client writes; the service's
          // bookkeeping (revision, etag, times, last writer) would only make
          // two exports of the same records differ.
          CooperationRecord& kept = records.emplace_back(record);
          kept.clear_revision();
          kept.clear_etag();
          kept.clear_create_time();
          kept.clear_update_time();
          kept.clear_last_changed_by();
        }
        return absl::OkStatus();
      });
  if (!listed.ok()) return listed;

  std::string text;
  if (options.format == Format::kCsv) {
    text = RecordsCsv(records);
  } else {
    cooperation::v1::Dataset dataset;
    dataset.mutable_records()->Reserve(records.size());
    for (CooperationRecord& record : records) {
      *dataset.add_records() = std::move(record);
    }
    auto json = ToJson(dataset);
    if (!json.ok()) return json.status();
    text = *std::move(json);
  }
  if (absl::Status written = WriteOutput(text, options.output, out);
      !written.ok()) {
    return written;
  }
  if (!options.output.empty()) {
    out << "exported " << records.size() << " records at revision " << revision
        << " to " << options.output << "\n";
  }
  return absl::OkStatus();
}

}  // namespace thb::thbctl
