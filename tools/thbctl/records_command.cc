// thbctl records: list, get and delete cooperation records.

#include <ostream>
#include <vector>

#include "tools/thbctl/commands.h"
#include "tools/thbctl/record_format.h"

namespace thb::thbctl {

absl::Status ListRecords(Clients& clients,
                         cooperation::v1::ListRecordsRequest request,
                         Format format, std::ostream& out) {
  // Every page, merged into one response: the JSON form is then the
  // service's own message.
  cooperation::v1::ListRecordsResponse all;
  absl::Status listed = clients.cooperation().ForEachPage(
      &CooperationStub::ListRecords, std::move(request),
      [&](cooperation::v1::ListRecordsResponse& page) {
        all.set_revision(page.revision());
        for (auto& record : *page.mutable_records()) {
          *all.add_records() = std::move(record);
        }
        return absl::OkStatus();
      });
  if (!listed.ok()) return listed;
  all.set_total_size(all.records_size());

  switch (format) {
    case Format::kJson: {
      auto json = ToJson(all);
      if (!json.ok()) return json.status();
      out << *json;
      break;
    }
    case Format::kCsv:
      out << RecordsCsv({all.records().begin(), all.records().end()});
      break;
    case Format::kTable:
      RecordsTable({all.records().begin(), all.records().end()}).Print(out);
      break;
  }
  return absl::OkStatus();
}

absl::Status GetRecord(Clients& clients, const std::string& id, Format format,
                       std::ostream& out) {
  cooperation::v1::GetRecordRequest request;
  request.set_id(id);
  auto response =
      clients.cooperation().Call(&CooperationStub::GetRecord, request);
  if (!response.ok()) return response.status();
  switch (format) {
    case Format::kJson: {
      auto json = ToJson(response->record());
      if (!json.ok()) return json.status();
      out << *json;
      break;
    }
    case Format::kCsv:
      out << RecordsCsv({response->record()});
      break;
    case Format::kTable:
      PrintDetails(RecordDetails(response->record()), out);
      break;
  }
  return absl::OkStatus();
}

absl::Status DeleteRecord(Clients& clients, const std::string& id,
                          const std::string& etag, std::ostream& out) {
  // No request id: deleting an id again after it was created anew must
  // delete again, not replay the first deletion.
  cooperation::v1::DeleteRecordRequest request;
  request.set_id(id);
  request.set_etag(etag);
  auto response =
      clients.cooperation().Call(&CooperationStub::DeleteRecord, request);
  if (!response.ok()) return response.status();
  out << "deleted record " << id << " at revision " << response->revision()
      << "\n";
  return absl::OkStatus();
}

}  // namespace thb::thbctl
