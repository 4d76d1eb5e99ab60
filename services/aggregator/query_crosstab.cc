// CrossTabulate: the records behind an answer counted by two dimensions at
// once, rows and columns sorted by value.

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

#include "services/aggregator/query_engine_internal.h"

namespace thb::aggregator::internal {

absl::StatusOr<stats::v1::CrossTabulateResponse> ComputeCrossTabulate(
    const RecordIndex& index, const registry::RegistrySnapshot& registry,
    absl::CivilDay as_of, const CountryQuery& query, Dimension row_dimension,
    Dimension column_dimension, Measure measure, const StopWhen& stop) {
  Evaluator evaluator(index, registry, as_of, stop);
  const CountrySet answer = evaluator.Countries(query);
  const Bits selection = evaluator.Selection(query, answer);
  const bool records = CountsRecords(measure);
  constexpr std::string_view kNarrower =
      "narrow the query or pick dimensions with fewer values";
  std::vector<ValueBits> rows = evaluator.Values(
      row_dimension, selection, answer, false, kMaxCrossTabulateCells);
  if (evaluator.stopped()) return evaluator.stop_status();
  const int max_columns =
      kMaxCrossTabulateCells / std::max(1, static_cast<int>(rows.size()));
  std::vector<ValueBits> columns =
      evaluator.Values(column_dimension, selection, answer, false, max_columns);
  if (evaluator.stopped()) return evaluator.stop_status();
  const int64_t cells =
      static_cast<int64_t>(rows.size()) * static_cast<int64_t>(columns.size());
  if (cells > kMaxCrossTabulateCells) {
    return TooLarge("cells", cells, kMaxCrossTabulateCells, kNarrower);
  }
  auto by_value = [](const ValueBits& a, const ValueBits& b) {
    return a.value < b.value;
  };
  std::sort(rows.begin(), rows.end(), by_value);
  std::sort(columns.begin(), columns.end(), by_value);

  stats::v1::CrossTabulateResponse response;
  for (const ValueBits& column : columns) {
    response.add_column_values(column.value);
  }
  for (const ValueBits& row : rows) {
    stats::v1::CrossTabulateRow* out = response.add_rows();
    out->set_value(row.value);
    for (const ValueBits& column : columns) {
      // Only countries in both margins can be in the cell.
      const int bound = row.tally.countries.CountAnd(column.tally.countries);
      int64_t count = 0;
      if (bound > 0 && evaluator.Spend(selection.size())) {
        const Tally cell =
            evaluator.CountCell(selection, row, column, bound, records);
        count = records ? cell.records : cell.found;
      }
      out->add_counts(Clamp(count));
    }
  }
  if (evaluator.stopped()) return evaluator.stop_status();
  SetAsOf(as_of, response.mutable_as_of());
  return response;
}

}  // namespace thb::aggregator::internal
