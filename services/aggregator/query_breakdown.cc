// Breakdown: the values a dimension has among the records behind an answer,
// each with its count, largest first.

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/aggregator/query_engine_internal.h"

namespace thb::aggregator::internal {
namespace {

// A period longer than this is not a real one; it must not make the YEAR
// dimension loop for long.
constexpr int kMaxYearsPerRecord = 200;

// A bucket's name for a value of an enum field: the value's proto name.
template <typename Enum>
std::string EnumValueName(uint32_t value) {
  const google::protobuf::EnumValueDescriptor* descriptor =
      google::protobuf::GetEnumDescriptor<Enum>()->FindValueByNumber(
          static_cast<int>(value));
  return descriptor != nullptr ? descriptor->name() : absl::StrCat(value);
}

}  // namespace

std::vector<ValueBits> Evaluator::Values(Dimension dimension,
                                         const Bits& selection,
                                         const CountrySet& answer, bool records,
                                         int max_values) {
  std::vector<ValueBits> values;
  const int bound = answer.Count();
  // Tallies `entry` and keeps it if selected records have it, naming it
  // only then; false once no more values are wanted.
  auto keep = [&](ValueBits entry, auto name) {
    if (!Spend(words_)) return false;
    entry.tally = CountValue(selection, entry, bound, records);
    if (entry.tally.found == 0) return true;
    entry.value = name();
    values.push_back(std::move(entry));
    return static_cast<int>(values.size()) <= max_values;
  };
  auto from_postings = [&](Field field, bool is_enum, auto name_of) {
    for (uint32_t value = 0; value < index_.value_count(field); ++value) {
      if ((is_enum && value == 0) || index_.value_records(field, value) == 0) {
        continue;
      }
      ValueBits entry;
      entry.posting = index_.posting(field, value);
      if (!keep(std::move(entry), [&] { return name_of(value); })) return;
    }
  };
  // Values of a field that the index names (partner ids, regions, tags).
  auto named = [this](Field field) {
    return [this, field](uint32_t value) {
      return std::string(index_.value_name(field, value));
    };
  };
  // Values built for the dimension, in order.
  auto owned = [&](std::vector<std::pair<std::string, Bits>> built) {
    for (auto& [name, bits] : built) {
      ValueBits entry;
      entry.owned = std::move(bits);
      // A structured binding cannot be captured in C++17: name it.
      std::string& value_name = name;
      if (!keep(std::move(entry), [&] { return std::move(value_name); })) {
        return;
      }
    }
  };
  switch (dimension) {
    case stats::v1::DIMENSION_KIND:
      from_postings(Field::kKind, true,
                    EnumValueName<cooperation::v1::RecordKind>);
      break;
    case stats::v1::DIMENSION_THEMATIC_AREA:
      from_postings(Field::kThematicArea, true,
                    EnumValueName<cooperation::v1::ThematicArea>);
      break;
    case stats::v1::DIMENSION_FORM:
      from_postings(Field::kForm, true,
                    EnumValueName<cooperation::v1::CooperationForm>);
      break;
    case stats::v1::DIMENSION_PARTNER_KIND:
      from_postings(Field::kPartnerKind, true,
                    EnumValueName<cooperation::v1::PartnerKind>);
      break;
    case stats::v1::DIMENSION_PARTNER:
      from_postings(Field::kPartnerId, false, named(Field::kPartnerId));
      if (static_cast<int>(values.size()) > max_values) break;
      from_postings(Field::kAnonymousPartner, true, [](uint32_t value) {
        return absl::StrCat(
            "<", EnumValueName<cooperation::v1::PartnerKind>(value), ">");
      });
      break;
    case stats::v1::DIMENSION_TARGET_REGION:
      from_postings(Field::kTargetRegion, false, named(Field::kTargetRegion));
      break;
    case stats::v1::DIMENSION_TAG:
      from_postings(Field::kTag, false, named(Field::kTag));
      break;
    case stats::v1::DIMENSION_REPORTING_COUNTRY: {
      bool more = true;
      answer.ForEach([&](CountryId country) {
        if (!more) return;
        ValueBits entry;
        entry.posting = index_.posting(Field::kReportingCountry, country);
        more = keep(std::move(entry),
                    [&] { return index_.country_code(country); });
      });
      break;
    }
    case stats::v1::DIMENSION_EMN_STATUS: {
      std::map<int, Bits> by_status;
      answer.ForEach([&](CountryId country) {
        if (!Spend(words_)) return;
        Bits& bits = by_status[Status(country)];
        if (bits.empty()) bits.assign(words_, 0);
        const Bits& posting =
            *index_.posting(Field::kReportingCountry, country);
        const size_t n = std::min(words_, posting.size());
        for (size_t i = 0; i < n; ++i) bits[i] |= selection[i] & posting[i];
      });
      std::vector<std::pair<std::string, Bits>> built;
      for (auto& [status, bits] : by_status) {
        built.emplace_back(
            registry::v1::EmnStatus_Name(static_cast<EmnStatus>(status)),
            std::move(bits));
      }
      owned(std::move(built));
      break;
    }
    case stats::v1::DIMENSION_YEAR:
      owned(YearValues(selection));
      break;
    default:
      break;
  }
  return values;
}

std::vector<std::pair<std::string, Bits>> Evaluator::YearValues(
    const Bits& selection) {
  std::map<int32_t, Bits> by_year;
  auto add = [&](int32_t year, size_t word, Word mask) {
    Bits& bits = by_year[year];
    if (bits.empty()) bits.assign(words_, 0);
    bits[word] |= mask;
  };
  for (size_t i = 0; i < words_; ++i) {
    if (i % 64 == 0 && !Spend(64)) break;
    for (Word word = selection[i]; word != 0; word &= word - 1) {
      const int bit = LowestBit(word);
      const Slot slot = static_cast<Slot>(i * kWordBits + bit);
      const Word mask = Word{1} << bit;
      const int32_t start = index_.start_year(slot);
      const int32_t end = index_.end_year(slot);
      if (start != 0 && end != 0) {
        const int32_t last =
            std::min<int64_t>(end, int64_t{start} + kMaxYearsPerRecord - 1);
        for (int32_t year = start; year <= last; ++year) add(year, i, mask);
        if (end < start) add(start, i, mask);
      } else if (start != 0) {
        add(start, i, mask);
      } else if (end != 0) {
        add(end, i, mask);
      }
    }
  }
  std::vector<std::pair<std::string, Bits>> years;
  years.reserve(by_year.size());
  for (auto& [year, bits] : by_year) {
    years.emplace_back(absl::StrCat(year), std::move(bits));
  }
  return years;
}

absl::StatusOr<stats::v1::BreakdownResponse> ComputeBreakdown(
    const RecordIndex& index, const registry::RegistrySnapshot& registry,
    absl::CivilDay as_of, const CountryQuery& query, Dimension dimension,
    Measure measure, const StopWhen& stop) {
  Evaluator evaluator(index, registry, as_of, stop);
  const CountrySet answer = evaluator.Countries(query);
  const Bits selection = evaluator.Selection(query, answer);
  std::vector<ValueBits> values =
      evaluator.Values(dimension, selection, answer, CountsRecords(measure),
                       kMaxBreakdownBuckets);
  if (evaluator.stopped()) return evaluator.stop_status();
  if (static_cast<int>(values.size()) > kMaxBreakdownBuckets) {
    return TooLarge("buckets", static_cast<int64_t>(values.size()),
                    kMaxBreakdownBuckets,
                    "narrow the query or pick a dimension with fewer values");
  }
  auto count_of = [measure](const ValueBits& value) {
    return CountsRecords(measure) ? value.tally.records
                                  : int64_t{value.tally.found};
  };
  std::sort(values.begin(), values.end(),
            [&](const ValueBits& a, const ValueBits& b) {
              const int64_t count_a = count_of(a);
              const int64_t count_b = count_of(b);
              if (count_a != count_b) return count_a > count_b;
              return a.value < b.value;
            });
  stats::v1::BreakdownResponse response;
  for (ValueBits& value : values) {
    stats::v1::Bucket* bucket = response.add_buckets();
    bucket->set_value(std::move(value.value));
    bucket->set_count(Clamp(count_of(value)));
    const Answer described = Describe(evaluator, value.tally.countries);
    for (CountryId country : described.countries) {
      bucket->add_countries(index.country_code(country));
    }
    bucket->set_footnote(FootnoteOf(index, described));
  }
  SetAsOf(as_of, response.mutable_as_of());
  return response;
}

}  // namespace thb::aggregator::internal
