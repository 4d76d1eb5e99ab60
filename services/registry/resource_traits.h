#ifndef THB_SERVICES_REGISTRY_RESOURCE_TRAITS_H_
#define THB_SERVICES_REGISTRY_RESOURCE_TRAITS_H_

#include <cstdint>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/registry/registry_store.h"
#include "services/registry/resource_validation.h"
#include "thb/registry/v1/registry_service.pb.h"

namespace thb::registry {

// What the registry's one create/update/delete path needs to know of each
// resource type: how it is named, stored, validated and logged. What needs
// the rest of the registry (aliases, a region's countries, who refers to a
// resource) is RegistryCore's, overloaded on the type.
//
//   kKind          its ResourceKind in the store and the etag
//   kType          its name in errors and the audit log ("country")
//   kPlural        its collection ("countries/EL" in the audit log)
//   kIdField       the field that names one in requests ("code", "id")
//   kCompletedInRegistry  a write is completed against the registry (a
//                  region's country codes made canonical), so its size is
//                  measured only after that
//   kCitedByRecords  cooperation records may cite it: a deletion asks
//                  CoreOptions::citations first
template <typename T>
struct ResourceTraits;

template <>
struct ResourceTraits<v1::Country> {
  static constexpr ResourceKind kKind = ResourceKind::kCountry;
  static constexpr const char* kType = "country";
  static constexpr const char* kPlural = "countries";
  static constexpr const char* kIdField = "code";
  static constexpr bool kCompletedInRegistry = false;
  static constexpr bool kCitedByRecords = false;

  static const std::string& Id(const v1::Country& country) {
    return country.code();
  }
  // The canonical code a create gives the country (codes are stored in
  // upper case), or the error naming country.code.
  static absl::StatusOr<std::string> NewId(v1::Country& country);
  static const std::set<std::string>& WritableFields();
  static absl::Status Validate(v1::Country& country) {
    return ValidateCountry(country);
  }
  static v1::Country* In(v1::Change& change) {
    return change.mutable_country();
  }
};

template <>
struct ResourceTraits<v1::Region> {
  static constexpr ResourceKind kKind = ResourceKind::kRegion;
  static constexpr const char* kType = "region";
  static constexpr const char* kPlural = "regions";
  static constexpr const char* kIdField = "id";
  static constexpr bool kCompletedInRegistry = true;
  static constexpr bool kCitedByRecords = true;

  static const std::string& Id(const v1::Region& region) { return region.id(); }
  static absl::StatusOr<std::string> NewId(v1::Region& region);
  static const std::set<std::string>& WritableFields();
  static absl::Status Validate(v1::Region& region) {
    return ValidateRegion(region);
  }
  static v1::Region* In(v1::Change& change) { return change.mutable_region(); }
};

template <>
struct ResourceTraits<v1::Organisation> {
  static constexpr ResourceKind kKind = ResourceKind::kOrganisation;
  static constexpr const char* kType = "organisation";
  static constexpr const char* kPlural = "organisations";
  static constexpr const char* kIdField = "id";
  static constexpr bool kCompletedInRegistry = false;
  static constexpr bool kCitedByRecords = true;

  static const std::string& Id(const v1::Organisation& organisation) {
    return organisation.id();
  }
  static absl::StatusOr<std::string> NewId(v1::Organisation& organisation);
  static const std::set<std::string>& WritableFields();
  static absl::Status Validate(v1::Organisation& organisation) {
    return ValidateOrganisation(organisation);
  }
  static v1::Organisation* In(v1::Change& change) {
    return change.mutable_organisation();
  }
};

bool IsKnownKind(ResourceKind kind);

// Calls `visit` with the traits of `kind`. A kind this build does not know
// is taken for a country, so callers that may meet one (rows of a store
// written by another build) check IsKnownKind first.
template <typename Visit>
decltype(auto) VisitKind(ResourceKind kind, Visit&& visit) {
  switch (kind) {
    case ResourceKind::kRegion:
      return visit(ResourceTraits<v1::Region>{});
    case ResourceKind::kOrganisation:
      return visit(ResourceTraits<v1::Organisation>{});
    case ResourceKind::kCountry:
      break;
  }
  return visit(ResourceTraits<v1::Country>{});
}

// "country", "region", "organisation".
const char* TypeName(ResourceKind kind);

// The audit log's name of a resource: "countries/EL", "regions/SAHEL".
std::string ResourceName(ResourceKind kind, const std::string& id);

// The etag of revision `revision` of a resource.
std::string Etag(ResourceKind kind, const std::string& id, int64_t revision);

// A stored row that does not parse: the database is damaged. Named so that
// an operator can find the row; never answered as a partial resource.
absl::Status DamagedRow(const char* table, ResourceKind kind,
                        const std::string& id, int64_t revision);

// A resource of the `resources` table as it is kept in memory; INTERNAL
// naming it when it does not parse.
template <typename T>
absl::StatusOr<T> Parse(const std::string& id, int64_t revision,
                        const std::string& data) {
  T message;
  if (!message.ParseFromString(data)) {
    return DamagedRow("resources", ResourceTraits<T>::kKind, id, revision);
  }
  return message;
}

}  // namespace thb::registry

#endif  // THB_SERVICES_REGISTRY_RESOURCE_TRAITS_H_
