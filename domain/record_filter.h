#ifndef THB_DOMAIN_RECORD_FILTER_H_
#define THB_DOMAIN_RECORD_FILTER_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "thb/cooperation/v1/cooperation.pb.h"
#include "thb/cooperation/v1/cooperation_service.pb.h"
#include "thb/registry/v1/registry.pb.h"
#include "thb/stats/v1/stats_service.pb.h"

namespace thb::domain {

// Years a filter may name: records are about modern policies, so a year
// outside this range is a typo.
inline constexpr int kMinFilterYear = 1900;
inline constexpr int kMaxFilterYear = 2100;
// Values one repeated field of a filter may hold: room for every country
// (ISO 3166-1 has 249) and organisation as partners; more only costs. Over
// it, INVALID_ARGUMENT naming the field, the count and this limit.
inline constexpr int kMaxFilterValues = 512;

// Checks every field of `filter`: fields with more than kMaxFilterValues
// values (one violation naming the field, not its values), enum values that are
// UNSPECIFIED or unknown, years outside kMinFilterYear..kMaxFilterYear or
// from_year after to_year, country codes that are not two letters, region and
// partner ids that are not upper-case identifiers, tags that are not
// lower-kebab. INVALID_ARGUMENT with one violation per wrong value, each naming
// its path under `field_prefix` ("filter" gives "filter.thematic_areas[1]"; an
// empty prefix gives "thematic_areas[1]").
absl::Status ValidateFilter(const cooperation::v1::RecordFilter& filter,
                            std::string_view field_prefix);
// Whether ValidateFilter passes `filter` (the statistics form of the same
// message), without converting it or writing any message: for the common
// case of a valid filter, where the paths and texts would go unused.
bool IsValidFilter(const stats::v1::RecordFilter& filter);

// Whether `record` is selected by `filter`. Fields AND together, the values
// of one repeated field OR together, an empty field does not constrain.
// partner_kinds and partner_ids look at the record's partners (not its
// implementers); reporting_countries compare canonical codes, so "gr"
// selects "EL"; emn_statuses compare `reporting_country_status`, the status
// of the record's reporting country on the date the caller judges at;
// from_year/to_year select records whose period overlaps theirs, where a 0
// on either side (filter or record) leaves that side open.
bool Matches(const cooperation::v1::CooperationRecord& record,
             const cooperation::v1::RecordFilter& filter,
             registry::v1::EmnStatus reporting_country_status);

// The two RecordFilter messages are wire-identical (same field names and
// numbers), so each converts to the other through its serialization.
cooperation::v1::RecordFilter ToCooperationFilter(
    const stats::v1::RecordFilter& filter);
stats::v1::RecordFilter ToStatsFilter(
    const cooperation::v1::RecordFilter& filter);

}  // namespace thb::domain

#endif  // THB_DOMAIN_RECORD_FILTER_H_
