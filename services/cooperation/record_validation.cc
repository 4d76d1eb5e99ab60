#include "services/cooperation/record_validation.h"

#include <algorithm>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/dates.h"
#include "common/errors.h"
#include "domain/tags.h"

namespace thb::cooperation {
namespace {

using registry::RegistrySnapshot;

bool IsLowerKebab(const std::string& text, size_t max_length) {
  if (text.empty() || text.size() > max_length) return false;
  if (text.front() == '-' || text.back() == '-') return false;
  char previous = 0;
  for (char c : text) {
    const bool ok =
        absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-';
    if (!ok || (c == '-' && previous == '-')) return false;
    previous = c;
  }
  return true;
}

absl::Status CheckText(const std::string& text, const FieldPath& field,
                       size_t max, bool required) {
  if (required && text.empty()) {
    return InvalidArgument(field.ToString(), "is required");
  }
  if (text.size() > max) {
    return InvalidArgument(
        field.ToString(),
        absl::StrCat("is ", text.size(), " bytes long; the limit is ", max));
  }
  return absl::OkStatus();
}

template <typename List>
absl::Status CheckLength(const List& list, const FieldPath& field) {
  if (list.size() > kMaxListLength) {
    return InvalidArgument(
        field.ToString(),
        absl::StrCat("has ", list.size(), " entries; the limit is ",
                     kMaxListLength));
  }
  return absl::OkStatus();
}

// Sorts a repeated enum field and drops duplicates, refusing UNSPECIFIED and
// values the enum does not define.
template <typename Repeated, typename IsValid, typename Name>
absl::Status NormalizeEnums(Repeated* values, const FieldPath& field,
                            IsValid is_valid, Name name) {
  if (auto s = CheckLength(*values, field); !s.ok()) return s;
  for (int i = 0; i < values->size(); ++i) {
    const int value = values->Get(i);
    if (value == 0 || !is_valid(value)) {
      return InvalidArgument(
          FieldPath(field, i).ToString(),
          absl::StrCat(value == 0 ? std::string(name(0)) : absl::StrCat(value),
                       " is not an accepted value"));
    }
  }
  std::sort(values->begin(), values->end());
  values->Truncate(static_cast<int>(
      std::unique(values->begin(), values->end()) - values->begin()));
  return absl::OkStatus();
}

// Sorts repeated strings in place and drops duplicates.
void SortUnique(google::protobuf::RepeatedPtrField<std::string>* values) {
  std::sort(values->begin(), values->end());
  const int kept = static_cast<int>(
      std::unique(values->begin(), values->end()) - values->begin());
  values->DeleteSubrange(kept, values->size() - kept);
}

absl::StatusOr<std::string> Country(const RegistrySnapshot& registry,
                                    const std::string& code,
                                    const FieldPath& field) {
  if (code.empty()) return InvalidArgument(field.ToString(), "is required");
  if (registry.countries.contains(code) && !registry.aliases.contains(code)) {
    return code;
  }
  auto canonical = registry.CanonicalCountry(code);
  if (!canonical.has_value()) {
    return InvalidArgument(
        field.ToString(),
        absl::StrCat("\"", code, "\" is not a country of the registry"));
  }
  return *canonical;
}

// The organisation kind a partner kind must name, if it names one.
std::optional<registry::v1::OrganisationKind> OrganisationKindOf(
    v1::PartnerKind kind) {
  switch (kind) {
    case v1::PARTNER_KIND_INTERNATIONAL_ORGANISATION:
      return registry::v1::ORGANISATION_KIND_INTERNATIONAL_ORGANISATION;
    case v1::PARTNER_KIND_EU_AGENCY:
      return registry::v1::ORGANISATION_KIND_EU_AGENCY;
    case v1::PARTNER_KIND_EU_FRAMEWORK:
      return registry::v1::ORGANISATION_KIND_EU_FRAMEWORK;
    case v1::PARTNER_KIND_NGO:
      return registry::v1::ORGANISATION_KIND_NGO;
    case v1::PARTNER_KIND_CSO:
      return registry::v1::ORGANISATION_KIND_CSO;
    default:
      return std::nullopt;
  }
}

absl::Status ValidatePartners(
    google::protobuf::RepeatedPtrField<v1::Partner>* partners,
    const RegistrySnapshot& registry, const FieldPath& field) {
  if (auto s = CheckLength(*partners, field); !s.ok()) return s;
  for (int i = 0; i < partners->size(); ++i) {
    v1::Partner& partner = (*partners)[i];
    const FieldPath path(field, i);
    if (partner.kind() == v1::PARTNER_KIND_UNSPECIFIED ||
        !v1::PartnerKind_IsValid(partner.kind())) {
      return InvalidArgument(FieldPath(path, "kind").ToString(),
                             absl::StrCat(v1::PartnerKind_Name(partner.kind()),
                                          " is not an accepted partner kind"));
    }
    if (partner.id().empty()) continue;
    if (auto organisation_kind = OrganisationKindOf(partner.kind());
        organisation_kind.has_value()) {
      auto it = registry.organisations.find(partner.id());
      if (it == registry.organisations.end()) {
        return InvalidArgument(FieldPath(path, "id").ToString(),
                               absl::StrCat("\"", partner.id(),
                                            "\" is not an organisation of the "
                                            "registry"));
      }
      if (it->second.kind() != *organisation_kind) {
        return InvalidArgument(
            FieldPath(path, "id").ToString(),
            absl::StrCat("\"", partner.id(), "\" is an ",
                         registry::v1::OrganisationKind_Name(it->second.kind()),
                         ", not a partner of kind ",
                         v1::PartnerKind_Name(partner.kind())));
      }
    } else {
      auto code = Country(registry, partner.id(), FieldPath(path, "id"));
      if (!code.ok()) return code.status();
      partner.set_id(*code);
    }
  }
  return absl::OkStatus();
}

// An address a reader can follow: http or https, without spaces or control
// characters (which would let a citation smuggle text into a listing).
absl::Status CheckUrl(const std::string& url, const FieldPath& field) {
  if (auto s = CheckText(url, field, kMaxShortTextLength, false); !s.ok()) {
    return s;
  }
  if (url.empty()) return absl::OkStatus();
  const bool web = absl::StartsWithIgnoreCase(url, "https://") ||
                   absl::StartsWithIgnoreCase(url, "http://");
  const bool printable = std::none_of(url.begin(), url.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte <= 0x20 || byte == 0x7f;
  });
  if (!web || !printable) {
    return InvalidArgument(
        field.ToString(),
        absl::StrCat("\"", absl::CHexEscape(url),
                     "\" is not an http or https address without spaces"));
  }
  return absl::OkStatus();
}

absl::Status CheckDate(const std::string& date, const FieldPath& field) {
  if (date.empty()) return absl::OkStatus();
  // Checked before parsing, so an error never quotes a huge value.
  if (auto s = CheckText(date, field, kDateLength, false); !s.ok()) return s;
  return ParseDate(date, field.ToString()).status();
}

// The serialized size of the fields a client writes.
size_t WritableBytes(const v1::CooperationRecord& record) {
  if (record.revision() == 0 && record.etag().empty() &&
      !record.has_create_time() && !record.has_update_time() &&
      record.last_changed_by().empty()) {
    return record.ByteSizeLong();
  }
  v1::CooperationRecord writable = record;
  writable.clear_revision();
  writable.clear_etag();
  writable.clear_create_time();
  writable.clear_update_time();
  writable.clear_last_changed_by();
  return writable.ByteSizeLong();
}

}  // namespace

