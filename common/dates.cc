#include "common/dates.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/errors.h"
#include "common/string_view.h"

namespace thb {
namespace {

// Dates of the suite are of cooperation records and statistics: a year
// outside this range is a typo, not history or planning.
constexpr int kMinYear = 1900;
constexpr int kMaxYear = 2999;

absl::Status NotADate(std::string_view text, std::string_view field,
                      std::string_view why) {
  return InvalidArgument(
      field,
      absl::StrCat("\"", ShownValue(text),
                   "\" is not a date in the form YYYY-MM-DD", ToAbsl(why)));
}

bool AllDigits(std::string_view text) {
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<absl::CivilDay> ParseDate(std::string_view text,
                                         std::string_view field) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-' ||
      !AllDigits(text.substr(0, 4)) || !AllDigits(text.substr(5, 2)) ||
      !AllDigits(text.substr(8, 2))) {
    return NotADate(text, field, "");
  }
  int year = 0;
  int month = 0;
  int day = 0;
  // Cannot fail on the digits checked above.
  (void)absl::SimpleAtoi(ToAbsl(text.substr(0, 4)), &year);
  (void)absl::SimpleAtoi(ToAbsl(text.substr(5, 2)), &month);
  (void)absl::SimpleAtoi(ToAbsl(text.substr(8, 2)), &day);
  if (year < kMinYear || year > kMaxYear) {
    return NotADate(text, field,
                    absl::StrFormat(" (years %d to %d)", kMinYear, kMaxYear));
  }
  // CivilDay normalises (2023-02-30 becomes 2023-03-02), so a day that does
  // not exist shows up as a different day.
  const absl::CivilDay parsed(year, month, day);
  if (parsed.month() != month || parsed.day() != day) {
    return NotADate(text, field, " (no such day)");
  }
  return parsed;
}

absl::StatusOr<absl::CivilDay> ParseDateOrToday(std::string_view text,
                                                std::string_view field) {
  if (text.empty()) return TodayUtc();
  return ParseDate(text, field);
}

std::string FormatDate(absl::CivilDay day) {
  // Every answer writes its date, so the usual years are written by hand:
  // the format machinery costs more than the rest of a small answer.
  const int64_t year = day.year();
  if (year < 0 || year > 9999) {
    return absl::StrFormat("%04d-%02d-%02d", year, day.month(), day.day());
  }
  auto digit = [](int64_t value) { return static_cast<char>('0' + value); };
  const int month = day.month();
  const int d = day.day();
  return std::string{digit(year / 1000),
                     digit(year / 100 % 10),
                     digit(year / 10 % 10),
                     digit(year % 10),
                     '-',
                     digit(month / 10),
                     digit(month % 10),
                     '-',
                     digit(d / 10),
                     digit(d % 10)};
}

absl::CivilDay TodayUtc() {
  return absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
}

}  // namespace thb
