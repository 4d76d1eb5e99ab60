#ifndef THB_TOOLS_THBCTL_FILTER_FLAGS_H_
#define THB_TOOLS_THBCTL_FILTER_FLAGS_H_

// The filter flags: each fills one field of the RecordFilter by which
// `records list` and the `stats` queries select records. Their names, help
// texts, parsing, the usage text and the checks of which command takes them
// all come from the one table below, so that a new filter field is one row.

#include <string>
#include <string_view>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "thb/cooperation/v1/cooperation_service.pb.h"

namespace thb::thbctl {

// What a filter flag's values are, and so how they are parsed.
enum class FilterValue {
  // Enum values by their short or full names (ParseEnumValues).
  kEnums,
  // Ids and codes, upper case on the wire, accepted in any case.
  kIds,
  // Text as given (tags).
  kTexts,
  // One year; 0 is no filter.
  kYear,
};

// The C++ type of the absl flag behind a filter flag.
template <FilterValue value>
struct FilterFlagTypeOf {
  using Type = std::vector<std::string>;
};
template <>
struct FilterFlagTypeOf<FilterValue::kYear> {
  using Type = int;
};

// The table: X(flag name, FilterValue, RecordFilter field, help text), in the
// order the usage text lists them and the checks run. main.cc defines one
// absl flag per row.
#define THBCTL_FILTER_FLAGS(X)                                                \
  X(kind, kEnums, kinds,                                                      \
    "Record kinds: MEASURE, GOOD_PRACTICE, CHALLENGE, ...")                   \
  X(area, kEnums, thematic_areas,                                             \
    "Thematic areas: PREVENTION, AWARENESS_RAISING, ...")                     \
  X(form, kEnums, forms,                                                      \
    "Cooperation forms: STRUCTURED, OPERATIONAL_AD_HOC, ...")                 \
  X(partner_kind, kEnums, partner_kinds,                                      \
    "Partner kinds: EU_AGENCY, CSO, INTERNATIONAL_ORGANISATION, ...")         \
  X(partner, kIds, partner_ids, "Partner ids: IOM, UNODC, or country codes.") \
  X(region, kIds, target_regions,                                             \
    "Region ids: SAHEL, ... (records: targeted; countries: member of "        \
    "one).")                                                                  \
  X(country, kIds, reporting_countries, "Reporting countries.")               \
  X(tag, kTexts, tags, "Tags: low-trust, ...")                                \
  X(from_year, kYear, from_year, "Records whose period reaches this year.")   \
  X(to_year, kYear, to_year, "Records whose period starts by this year.")     \
  X(emn_status, kEnums, emn_statuses,                                         \
    "EMN statuses: MEMBER, OBSERVER, NONE (of the reporting country "         \
    "for records).")

// Defines the absl flag of one row; main.cc expands the table with it, so
// that `--help` lists the filter flags among its own.
#define THBCTL_DEFINE_FILTER_FLAG(name, value, field, help) \
  ABSL_FLAG(::thb::thbctl::FilterFlagTypeOf<                \
                ::thb::thbctl::FilterValue::value>::Type,   \
            name, {}, help);

struct FilterFlag {
  // As absl knows it ("kind") and as the user writes it ("--kind").
  const char* name;
  const char* flag;
  FilterValue value;
  // The field of cooperation.v1.RecordFilter it fills.
  const char* field;
};

#define THBCTL_FILTER_FLAG_ROW(name, value, field, help) \
  {#name, "--" #name, FilterValue::value, #field},
inline constexpr FilterFlag kFilterFlags[] = {
    THBCTL_FILTER_FLAGS(THBCTL_FILTER_FLAG_ROW)};
#undef THBCTL_FILTER_FLAG_ROW

// The row whose absl name is `name`; nullptr if none.
const FilterFlag* FindFilterFlag(std::string_view name);

// Adds the flag's `values` (as given; a year as its digits) to its field of
// `filter`; a value the field cannot take is a usage error naming the flag.
absl::Status AddToFilter(const FilterFlag& flag,
                         const std::vector<std::string>& values,
                         cooperation::v1::RecordFilter& filter);

// The flag behind a field of a RecordFilter ("kinds[1]" gives "--kind"), for
// messages; the field itself when no flag fills it.
std::string FlagOfFilterField(std::string_view field);

// The usage text's paragraph on the filter flags, wrapped to `width`.
std::string FilterFlagsUsage(size_t width);

}  // namespace thb::thbctl

#endif  // THB_TOOLS_THBCTL_FILTER_FLAGS_H_
