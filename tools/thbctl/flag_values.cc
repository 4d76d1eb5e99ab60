#include "tools/thbctl/flag_values.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/dates.h"
#include "common/errors.h"
#include "common/string_view.h"
#include "domain/record_filter.h"
#include "tools/thbctl/cli.h"
#include "tools/thbctl/filter_flags.h"

namespace thb::thbctl {
namespace {

using google::protobuf::EnumDescriptor;

// "RECORD_KIND_" for RecordKind: what its UNSPECIFIED value has before
// "UNSPECIFIED".
std::string Prefix(const EnumDescriptor* descriptor) {
  const auto* unspecified = descriptor->FindValueByNumber(0);
  if (unspecified == nullptr) return "";
  absl::string_view name = unspecified->name();
  return absl::ConsumeSuffix(&name, "UNSPECIFIED") ? std::string(name) : "";
}

template <typename Repeated>
absl::Status AddEnums(std::string_view flag,
                      const std::vector<std::string>& values,
                      const EnumDescriptor* descriptor, Repeated* out) {
  auto numbers = ParseEnumValues(flag, values, descriptor);
  if (!numbers.ok()) return numbers.status();
  for (int number : *numbers) out->Add(number);
  return absl::OkStatus();
}

}  // namespace

const std::vector<std::string>& SelectionFlags::Filter(
    std::string_view name) const {
  static const auto* const kNone = new std::vector<std::string>();
  const auto found = filter.find(name);
  return found == filter.end() ? *kNone : found->second;
}

absl::StatusOr<std::vector<int>> ParseEnumValues(
    std::string_view flag, const std::vector<std::string>& values,
    const EnumDescriptor* descriptor) {
  const std::string prefix = Prefix(descriptor);
  std::vector<int> numbers;
  for (const std::string& value : values) {
    const std::string upper =
        absl::AsciiStrToUpper(absl::StripAsciiWhitespace(value));
    const auto* found = descriptor->FindValueByName(upper);
    if (found == nullptr) found = descriptor->FindValueByName(prefix + upper);
    if (found != nullptr && found->number() != 0) {
      numbers.push_back(found->number());
      continue;
    }
    std::vector<std::string> accepted;
    for (int i = 0; i < descriptor->value_count(); ++i) {
      if (descriptor->value(i)->number() == 0) continue;
      accepted.push_back(ShortName(descriptor, descriptor->value(i)->number()));
    }
    return UsageError(absl::StrCat(
        ToAbsl(flag), ": \"", value, "\" is not a ", descriptor->name(),
        "; accepted: ", absl::StrJoin(accepted, ", "),
        " (or the full names, e.g. ", prefix, accepted.front(), ")"));
  }
  return numbers;
}

std::string ShortName(const EnumDescriptor* descriptor, int number) {
  const auto* value = descriptor->FindValueByNumber(number);
  if (value == nullptr) return absl::StrCat(number);
  absl::string_view name = value->name();
  absl::ConsumePrefix(&name, Prefix(descriptor));
  return std::string(name);
}

absl::Status CheckDateFlag(std::string_view flag, const std::string& value) {
  if (value.empty()) return absl::OkStatus();
  auto day = ParseDate(value, flag);
  if (!day.ok()) {
    return UsageError(absl::StrCat(ToAbsl(flag), ": \"", value,
                                   "\" is not a date YYYY-MM-DD"));
  }
  return absl::OkStatus();
}

absl::StatusOr<cooperation::v1::ListRecordsRequest> ListRecordsRequestOf(
    const SelectionFlags& flags) {
  cooperation::v1::ListRecordsRequest request;
  cooperation::v1::RecordFilter& filter = *request.mutable_filter();
  for (const FilterFlag& flag : kFilterFlags) {
    if (auto status = AddToFilter(flag, flags.Filter(flag.name), filter);
        !status.ok()) {
      return status;
    }
  }
  if (auto status = CheckDateFlag("--as_of", flags.as_of); !status.ok()) {
    return status;
  }
  if (flags.eu || flags.non_eu) {
    return UsageError(
        "--eu and --non_eu select countries, not records; use --emn_status");
  }

  const absl::Status valid = domain::ValidateFilter(filter, "");
  if (!valid.ok()) {
    const std::vector<FieldViolation> violations = FieldViolations(valid);
    if (violations.empty()) return UsageError(ToStd(valid.message()));
    std::vector<std::string> messages;
    for (const FieldViolation& violation : violations) {
      messages.push_back(absl::StrCat(FlagOfFilterField(violation.field), ": ",
                                      violation.description));
    }
    return UsageError(absl::StrJoin(messages, "; "));
  }
  request.set_as_of_date(flags.as_of);
  return request;
}

absl::StatusOr<registry::v1::ListCountriesRequest> ListCountriesRequestOf(
    const SelectionFlags& flags) {
  registry::v1::ListCountriesRequest request;
  if (auto status = AddEnums("--emn_status", flags.Filter("emn_status"),
                             registry::v1::EmnStatus_descriptor(),
                             request.mutable_emn_statuses());
      !status.ok()) {
    return status;
  }
  if (auto status = CheckDateFlag("--as_of", flags.as_of); !status.ok()) {
    return status;
  }
  request.set_as_of_date(flags.as_of);
  if (flags.eu && flags.non_eu) {
    return UsageError("--eu and --non_eu exclude each other");
  }
  if (flags.eu) request.set_eu_member(true);
  if (flags.non_eu) request.set_eu_member(false);
  const std::vector<std::string>& region = flags.Filter("region");
  if (region.size() > 1) {
    return UsageError(
        absl::StrCat("--region: countries are listed for one "
                     "region at a time, not ",
                     absl::StrJoin(region, ",")));
  }
  if (!region.empty()) {
    request.set_region_id(absl::AsciiStrToUpper(region.front()));
  }
  // The filter flags other than those two select records only.
  for (const FilterFlag& flag : kFilterFlags) {
    if (flag.name != std::string_view("emn_status") &&
        flag.name != std::string_view("region") &&
        !flags.Filter(flag.name).empty()) {
      return UsageError(
          absl::StrCat(flag.flag, " selects records, not countries"));
    }
  }
  return request;
}

}  // namespace thb::thbctl