std::string FieldPath::ToString() const {
  std::string out;
  AppendTo(out);
  return out;
}

void FieldPath::AppendTo(std::string& out) const {
  if (parent_ != nullptr) parent_->AppendTo(out);
  if (index_ >= 0) {
    absl::StrAppend(&out, "[", index_, "]");
    return;
  }
  if (parent_ != nullptr) out.push_back('.');
  out.append(name_.data(), name_.size());
}

absl::Status ValidateRecordId(const std::string& id, const FieldPath& field) {
  if (!IsLowerKebab(id, 63)) {
    return InvalidArgument(
        field.ToString(),
        absl::StrCat("\"", id,
                     "\" is not an id of 1 to 63 lower-case letters, "
                     "digits and single hyphens"));
  }
  return absl::OkStatus();
}

absl::Status ValidateRecord(v1::CooperationRecord& record,
                            const RegistrySnapshot& registry,
                            const FieldPath& prefix) {
  const auto field = [&](const char* name) { return FieldPath(prefix, name); };
  record.DiscardUnknownFields();
  auto reporting =
      Country(registry, record.reporting_country(), field("reporting_country"));
  if (!reporting.ok()) return reporting.status();
  record.set_reporting_country(*reporting);

  if (record.kind() == v1::RECORD_KIND_UNSPECIFIED ||
      !v1::RecordKind_IsValid(record.kind())) {
    return InvalidArgument(field("kind").ToString(),
                           absl::StrCat(v1::RecordKind_Name(record.kind()),
                                        " is not an accepted kind; it is "
                                        "required"));
  }
  if (auto s =
          CheckText(record.title(), field("title"), kMaxTitleLength, false);
      !s.ok()) {
    return s;
  }
  if (auto s = CheckText(record.description(), field("description"),
                         kMaxDescriptionLength, false);
      !s.ok()) {
    return s;
  }
  if (auto s = NormalizeEnums(record.mutable_thematic_areas(),
                              field("thematic_areas"), v1::ThematicArea_IsValid,
                              [](int v) {
                                return v1::ThematicArea_Name(
                                    static_cast<v1::ThematicArea>(v));
                              });
      !s.ok()) {
    return s;
  }
  if (!v1::CooperationForm_IsValid(record.form())) {
    return InvalidArgument(field("form").ToString(),
                           absl::StrCat(record.form(), " is not a form"));
  }
  if (auto s = ValidatePartners(record.mutable_partners(), registry,
                                field("partners"));
      !s.ok()) {
    return s;
  }
  if (auto s = ValidatePartners(record.mutable_implementers(), registry,
                                field("implementers"));
      !s.ok()) {
    return s;
  }

  if (auto s = CheckLength(record.target_regions(), field("target_regions"));
      !s.ok()) {
    return s;
  }
  for (int i = 0; i < record.target_regions_size(); ++i) {
    const std::string& id = record.target_regions(i);
    if (!registry.regions.contains(id)) {
      return InvalidArgument(
          FieldPath(field("target_regions"), i).ToString(),
          absl::StrCat("\"", id, "\" is not a region of the registry"));
    }
  }
  SortUnique(record.mutable_target_regions());

  if (auto s =
          CheckLength(record.target_countries(), field("target_countries"));
      !s.ok()) {
    return s;
  }
  for (int i = 0; i < record.target_countries_size(); ++i) {
    auto code = Country(registry, record.target_countries(i),
                        FieldPath(field("target_countries"), i));
    if (!code.ok()) return code.status();
    *record.mutable_target_countries(i) = std::move(*code);
  }
  SortUnique(record.mutable_target_countries());

  if (auto s = CheckLength(record.funding(), field("funding")); !s.ok()) {
    return s;
  }
  for (int i = 0; i < record.funding_size(); ++i) {
    const auto& funding = record.funding(i);
    const FieldPath funding_list = field("funding");
    const FieldPath path(funding_list, i);
    if (funding.source() == v1::FUNDING_SOURCE_UNSPECIFIED ||
        !v1::FundingSource_IsValid(funding.source())) {
      return InvalidArgument(
          FieldPath(path, "source").ToString(),
          absl::StrCat(funding.source(), " is not an accepted funding source"));
    }
    if (auto s = CheckText(funding.programme(), FieldPath(path, "programme"),
                           kMaxTitleLength, false);
        !s.ok()) {
      return s;
    }
  }

  for (const auto& [year, name] : {std::pair{record.start_year(), "start_year"},
                                   std::pair{record.end_year(), "end_year"}}) {
    if (year != 0 && (year < kMinYear || year > kMaxYear)) {
      return InvalidArgument(field(name).ToString(),
                             absl::StrCat(year, " is outside ", kMinYear, "..",
                                          kMaxYear, " (0 means unknown)"));
    }
  }
  if (record.start_year() != 0 && record.end_year() != 0 &&
      record.start_year() > record.end_year()) {
    return InvalidArgument(
        field("start_year").ToString(),
        absl::StrCat(record.start_year(), " is after end_year ",
                     record.end_year()));
  }
  if (!v1::RecordStatus_IsValid(record.status())) {
    return InvalidArgument(field("status").ToString(),
                           absl::StrCat(record.status(), " is not a status"));
  }

  if (auto s = CheckLength(record.tags(), field("tags")); !s.ok()) return s;
  for (int i = 0; i < record.tags_size(); ++i) {
    if (!IsLowerKebab(record.tags(i), domain::kMaxTagLength)) {
      return InvalidArgument(
          FieldPath(field("tags"), i).ToString(),
          absl::StrCat("\"", record.tags(i),
                       "\" is not a lower-kebab tag such as \"low-trust\""));
    }
  }
  SortUnique(record.mutable_tags());

  if (record.sources().empty()) {
    return InvalidArgument(field("sources").ToString(),
                           "is required: every record cites a source");
  }
  if (auto s = CheckLength(record.sources(), field("sources")); !s.ok()) {
    return s;
  }
  for (int i = 0; i < record.sources_size(); ++i) {
    const auto& source = record.sources(i);
    const FieldPath source_list = field("sources");
    const FieldPath path(source_list, i);
    if (auto s = CheckText(source.citation(), FieldPath(path, "citation"),
                           kMaxShortTextLength, true);
        !s.ok()) {
      return s;
    }
    if (source.footnote() < 0) {
      return InvalidArgument(FieldPath(path, "footnote").ToString(),
                             absl::StrCat(source.footnote(), " is negative"));
    }
    if (auto s = CheckUrl(source.url(), FieldPath(path, "url")); !s.ok()) {
      return s;
    }
    if (auto s =
            CheckDate(source.accessed_date(), FieldPath(path, "accessed_date"));
        !s.ok()) {
      return s;
    }
  }
  if (const size_t bytes = WritableBytes(record); bytes > kMaxRecordBytes) {
    return InvalidArgument(
        prefix.ToString(),
        absl::StrCat("is ", bytes, " bytes serialized; the limit is ",
                     kMaxRecordBytes));
  }
  return absl::OkStatus();
}

}  // namespace thb::cooperation
