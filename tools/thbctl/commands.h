#ifndef THB_TOOLS_THBCTL_COMMANDS_H_
#define THB_TOOLS_THBCTL_COMMANDS_H_

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "thb/cooperation/v1/cooperation_service.pb.h"
#include "thb/registry/v1/registry_service.pb.h"
#include "tools/thbctl/cli.h"
#include "tools/thbctl/flag_values.h"
#include "tools/thbctl/output.h"

// The commands of thbctl. Each one writes its result to `out`, and returns
// OK or the error main reports; none exits by itself.
namespace thb::thbctl {

// The study's dataset, relative to the current directory: what check and
// the statistics commands read when no file is named.
inline constexpr char kDefaultDataset[] = "data/study.txtpb";

struct ImportOptions {
  std::string file;
  int batch_size = 5000;
  // Draw a progress bar on `err` (only when it is a terminal).
  bool progress = false;
};

// thbctl import FILE: sends the dataset's records in batches, each with a
// request id derived from its content, so that a re-run writes nothing.
absl::Status Import(Clients& clients, const ImportOptions& options,
                    std::ostream& out, std::ostream& err);

struct ExportOptions {
  Format format = Format::kJson;
  // Empty: standard output.
  std::string output;
};

// thbctl export: every record, as a Dataset in JSON or as CSV.
absl::Status Export(Clients& clients, const ExportOptions& options,
                    std::ostream& out);

// thbctl records list|get|delete.
absl::Status ListRecords(Clients& clients,
                         cooperation::v1::ListRecordsRequest request,
                         Format format, std::ostream& out);
absl::Status GetRecord(Clients& clients, const std::string& id, Format format,
                       std::ostream& out);
absl::Status DeleteRecord(Clients& clients, const std::string& id,
                          const std::string& etag, std::ostream& out);

// thbctl countries|regions|organisations.
absl::Status ListCountries(Clients& clients,
                           registry::v1::ListCountriesRequest request,
                           Format format, std::ostream& out);
absl::Status GetCountry(Clients& clients, const std::string& code,
                        const std::string& as_of, Format format,
                        std::ostream& out);
absl::Status ListRegions(Clients& clients, Format format, std::ostream& out);
absl::Status GetRegion(Clients& clients, const std::string& id, Format format,
                       std::ostream& out);
absl::Status ListOrganisations(Clients& clients, Format format,
                               std::ostream& out);
absl::Status GetOrganisation(Clients& clients, const std::string& id,
                             Format format, std::ostream& out);

struct AuditOptions {
  // Which services' logs to read.
  bool registry = true;
  bool cooperation = true;
  // The filters; paging is the command's.
  registry::v1::ListAuditEventsRequest request;
  // Most events printed, newest first across both services.
  int limit = 100;
  Format format = Format::kTable;
};

// thbctl audit: the audit events of the registry and/or the cooperation
// service, merged newest first.
absl::Status ListAudit(Clients& clients, const AuditOptions& options,
                       std::ostream& out);

// The value of --since or --until: an RFC 3339 time, or a duration back from
// `now` ("24h"); else a usage error naming the flag.
absl::StatusOr<google::protobuf::Timestamp> AuditTimeFlag(
    std::string_view flag, const std::string& value, absl::Time now);

struct CheckOptions {
  std::string file;
  // Check the file's own records, and judge statuses by the reference data
  // of `iso_codes`, without calling any service.
  bool offline = false;
  std::string iso_codes;
};

// thbctl check: the data-quality check of a dataset's statements against
// the live records (or the file's). Findings with severity ERROR make it
// fail after printing them all.
absl::Status Check(Clients& clients, const CheckOptions& options,
                   std::ostream& out);

// The flags of thbctl stats, as main read them. Each subcommand takes some
// of them; a flag given to one that does not take it is a usage error.
struct StatsOptions {
  // The filter flags and --as_of.
  SelectionFlags selection;
  // --query: a CountryQuery in the protobuf JSON mapping.
  std::string query;
  // --by (breakdown), --rows and --columns (crosstab): Dimension names.
  std::string by;
  std::string rows;
  std::string columns;
  // --measure: countries or records.
  std::string measure;
  // share: each side a CountryQuery in JSON or a statement's footnote.
  std::string part;
  std::string whole;
  std::optional<int> part_footnote;
  std::optional<int> whole_footnote;
  // --min_revision: the cooperation revision the answer must include.
  int64_t min_revision = 0;
  // --dataset; empty: kDefaultDataset.
  std::string dataset;
  // figures --check.
  bool check = false;
  Format format = Format::kTable;
};

// thbctl stats count|breakdown|crosstab|share|explain|figures: the
// aggregator's answers. `args` holds "stats" and the subcommand. figures
// --check prints what differs from the published figures and then fails.
absl::Status Stats(Clients& clients, const std::vector<std::string>& args,
                   const StatsOptions& options, std::ostream& out);

}  // namespace thb::thbctl

#endif  // THB_TOOLS_THBCTL_COMMANDS_H_
