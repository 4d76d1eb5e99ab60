// thbctl stats share: a part of a whole ("5 of 9, 55.6%"), each side a
// query or a statement of the dataset.

#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/string_view.h"
#include "domain/dataset.h"
#include "tools/thbctl/output.h"
#include "tools/thbctl/stats_common.h"

namespace thb::thbctl::stats_command {
namespace {

// One side of a share: a query, and where it comes from.
struct ShareSide {
  v1::CountryQuery query;
  // "fn 28", or "" for a query of the command line.
  std::string label;
  // The statement's date, for a side taken from the dataset.
  std::string as_of_date;
};

absl::StatusOr<ShareSide> SideOf(std::string_view name, const std::string& json,
                                 const std::optional<int>& footnote,
                                 const StatsOptions& options,
                                 std::optional<Dataset>& dataset) {
  const std::string json_flag = absl::StrCat("--", ToAbsl(name));
  const std::string footnote_flag = absl::StrCat(json_flag, "_footnote");
  if (!json.empty() && footnote.has_value()) {
    return UsageError(
        absl::StrCat(json_flag, " and ", footnote_flag, " exclude each other"));
  }
  if (json.empty() && !footnote.has_value()) {
    return UsageError(absl::StrCat("stats share needs ", json_flag,
                                   "=JSON (a CountryQuery) or ", footnote_flag,
                                   "=N (a statement of the dataset)"));
  }
  ShareSide side;
  if (!json.empty()) {
    auto query = ParseQueryJson(json_flag, json);
    if (!query.ok()) return query.status();
    side.query = *std::move(query);
    return side;
  }
  const std::string path = DatasetPath(options);
  if (!dataset.has_value()) {
    auto loaded = domain::LoadDataset(path);
    if (!loaded.ok()) return loaded.status();
    dataset = *std::move(loaded);
  }
  auto statement = FindStatement(*dataset, path, footnote_flag, *footnote);
  if (!statement.ok()) return statement.status();
  side.query = StatementQuery(**statement);
  side.label = FootnoteLabel(*footnote);
  side.as_of_date = StatementDate(*dataset, **statement);
  return side;
}

}  // namespace

absl::Status Share(Clients& clients, const StatsOptions& options,
                   std::ostream& out) {
  std::optional<Dataset> dataset;
  auto part =
      SideOf("part", options.part, options.part_footnote, options, dataset);
  if (!part.ok()) return part.status();
  auto whole =
      SideOf("whole", options.whole, options.whole_footnote, options, dataset);
  if (!whole.ok()) return whole.status();

  v1::ShareRequest request;
  *request.mutable_part() = part->query;
  *request.mutable_whole() = whole->query;
  // The flag, or else the date of the statements the sides come from.
  std::string as_of = options.selection.as_of;
  if (as_of.empty()) as_of = part->as_of_date;
  if (as_of.empty()) as_of = whole->as_of_date;
  request.set_as_of_date(as_of);
  request.set_min_cooperation_revision(options.min_revision);
  auto response = clients.stats().Call(&StatsStub::Share, request);
  if (!response.ok()) return response.status();

  switch (options.format) {
    case Format::kJson:
      return PrintJson(*response, out);
    case Format::kCsv:
      out << CsvLine({"part_count", "whole_count", "percent", "text",
                      "part_footnote", "whole_footnote"})
          << CsvLine({absl::StrCat(response->part_count()),
                      absl::StrCat(response->whole_count()),
                      absl::StrFormat("%.1f", response->percent()),
                      response->text(), response->part_footnote(),
                      response->whole_footnote()});
      break;
    case Format::kTable: {
      const auto labelled = [](const char* name, const std::string& label) {
        return label.empty() ? std::string(name)
                             : absl::StrCat(name, " (", label, ")");
      };
      PrintDetails({{"share", response->text()},
                    {labelled("part", part->label),
                     absl::StrCat(response->part_count(), ": ",
                                  response->part_footnote())},
                    {labelled("whole", whole->label),
                     absl::StrCat(response->whole_count(), ": ",
                                  response->whole_footnote())}},
                   out);
      out << AsOfLine(response->as_of(), response->cache());
      break;
    }
  }
  return absl::OkStatus();
}

}  // namespace thb::thbctl::stats_command
