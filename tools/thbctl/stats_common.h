#ifndef THB_TOOLS_THBCTL_STATS_COMMON_H_
#define THB_TOOLS_THBCTL_STATS_COMMON_H_

// What the subcommands of thbctl stats share: reading a query and a
// dimension from the flags, the dataset's statements, and the pieces of the
// output every answer has. Each subcommand lives in its own stats_*.cc;
// stats_command.cc dispatches to them.

#include <iosfwd>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_join.h"
#include "thb/cooperation/v1/dataset.pb.h"
#include "thb/stats/v1/stats_service.pb.h"
#include "tools/thbctl/cli.h"
#include "tools/thbctl/commands.h"

namespace thb::thbctl::stats_command {

namespace v1 = ::thb::stats::v1;
using cooperation::v1::Dataset;
using cooperation::v1::Statement;

// ------------------------------------------------------------ subcommands

absl::Status Count(Clients& clients, const StatsOptions& options,
                   std::ostream& out);
absl::Status Breakdown(Clients& clients, const StatsOptions& options,
                       std::ostream& out);
absl::Status Crosstab(Clients& clients, const StatsOptions& options,
                      std::ostream& out);
absl::Status Share(Clients& clients, const StatsOptions& options,
                   std::ostream& out);
absl::Status Explain(Clients& clients, const StatsOptions& options,
                     std::ostream& out);
absl::Status Figures(Clients& clients, const StatsOptions& options,
                     std::ostream& out);

// ------------------------------------------------------------ flags

absl::StatusOr<v1::CountryQuery> ParseQueryJson(std::string_view flag,
                                                const std::string& json);

// The query of --query, or else the single filter of the filter flags (no
// flag: every record).
absl::StatusOr<v1::CountryQuery> QueryOf(const StatsOptions& options);

absl::StatusOr<v1::Dimension> ParseDimension(std::string_view flag,
                                             const std::string& value);
absl::StatusOr<v1::Measure> ParseMeasure(const std::string& value);

// ------------------------------------------------------------ output

std::string Lower(std::string text);
std::string CacheName(v1::CacheStatus cache);

// The closing line of a table: what the answer was computed at.
std::string AsOfLine(const v1::AsOf& as_of, v1::CacheStatus cache);

// A dimension value as tables and CSV show it: enum values by their short
// names ("PREVENTION"), and a partner without an id by its kind's
// ("<CSO>"). JSON keeps the service's full names.
std::string DisplayValue(v1::Dimension dimension, const std::string& value);

template <typename Repeated>
std::string Joined(const Repeated& values, const char* separator) {
  return absl::StrJoin(values.begin(), values.end(), separator);
}

// ------------------------------------------------------------ dataset

std::string DatasetPath(const StatsOptions& options);

// "fn 28"; "fn —" for the statement without a footnote.
std::string FootnoteLabel(int footnote);

// The date a statement's figure is judged at.
std::string StatementDate(const Dataset& dataset, const Statement& statement);

// The statement with `footnote`; a usage error naming `flag` when there is
// none or (footnote 0) more than one.
absl::StatusOr<const Statement*> FindStatement(const Dataset& dataset,
                                               const std::string& path,
                                               std::string_view flag,
                                               int footnote);

v1::CountryQuery StatementQuery(const Statement& statement);

}  // namespace thb::thbctl::stats_command

#endif  // THB_TOOLS_THBCTL_STATS_COMMON_H_
