#include "domain/emn_status.h"

#include "common/dates.h"

namespace thb::domain {

registry::v1::EmnStatus StatusOn(const registry::v1::Country& country,
                                 absl::CivilDay day) {
  return StatusOnDate(country, FormatDate(day));
}

registry::v1::EmnStatus StatusOnDate(const registry::v1::Country& country,
                                     std::string_view date) {
  for (const auto& period : country.emn_history()) {
    const bool started =
        period.start_date().empty() || period.start_date() <= date;
    const bool ended = !period.end_date().empty() && period.end_date() < date;
    if (started && !ended) return period.status();
  }
  return registry::v1::EMN_STATUS_NONE;
}

}  // namespace thb::domain
