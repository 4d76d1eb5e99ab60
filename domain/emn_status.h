#ifndef THB_DOMAIN_EMN_STATUS_H_
#define THB_DOMAIN_EMN_STATUS_H_

#include <string_view>

#include "absl/time/civil_time.h"
#include "thb/registry/v1/registry.pb.h"

namespace thb::domain {

// A country's EMN status on `day` by its history: the period that contains
// the day, or EMN_STATUS_NONE.
registry::v1::EmnStatus StatusOn(const registry::v1::Country& country,
                                 absl::CivilDay day);
// The same for a day already written as FormatDate writes it: callers that
// judge many countries on one day write the date once.
registry::v1::EmnStatus StatusOnDate(const registry::v1::Country& country,
                                     std::string_view date);

}  // namespace thb::domain

#endif  // THB_DOMAIN_EMN_STATUS_H_
