// Dates: any text parses to a day or an error, and a text that parses is
// the day's own format (only "YYYY-MM-DD" is accepted).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/dates.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto day = thb::ParseDate(text, "as_of_date");
  if (day.ok()) {
    THB_FUZZ_CHECK(thb::FormatDate(*day) == text, thb::FormatDate(*day));
  }
  auto or_today = thb::ParseDateOrToday(text, "as_of_date");
  THB_FUZZ_CHECK(or_today.ok() == (day.ok() || text.empty()),
                 or_today.status().ToString());
  return 0;
}
