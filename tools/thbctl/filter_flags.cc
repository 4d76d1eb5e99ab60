#include "tools/thbctl/filter_flags.h"

#include <iterator>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tools/thbctl/cli.h"
#include "tools/thbctl/flag_values.h"

namespace thb::thbctl {
namespace {

using cooperation::v1::RecordFilter;
using google::protobuf::FieldDescriptor;
using google::protobuf::Reflection;

// The usage text's lines after the first are indented by this.
constexpr char kIndent[] = "  ";

// What the list of filter flags is followed by, wrapped by hand: the first
// line continues the list's last one where it fits.
constexpr const char* kFilterFlagsProse[] = {
    "Several values are comma-separated and OR",
    "together; different flags AND together. Enum values by their short",
    "(GOOD_PRACTICE) or full (RECORD_KIND_GOOD_PRACTICE) names."};

}  // namespace

const FilterFlag* FindFilterFlag(std::string_view name) {
  for (const FilterFlag& flag : kFilterFlags) {
    if (name == flag.name) return &flag;
  }
  return nullptr;
}

absl::Status AddToFilter(const FilterFlag& flag,
                         const std::vector<std::string>& values,
                         RecordFilter& filter) {
  const FieldDescriptor* field =
      RecordFilter::descriptor()->FindFieldByName(flag.field);
  if (field == nullptr) {
    return absl::InternalError(absl::StrCat(
        flag.flag, ": RecordFilter has no field \"", flag.field, "\""));
  }
  const Reflection& reflection = *filter.GetReflection();
  switch (flag.value) {
    case FilterValue::kEnums: {
      auto numbers = ParseEnumValues(flag.flag, values, field->enum_type());
      if (!numbers.ok()) return numbers.status();
      for (int number : *numbers) {
        reflection.AddEnumValue(&filter, field, number);
      }
      break;
    }
    case FilterValue::kIds:
      for (const std::string& id : values) {
        reflection.AddString(&filter, field, absl::AsciiStrToUpper(id));
      }
      break;
    case FilterValue::kTexts:
      for (const std::string& text : values) {
        reflection.AddString(&filter, field, text);
      }
      break;
    case FilterValue::kYear: {
      int year = 0;
      if (values.size() > 1 ||
          (values.size() == 1 && !absl::SimpleAtoi(values.front(), &year))) {
        return UsageError(absl::StrCat(
            flag.flag, ": \"", absl::StrJoin(values, ","), "\" is not a year"));
      }
      reflection.SetInt32(&filter, field, year);
      break;
    }
  }
  return absl::OkStatus();
}

std::string FlagOfFilterField(std::string_view field) {
  const std::string_view name = field.substr(0, field.find('['));
  for (const FilterFlag& flag : kFilterFlags) {
    if (name == flag.field) return flag.flag;
  }
  return std::string(field);
}

std::string FilterFlagsUsage(size_t width) {
  std::vector<std::string> units;
  for (const FilterFlag& flag : kFilterFlags) {
    units.push_back(absl::StrCat(flag.flag, ","));
  }
  // Not a filter: the date --emn_status is judged at.
  units.push_back("--as_of.");
  units.insert(units.end(), std::begin(kFilterFlagsProse),
               std::end(kFilterFlagsProse));
  std::vector<std::string> lines = {"Record filters (records list, stats):"};
  for (const std::string& unit : units) {
    if (lines.back().size() + 1 + unit.size() > width) {
      lines.push_back(absl::StrCat(kIndent, unit));
    } else {
      absl::StrAppend(&lines.back(), " ", unit);
    }
  }
  return absl::StrCat(absl::StrJoin(lines, "\n"), "\n");
}

}  // namespace thb::thbctl
