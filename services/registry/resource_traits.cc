#include "services/registry/resource_traits.h"

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/etag.h"

namespace thb::registry {

absl::StatusOr<std::string> ResourceTraits<v1::Country>::NewId(
    v1::Country& country) {
  auto code = NormalizeCountryCode(country.code(), "country.code");
  if (!code.ok()) return code.status();
  country.set_code(*code);
  return code;
}

absl::StatusOr<std::string> ResourceTraits<v1::Region>::NewId(
    v1::Region& region) {
  if (auto s = CheckId(region.id(), "region.id"); !s.ok()) return s;
  return region.id();
}

absl::StatusOr<std::string> ResourceTraits<v1::Organisation>::NewId(
    v1::Organisation& organisation) {
  if (auto s = CheckId(organisation.id(), "organisation.id"); !s.ok()) return s;
  return organisation.id();
}

// The fields of each resource an update may replace.
const std::set<std::string>& ResourceTraits<v1::Country>::WritableFields() {
  static const auto* fields = new std::set<std::string>{
      "name",        "official_name", "iso_alpha2", "iso_alpha3",
      "iso_numeric", "eu_member",     "emn_history"};
  return *fields;
}

const std::set<std::string>& ResourceTraits<v1::Region>::WritableFields() {
  static const auto* fields = new std::set<std::string>{
      "name", "description", "country_codes", "definition_source"};
  return *fields;
}

const std::set<std::string>&
ResourceTraits<v1::Organisation>::WritableFields() {
  static const auto* fields = new std::set<std::string>{"name", "kind", "url"};
  return *fields;
}

bool IsKnownKind(ResourceKind kind) {
  return kind == ResourceKind::kCountry || kind == ResourceKind::kRegion ||
         kind == ResourceKind::kOrganisation;
}

const char* TypeName(ResourceKind kind) {
  return VisitKind(kind, [](auto traits) { return traits.kType; });
}

std::string ResourceName(ResourceKind kind, const std::string& id) {
  return absl::StrCat(
      VisitKind(kind, [](auto traits) { return traits.kPlural; }), "/", id);
}

std::string Etag(ResourceKind kind, const std::string& id, int64_t revision) {
  return MakeEtag(absl::StrCat(static_cast<int>(kind)), id, revision);
}

absl::Status DamagedRow(const char* table, ResourceKind kind,
                        const std::string& id, int64_t revision) {
  return WithReason(
      absl::InternalError(absl::StrCat(
          "the registry's stored row of table \"", table, "\" for ",
          TypeName(kind), " \"", id, "\" (revision ", revision,
          ") does not parse; the database is damaged: restore it from a "
          "backup")),
      "STORED_ROW_DAMAGED",
      {{"table", table},
       {"resource_type", TypeName(kind)},
       {"resource_name", id},
       {"revision", absl::StrCat(revision)}});
}

}  // namespace thb::registry
