// Writing an answer: its countries in study order, their footnote, its date,
// and the refusal of an answer over a limit.

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/dates.h"
#include "common/string_view.h"
#include "domain/footnote.h"
#include "services/aggregator/query_engine_internal.h"

namespace thb::aggregator::internal {

// An answer over one of the limits on answers; `seen` may be a lower bound
// (counting stops past the limit).
absl::Status TooLarge(std::string_view what, int64_t seen, int limit,
                      std::string_view advice) {
  return absl::ResourceExhaustedError(
      absl::StrCat("the answer would have more than the limit of ", limit, " ",
                   ToAbsl(what), " (at least ", seen, "); ", ToAbsl(advice)));
}

// The index keeps its countries ordered by code, so study order is three
// walks of that list (one per group) with no sort and no strings; each
// country's status is judged at most once per query.
Answer Describe(Evaluator& evaluator, const CountrySet& set) {
  const std::vector<CountryId>& by_code = evaluator.index().countries_by_code();
  Answer answer;
  answer.countries.reserve(by_code.size());
  // Members go straight to the answer, the others wait in `later` with
  // their group; each country is judged once.
  std::vector<std::pair<int, CountryId>> later;
  for (CountryId country : by_code) {
    if (!set.Has(country)) continue;
    const int rank = evaluator.Rank(country);
    if (rank == 0) {
      answer.countries.push_back(country);
    } else {
      later.emplace_back(rank, country);
    }
  }
  answer.members = static_cast<int>(answer.countries.size());
  // `later` is by code: one walk per group keeps each group so.
  for (int group = 1; group <= 2; ++group) {
    for (const auto& [rank, country] : later) {
      if (rank == group) answer.countries.push_back(country);
    }
  }
  answer.observers = static_cast<int>(
      std::count_if(later.begin(), later.end(),
                    [](const auto& entry) { return entry.first == 1; }));
  return answer;
}

std::string FootnoteOf(const RecordIndex& index, const Answer& answer) {
  return domain::OrderedFootnote(
      answer.countries.size(), static_cast<size_t>(answer.members),
      [&](size_t i) -> std::string_view {
        return index.country_code(answer.countries[i]);
      });
}

void SetAsOf(absl::CivilDay as_of, stats::v1::AsOf* out) {
  out->set_as_of_date(FormatDate(as_of));
}

}  // namespace thb::aggregator::internal
