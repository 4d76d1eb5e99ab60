#include "services/registry/client/registry_snapshot.h"

#include <algorithm>

#include "domain/country_code.h"
#include "domain/emn_status.h"

namespace thb::registry {

std::optional<std::string> RegistrySnapshot::CanonicalCountry(
    std::string_view code) const {
  return domain::CanonicalCountry(
      code, [this](const std::string& c) { return countries.contains(c); },
      aliases);
}

v1::EmnStatus RegistrySnapshot::StatusOn(const std::string& canonical_code,
                                         absl::CivilDay day) const {
  auto it = countries.find(canonical_code);
  if (it == countries.end()) return v1::EMN_STATUS_NONE;
  return domain::StatusOn(it->second, day);
}

void RegistrySnapshot::Apply(const v1::Change& change) {
  identity.Renew();
  const bool deleted = change.type() == v1::CHANGE_TYPE_DELETED;
  switch (change.resource_case()) {
    case v1::Change::kCountry: {
      const v1::Country& country = change.country();
      for (auto it = aliases.begin(); it != aliases.end();) {
        auto current = it++;
        if (current->second == country.code()) aliases.erase(current);
      }
      if (deleted) {
        countries.erase(country.code());
      } else {
        countries[country.code()] = country;
        if (country.iso_alpha2() != country.code()) {
          aliases[country.iso_alpha2()] = country.code();
        }
      }
      break;
    }
    case v1::Change::kRegion:
      if (deleted) {
        regions.erase(change.region().id());
      } else {
        regions[change.region().id()] = change.region();
      }
      break;
    case v1::Change::kOrganisation:
      if (deleted) {
        organisations.erase(change.organisation().id());
      } else {
        organisations[change.organisation().id()] = change.organisation();
      }
      break;
    case v1::Change::RESOURCE_NOT_SET:
      break;
  }
  revision = std::max(revision, change.revision());
}

}  // namespace thb::registry
