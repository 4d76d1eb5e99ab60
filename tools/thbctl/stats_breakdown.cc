// thbctl stats breakdown: counts per value of a dimension.

#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tools/thbctl/flag_values.h"
#include "tools/thbctl/output.h"
#include "tools/thbctl/stats_common.h"

namespace thb::thbctl::stats_command {

absl::Status Breakdown(Clients& clients, const StatsOptions& options,
                       std::ostream& out) {
  auto dimension = ParseDimension("--by", options.by);
  if (!dimension.ok()) return dimension.status();
  auto measure = ParseMeasure(options.measure);
  if (!measure.ok()) return measure.status();
  auto query = QueryOf(options);
  if (!query.ok()) return query.status();
  v1::BreakdownRequest request;
  *request.mutable_query() = *std::move(query);
  request.set_dimension(*dimension);
  request.set_measure(*measure);
  request.set_as_of_date(options.selection.as_of);
  request.set_min_cooperation_revision(options.min_revision);
  auto response = clients.stats().Call(&StatsStub::Breakdown, request);
  if (!response.ok()) return response.status();

  const std::string dimension_name = ShortName(*dimension);
  const std::string measure_name = ShortName(*measure);
  switch (options.format) {
    case Format::kJson:
      return PrintJson(*response, out);
    case Format::kCsv:
      out << CsvLine(
          {Lower(dimension_name),
           *measure == v1::MEASURE_RECORDS ? "record_count" : "country_count",
           "countries", "footnote"});
      for (const v1::Bucket& bucket : response->buckets()) {
        out << CsvLine({DisplayValue(*dimension, bucket.value()),
                        absl::StrCat(bucket.count()),
                        Joined(bucket.countries(), ";"), bucket.footnote()});
      }
      break;
    case Format::kTable: {
      Table table({dimension_name, measure_name, "FOOTNOTE"});
      for (const v1::Bucket& bucket : response->buckets()) {
        table.AddRow({DisplayValue(*dimension, bucket.value()),
                      absl::StrCat(bucket.count()), bucket.footnote()});
      }
      table.Print(out);
      out << AsOfLine(response->as_of(), response->cache());
      break;
    }
  }
  return absl::OkStatus();
}

}  // namespace thb::thbctl::stats_command
