// thbctl stats crosstab: counts per pair of values of two dimensions.

#include <cstdint>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tools/thbctl/flag_values.h"
#include "tools/thbctl/output.h"
#include "tools/thbctl/stats_common.h"

namespace thb::thbctl::stats_command {

absl::Status Crosstab(Clients& clients, const StatsOptions& options,
                      std::ostream& out) {
  auto rows = ParseDimension("--rows", options.rows);
  if (!rows.ok()) return rows.status();
  auto columns = ParseDimension("--columns", options.columns);
  if (!columns.ok()) return columns.status();
  auto measure = ParseMeasure(options.measure);
  if (!measure.ok()) return measure.status();
  auto query = QueryOf(options);
  if (!query.ok()) return query.status();
  v1::CrossTabulateRequest request;
  *request.mutable_query() = *std::move(query);
  request.set_row_dimension(*rows);
  request.set_column_dimension(*columns);
  request.set_measure(*measure);
  request.set_as_of_date(options.selection.as_of);
  request.set_min_cooperation_revision(options.min_revision);
  auto response = clients.stats().Call(&StatsStub::CrossTabulate, request);
  if (!response.ok()) return response.status();
  if (options.format == Format::kJson) return PrintJson(*response, out);

  std::vector<std::string> header = {
      options.format == Format::kCsv
          ? Lower(ShortName(*rows))
          : absl::StrCat(ShortName(*rows), " \\ ", ShortName(*columns))};
  for (const std::string& value : response->column_values()) {
    header.push_back(DisplayValue(*columns, value));
  }
  std::vector<std::vector<std::string>> lines;
  for (const v1::CrossTabulateRow& row : response->rows()) {
    std::vector<std::string> line = {DisplayValue(*rows, row.value())};
    for (int32_t count : row.counts()) line.push_back(absl::StrCat(count));
    lines.push_back(std::move(line));
  }
  if (options.format == Format::kCsv) {
    out << CsvLine(header);
    for (const auto& line : lines) out << CsvLine(line);
    return absl::OkStatus();
  }
  Table table(std::move(header));
  for (auto& line : lines) table.AddRow(std::move(line));
  table.Print(out);
  out << "counts of " << Lower(ShortName(*measure)) << "; "
      << AsOfLine(response->as_of(), response->cache());
  return absl::OkStatus();
}

}  // namespace thb::thbctl::stats_command
