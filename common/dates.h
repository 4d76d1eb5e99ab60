#ifndef THB_COMMON_DATES_H_
#define THB_COMMON_DATES_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"

namespace thb {

// Parses a calendar date "YYYY-MM-DD" (and only that form, with a real
// day: "2023-02-30" is refused). `field` names the request field in the
// INVALID_ARGUMENT it returns.
absl::StatusOr<absl::CivilDay> ParseDate(std::string_view text,
                                         std::string_view field);

// Like ParseDate, but an empty text means today in UTC.
absl::StatusOr<absl::CivilDay> ParseDateOrToday(std::string_view text,
                                                std::string_view field);

// "YYYY-MM-DD".
std::string FormatDate(absl::CivilDay day);

absl::CivilDay TodayUtc();

}  // namespace thb

#endif  // THB_COMMON_DATES_H_
