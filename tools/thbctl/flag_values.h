#ifndef THB_TOOLS_THBCTL_FLAG_VALUES_H_
#define THB_TOOLS_THBCTL_FLAG_VALUES_H_

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/generated_enum_reflection.h"
#include "thb/cooperation/v1/cooperation_service.pb.h"
#include "thb/registry/v1/registry_service.pb.h"

namespace thb::thbctl {

// The values of the flags that select records and countries, as main read
// them.
struct SelectionFlags {
  // The values of the filter flags given (kFilterFlags), by absl name
  // ("kind"); a year flag has one, its digits. A flag not given, empty or
  // 0, has no entry.
  std::map<std::string, std::vector<std::string>, std::less<>> filter;
  std::string as_of;
  bool eu = false;
  bool non_eu = false;

  // The values of the filter flag `name`; none when it was not given.
  const std::vector<std::string>& Filter(std::string_view name) const;
};

// The numbers of the enum values a flag names: short names
// ("GOOD_PRACTICE") or full ones ("RECORD_KIND_GOOD_PRACTICE"), in any case.
// A value the enum does not have, or its UNSPECIFIED, is a usage error
// naming the flag and the value and listing the accepted values.
absl::StatusOr<std::vector<int>> ParseEnumValues(
    std::string_view flag, const std::vector<std::string>& values,
    const google::protobuf::EnumDescriptor* descriptor);

// The name of an enum value without its enum's prefix: "GOOD_PRACTICE" for
// RECORD_KIND_GOOD_PRACTICE; the number for a value the enum does not have.
std::string ShortName(const google::protobuf::EnumDescriptor* descriptor,
                      int number);
template <typename Enum>
std::string ShortName(Enum value) {
  return ShortName(google::protobuf::GetEnumDescriptor<Enum>(),
                   static_cast<int>(value));
}

// A date flag's value: empty, or "YYYY-MM-DD"; else a usage error naming
// the flag.
absl::Status CheckDateFlag(std::string_view flag, const std::string& value);

// The ListRecords request the selection flags describe, checked here so
// that a wrong value is a usage error naming its flag.
absl::StatusOr<cooperation::v1::ListRecordsRequest> ListRecordsRequestOf(
    const SelectionFlags& flags);

// The ListCountries request of --emn_status, --as_of, --eu / --non_eu and
// --region (one region).
absl::StatusOr<registry::v1::ListCountriesRequest> ListCountriesRequestOf(
    const SelectionFlags& flags);

}  // namespace thb::thbctl

#endif  // THB_TOOLS_THBCTL_FLAG_VALUES_H_
