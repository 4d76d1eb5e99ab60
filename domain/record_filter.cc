#include "domain/record_filter.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/string_view.h"
#include "domain/country_code.h"
#include "domain/tags.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/repeated_field.h"

namespace thb::domain {
namespace {

using cooperation::v1::CooperationRecord;
using cooperation::v1::RecordFilter;
using ::google::protobuf::EnumDescriptor;
using ::google::protobuf::RepeatedField;
using ::google::protobuf::RepeatedPtrField;

constexpr size_t kMaxIdLength = 63;

std::string Path(std::string_view prefix, std::string_view field) {
  if (prefix.empty()) return std::string(field);
  return absl::StrCat(ToAbsl(prefix), ".", ToAbsl(field));
}

std::string Path(std::string_view prefix, std::string_view field, int index) {
  return absl::StrCat(Path(prefix, field), "[", index, "]");
}

// One violation for a field over kMaxFilterValues, and none for its values:
// a request over the limit would otherwise get a message as large as it.
bool TooMany(int size, std::string_view prefix, std::string_view field,
             std::vector<FieldViolation>& out) {
  if (size <= kMaxFilterValues) return false;
  out.push_back({Path(prefix, field),
                 absl::StrCat("has ", size, " values, more than the limit of ",
                              kMaxFilterValues)});
  return true;
}

void CheckEnums(const RepeatedField<int>& values,
                const EnumDescriptor* descriptor, std::string_view prefix,
                std::string_view field, std::vector<FieldViolation>& out) {
  if (TooMany(values.size(), prefix, field, out)) return;
  for (int i = 0; i < values.size(); ++i) {
    const auto* value = descriptor->FindValueByNumber(values[i]);
    if (value == nullptr) {
      out.push_back({Path(prefix, field, i),
                     absl::StrCat(values[i], " is not a value of ",
                                  descriptor->full_name())});
    } else if (values[i] == 0) {
      out.push_back({Path(prefix, field, i),
                     absl::StrCat(value->name(), " selects nothing; name a ",
                                  descriptor->name(), " value")});
    }
  }
}

bool IsCountryCode(const std::string& code) {
  return code.size() == 2 && absl::ascii_isalpha(code[0]) &&
         absl::ascii_isalpha(code[1]);
}

// Upper-case identifiers of regions and organisations: "SAHEL", "IOM"; a
// country code ("GE") is one too.
bool IsUpperId(const std::string& id) {
  if (id.empty() || id.size() > kMaxIdLength || !absl::ascii_isupper(id[0])) {
    return false;
  }
  return std::all_of(id.begin(), id.end(), [](char c) {
    return absl::ascii_isupper(c) || absl::ascii_isdigit(c) || c == '_';
  });
}

// Lower-kebab: "low-trust", "covid-19".
bool IsLowerKebab(const std::string& tag) {
  if (tag.empty() || tag.size() > kMaxTagLength || tag.front() == '-' ||
      tag.back() == '-' || tag.find("--") != std::string::npos) {
    return false;
  }
  return std::all_of(tag.begin(), tag.end(), [](char c) {
    return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-';
  });
}

void CheckStrings(const RepeatedPtrField<std::string>& values,
                  bool (*valid)(const std::string&), std::string_view what,
                  std::string_view prefix, std::string_view field,
                  std::vector<FieldViolation>& out) {
  if (TooMany(values.size(), prefix, field, out)) return;
  for (int i = 0; i < values.size(); ++i) {
    if (!valid(values[i])) {
      out.push_back(
          {Path(prefix, field, i),
           absl::StrCat(QuotedValue(values[i]), " is not ", ToAbsl(what))});
    }
  }
}

void CheckYear(int year, std::string_view prefix, std::string_view field,
               std::vector<FieldViolation>& out) {
  if (year != 0 && (year < kMinFilterYear || year > kMaxFilterYear)) {
    out.push_back(
        {Path(prefix, field),
         absl::StrCat(year, " is outside the years ", kMinFilterYear, " to ",
                      kMaxFilterYear, " (0 leaves it open)")});
  }
}

// CheckEnums without messages: every value named and known.
bool AllKnown(const RepeatedField<int>& values, bool (*is_valid)(int)) {
  if (values.size() > kMaxFilterValues) return false;
  return std::all_of(values.begin(), values.end(), [is_valid](int value) {
    return value != 0 && is_valid(value);
  });
}

bool AllPass(const RepeatedPtrField<std::string>& values,
             bool (*valid)(const std::string&)) {
  if (values.size() > kMaxFilterValues) return false;
  return std::all_of(values.begin(), values.end(), valid);
}

bool YearInRange(int year) {
  return year == 0 || (year >= kMinFilterYear && year <= kMaxFilterYear);
}

template <typename T, typename U>
bool AnyIn(const T& values, const U& wanted) {
  for (const auto& value : values) {
    if (std::find(wanted.begin(), wanted.end(), value) != wanted.end()) {
      return true;
    }
  }
  return false;
}

template <typename T, typename U>
bool OneIn(const T& value, const U& wanted) {
  return std::find(wanted.begin(), wanted.end(), value) != wanted.end();
}

}  // namespace

absl::Status ValidateFilter(const RecordFilter& filter,
                            std::string_view field_prefix) {
  std::vector<FieldViolation> violations;
  CheckEnums(filter.kinds(), cooperation::v1::RecordKind_descriptor(),
             field_prefix, "kinds", violations);
  CheckEnums(filter.thematic_areas(),
             cooperation::v1::ThematicArea_descriptor(), field_prefix,
             "thematic_areas", violations);
  CheckEnums(filter.forms(), cooperation::v1::CooperationForm_descriptor(),
             field_prefix, "forms", violations);
  CheckEnums(filter.partner_kinds(), cooperation::v1::PartnerKind_descriptor(),
             field_prefix, "partner_kinds", violations);
  CheckStrings(filter.partner_ids(), IsUpperId,
               "an organisation id or country code in upper case (\"IOM\", "
               "\"GE\")",
               field_prefix, "partner_ids", violations);
  CheckStrings(filter.target_regions(), IsUpperId,
               "a region id in upper case (\"SAHEL\")", field_prefix,
               "target_regions", violations);
  CheckStrings(filter.reporting_countries(), IsCountryCode,
               "a two-letter country code (ISO 3166-1 alpha-2, EL and UK)",
               field_prefix, "reporting_countries", violations);
  CheckEnums(filter.emn_statuses(), registry::v1::EmnStatus_descriptor(),
             field_prefix, "emn_statuses", violations);
  CheckYear(filter.from_year(), field_prefix, "from_year", violations);
  CheckYear(filter.to_year(), field_prefix, "to_year", violations);
  if (filter.from_year() != 0 && filter.to_year() != 0 &&
      filter.to_year() < filter.from_year()) {
    violations.push_back(
        {Path(field_prefix, "to_year"),
         absl::StrCat(filter.to_year(), " is before from_year ",
                      filter.from_year())});
  }
  CheckStrings(filter.tags(), IsLowerKebab,
               "a lower-kebab tag (\"low-trust\", \"covid-19\")", field_prefix,
               "tags", violations);
  if (violations.empty()) return absl::OkStatus();
  return InvalidArgument(std::move(violations));
}

bool IsValidFilter(const stats::v1::RecordFilter& filter) {
  return AllKnown(filter.kinds(), cooperation::v1::RecordKind_IsValid) &&
         AllKnown(filter.thematic_areas(),
                  cooperation::v1::ThematicArea_IsValid) &&
         AllKnown(filter.forms(), cooperation::v1::CooperationForm_IsValid) &&
         AllKnown(filter.partner_kinds(),
                  cooperation::v1::PartnerKind_IsValid) &&
         AllPass(filter.partner_ids(), IsUpperId) &&
         AllPass(filter.target_regions(), IsUpperId) &&
         AllPass(filter.reporting_countries(), IsCountryCode) &&
         AllKnown(filter.emn_statuses(), registry::v1::EmnStatus_IsValid) &&
         YearInRange(filter.from_year()) && YearInRange(filter.to_year()) &&
         !(filter.from_year() != 0 && filter.to_year() != 0 &&
           filter.to_year() < filter.from_year()) &&
         AllPass(filter.tags(), IsLowerKebab);
}

bool Matches(const CooperationRecord& record, const RecordFilter& filter,
             registry::v1::EmnStatus reporting_country_status) {
  if (!filter.kinds().empty() &&
      !OneIn(static_cast<int>(record.kind()), filter.kinds())) {
    return false;
  }
  if (!filter.thematic_areas().empty() &&
      !AnyIn(record.thematic_areas(), filter.thematic_areas())) {
    return false;
  }
  if (!filter.forms().empty() &&
      !OneIn(static_cast<int>(record.form()), filter.forms())) {
    return false;
  }
  if (!filter.partner_kinds().empty() &&
      std::none_of(record.partners().begin(), record.partners().end(),
                   [&](const cooperation::v1::Partner& partner) {
                     return OneIn(static_cast<int>(partner.kind()),
                                  filter.partner_kinds());
                   })) {
    return false;
  }
  if (!filter.partner_ids().empty() &&
      std::none_of(record.partners().begin(), record.partners().end(),
                   [&](const cooperation::v1::Partner& partner) {
                     return !partner.id().empty() &&
                            OneIn(partner.id(), filter.partner_ids());
                   })) {
    return false;
  }
  if (!filter.target_regions().empty() &&
      !AnyIn(record.target_regions(), filter.target_regions())) {
    return false;
  }
  if (!filter.reporting_countries().empty()) {
    const std::string reporting =
        CanonicalCountryCode(record.reporting_country());
    if (std::none_of(filter.reporting_countries().begin(),
                     filter.reporting_countries().end(),
                     [&](const std::string& code) {
                       return CanonicalCountryCode(code) == reporting;
                     })) {
      return false;
    }
  }
  if (!filter.emn_statuses().empty() &&
      !OneIn(static_cast<int>(reporting_country_status),
             filter.emn_statuses())) {
    return false;
  }
  if (filter.to_year() != 0 && record.start_year() != 0 &&
      record.start_year() > filter.to_year()) {
    return false;
  }
  if (filter.from_year() != 0 && record.end_year() != 0 &&
      record.end_year() < filter.from_year()) {
    return false;
  }
  if (!filter.tags().empty() && !AnyIn(record.tags(), filter.tags())) {
    return false;
  }
  return true;
}

cooperation::v1::RecordFilter ToCooperationFilter(
    const stats::v1::RecordFilter& filter) {
  cooperation::v1::RecordFilter converted;
  // Cannot fail: the bytes come from a message with the same fields.
  (void)converted.ParseFromString(filter.SerializeAsString());
  return converted;
}

stats::v1::RecordFilter ToStatsFilter(
    const cooperation::v1::RecordFilter& filter) {
  stats::v1::RecordFilter converted;
  (void)converted.ParseFromString(filter.SerializeAsString());
  return converted;
}

}  // namespace thb::domain
