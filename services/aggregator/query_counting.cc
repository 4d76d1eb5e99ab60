// Counting: the countries and records of an AND of bitsets, stopping once
// no more countries can be found, and the answers that are counts of
// countries (CountCountries, Share).

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "absl/strings/str_format.h"
#include "services/aggregator/query_engine_internal.h"

namespace thb::aggregator::internal {

template <size_t N>
Tally Evaluator::Count(const std::array<const Word*, N>& parts, size_t words,
                       int bound, bool records) const {
  Tally tally{CountrySet(country_count())};
  const CountryId* country = index_.country_data();
  auto word_at = [&parts](size_t i) {
    Word word = parts[0][i];
    for (size_t k = 1; k < N; ++k) word &= parts[k][i];
    return word;
  };
  size_t i = 0;
  for (; i < words && tally.found < bound; ++i) {
    const Word all = word_at(i);
    if (all == 0) continue;
    if (records) tally.records += PopCount(all);
    for (Word word = all; word != 0; word &= word - 1) {
      const CountryId c = country[i * kWordBits + LowestBit(word)];
      if (!tally.countries.Has(c)) {
        tally.countries.Add(c);
        if (++tally.found == bound) break;
      }
    }
  }
  if (records) {
    for (; i < words; ++i) tally.records += PopCount(word_at(i));
  }
  return tally;
}

Tally Evaluator::CountValue(const Bits& selection, const ValueBits& value,
                            int bound, bool records) const {
  const Bits& bits = value.bits();
  return Count<2>({selection.data(), bits.data()},
                  std::min(selection.size(), bits.size()), bound, records);
}

Tally Evaluator::CountCell(const Bits& selection, const ValueBits& row,
                           const ValueBits& column, int bound,
                           bool records) const {
  const Bits& row_bits = row.bits();
  const Bits& column_bits = column.bits();
  return Count<3>(
      {selection.data(), row_bits.data(), column_bits.data()},
      std::min({selection.size(), row_bits.size(), column_bits.size()}), bound,
      records);
}

absl::StatusOr<stats::v1::CountCountriesResponse> ComputeCountCountries(
    const RecordIndex& index, const registry::RegistrySnapshot& registry,
    absl::CivilDay as_of, const CountryQuery& query, const StopWhen& stop) {
  Evaluator evaluator(index, registry, as_of, stop);
  const CountrySet countries = evaluator.Countries(query);
  if (evaluator.stopped()) return evaluator.stop_status();
  const Answer answer = Describe(evaluator, countries);
  stats::v1::CountCountriesResponse response;
  response.set_count(static_cast<int32_t>(answer.countries.size()));
  response.mutable_countries()->Reserve(
      static_cast<int>(answer.countries.size()));
  for (CountryId country : answer.countries) {
    response.add_countries(index.country_code(country));
  }
  response.set_member_count(answer.members);
  response.set_observer_count(answer.observers);
  response.set_footnote(FootnoteOf(index, answer));
  SetAsOf(as_of, response.mutable_as_of());
  return response;
}

absl::StatusOr<stats::v1::ShareResponse> ComputeShare(
    const RecordIndex& index, const registry::RegistrySnapshot& registry,
    absl::CivilDay as_of, const CountryQuery& part, const CountryQuery& whole,
    const StopWhen& stop) {
  Evaluator evaluator(index, registry, as_of, stop);
  const CountrySet part_countries = evaluator.Countries(part);
  const CountrySet whole_countries = evaluator.Countries(whole);
  if (evaluator.stopped()) return evaluator.stop_status();
  const Answer part_answer = Describe(evaluator, part_countries);
  const Answer whole_answer = Describe(evaluator, whole_countries);
  const int part_count = static_cast<int>(part_answer.countries.size());
  const int whole_count = static_cast<int>(whole_answer.countries.size());

  stats::v1::ShareResponse response;
  response.set_part_count(part_count);
  response.set_whole_count(whole_count);
  response.set_part_footnote(FootnoteOf(index, part_answer));
  response.set_whole_footnote(FootnoteOf(index, whole_answer));
  if (whole_count == 0) {
    response.set_percent(0);
    response.set_text(
        absl::StrFormat("%d of 0, no share: the whole is empty", part_count));
  } else {
    // Rounded half away from zero on the tenths, from integers so that
    // 5 of 9 gives exactly the double nearest 55.6.
    const int64_t tenths =
        (int64_t{part_count} * 2000 + whole_count) / (2 * int64_t{whole_count});
    const double percent = static_cast<double>(tenths) / 10.0;
    response.set_percent(percent);
    response.set_text(
        absl::StrFormat("%d of %d, %.1f%%", part_count, whole_count, percent));
  }
  SetAsOf(as_of, response.mutable_as_of());
  return response;
}

}  // namespace thb::aggregator::internal
