#include "services/registry/resource_validation.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "common/dates.h"

namespace thb::registry {
namespace {

using v1::Country;
using v1::Organisation;
using v1::Region;

bool IsCountryCode(const std::string& code) {
  return code.size() == 2 && absl::ascii_isupper(code[0]) &&
         absl::ascii_isupper(code[1]);
}

// Upper-case identifiers of regions and organisations: "SAHEL", "IOM".
bool IsResourceId(const std::string& id) {
  if (id.empty() || id.size() > 63 || !absl::ascii_isupper(id[0])) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return absl::ascii_isupper(c) || absl::ascii_isdigit(c) || c == '_';
  });
}

absl::Status CheckText(const std::string& text, const std::string& field,
                       size_t max, bool required) {
  if (required && text.empty()) return InvalidArgument(field, "is required");
  if (text.size() > max) {
    return InvalidArgument(
        field,
        absl::StrCat("is ", text.size(), " bytes long; the limit is ", max));
  }
  return absl::OkStatus();
}

absl::Status ValidateSource(const v1::Source& source,
                            const std::string& field) {
  if (auto s = CheckText(source.citation(), field + ".citation",
                         kMaxCitationLength, false);
      !s.ok()) {
    return s;
  }
  if (auto s = CheckText(source.url(), field + ".url", kMaxUrlLength, false);
      !s.ok()) {
    return s;
  }
  if (source.footnote() < 0 || source.footnote() > kMaxFootnote) {
    return InvalidArgument(
        field + ".footnote",
        absl::StrCat(source.footnote(), " is not a footnote number (0 to ",
                     kMaxFootnote, ")"));
  }
  if (!source.accessed_date().empty()) {
    if (auto parsed =
            ParseDate(source.accessed_date(), field + ".accessed_date");
        !parsed.ok()) {
      return parsed.status();
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateHistory(Country& country) {
  auto& history = *country.mutable_emn_history();
  if (static_cast<size_t>(history.size()) > kMaxEmnHistoryPeriods) {
    return InvalidArgument(
        "country.emn_history",
        absl::StrCat(history.size(), " periods; the limit is ",
                     kMaxEmnHistoryPeriods));
  }
  for (int i = 0; i < history.size(); ++i) {
    const std::string field = absl::StrCat("country.emn_history[", i, "]");
    const auto& period = history[i];
    if (period.status() != v1::EMN_STATUS_MEMBER &&
        period.status() != v1::EMN_STATUS_OBSERVER) {
      return InvalidArgument(
          field + ".status",
          absl::StrCat(v1::EmnStatus_Name(period.status()),
                       " is not a status a period can record (MEMBER or "
                       "OBSERVER; no period means NONE)"));
    }
    for (const auto& [date, name] :
         {std::pair{period.start_date(), "start_date"},
          std::pair{period.end_date(), "end_date"}}) {
      if (date.empty()) continue;
      if (auto parsed = ParseDate(date, field + "." + name); !parsed.ok()) {
        return parsed.status();
      }
    }
    if (period.has_source()) {
      if (auto s = ValidateSource(period.source(), field + ".source");
          !s.ok()) {
        return s;
      }
    }
    if (!period.start_date().empty() && !period.end_date().empty() &&
        period.end_date() < period.start_date()) {
      return InvalidArgument(
          field + ".end_date",
          absl::StrCat("\"", period.end_date(), "\" is before start_date \"",
                       period.start_date(), "\""));
    }
  }
  std::sort(history.begin(), history.end(), [](const auto& a, const auto& b) {
    return a.start_date() < b.start_date();
  });
  for (int i = 1; i < history.size(); ++i) {
    const auto& previous = history[i - 1];
    if (previous.end_date().empty() ||
        previous.end_date() >= history[i].start_date()) {
      return InvalidArgument(
          "country.emn_history",
          absl::StrCat("the period starting ", history[i].start_date(),
                       " overlaps the one starting ", previous.start_date()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckId(const std::string& id, const std::string& field) {
  if (id.empty()) return InvalidArgument(field, "is required");
  if (!IsResourceId(id)) {
    return InvalidArgument(
        field, absl::StrCat("\"", id,
                            "\" is not an identifier of upper-case letters, "
                            "digits and underscores starting with a letter"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> NormalizeCountryCode(std::string code,
                                                 const std::string& field) {
  if (code.empty()) return InvalidArgument(field, "is required");
  absl::AsciiStrToUpper(&code);
  if (!IsCountryCode(code)) {
    return InvalidArgument(
        field, absl::StrCat("\"", code,
                            "\" is not a two-letter country code (ISO 3166-1 "
                            "alpha-2, EL and UK)"));
  }
  return code;
}

absl::Status ValidateCountry(Country& country) {
  if (auto s = CheckText(country.name(), "country.name", kMaxNameLength, true);
      !s.ok()) {
    return s;
  }
  if (auto s = CheckText(country.official_name(), "country.official_name",
                         kMaxNameLength, false);
      !s.ok()) {
    return s;
  }
  if (country.iso_alpha2().empty()) country.set_iso_alpha2(country.code());
  auto alpha2 =
      NormalizeCountryCode(country.iso_alpha2(), "country.iso_alpha2");
  if (!alpha2.ok()) return alpha2.status();
  country.set_iso_alpha2(*alpha2);
  const std::string& alpha3 = country.iso_alpha3();
  if (!alpha3.empty() &&
      (alpha3.size() != 3 ||
       !std::all_of(alpha3.begin(), alpha3.end(), absl::ascii_isupper))) {
    return InvalidArgument(
        "country.iso_alpha3",
        absl::StrCat("\"", alpha3, "\" is not three upper-case letters"));
  }
  const std::string& numeric = country.iso_numeric();
  if (!numeric.empty() &&
      (numeric.size() != 3 ||
       !std::all_of(numeric.begin(), numeric.end(), absl::ascii_isdigit))) {
    return InvalidArgument(
        "country.iso_numeric",
        absl::StrCat("\"", numeric, "\" is not three digits"));
  }
  return ValidateHistory(country);
}

absl::Status ValidateOrganisation(const Organisation& organisation) {
  if (auto s = CheckText(organisation.name(), "organisation.name",
                         kMaxNameLength, true);
      !s.ok()) {
    return s;
  }
  if (auto s = CheckText(organisation.url(), "organisation.url", kMaxUrlLength,
                         false);
      !s.ok()) {
    return s;
  }
  if (organisation.kind() == v1::ORGANISATION_KIND_UNSPECIFIED ||
      !v1::OrganisationKind_IsValid(organisation.kind())) {
    return InvalidArgument(
        "organisation.kind",
        absl::StrCat(organisation.kind(), " is not an organisation kind"));
  }
  return absl::OkStatus();
}

// What a region holds apart from its countries, which need the registry.
absl::Status ValidateRegion(const Region& region) {
  if (auto s = CheckText(region.name(), "region.name", kMaxNameLength, true);
      !s.ok()) {
    return s;
  }
  if (auto s = CheckText(region.description(), "region.description",
                         kMaxDescriptionLength, false);
      !s.ok()) {
    return s;
  }
  if (static_cast<size_t>(region.country_codes_size()) > kMaxRegionCountries) {
    return InvalidArgument(
        "region.country_codes",
        absl::StrCat(region.country_codes_size(), " codes; the limit is ",
                     kMaxRegionCountries));
  }
  if (region.has_definition_source()) {
    return ValidateSource(region.definition_source(),
                          "region.definition_source");
  }
  return absl::OkStatus();
}

void ClearOutputOnly(Country& country) {
  country.clear_emn_status();
  country.clear_region_ids();
  country.clear_revision();
  country.clear_create_time();
  country.clear_update_time();
  country.clear_last_changed_by();
}

absl::Status CheckRoom(size_t held, const char* kind) {
  if (held < kMaxResourcesPerKind) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrCat(
      "the registry holds ", held, " ", kind,
      ", the most it keeps (kMaxResourcesPerKind = ", kMaxResourcesPerKind,
      ")"));
}

}  // namespace thb::registry
