#ifndef THB_SERVICES_REGISTRY_RESOURCE_VALIDATION_H_
#define THB_SERVICES_REGISTRY_RESOURCE_VALIDATION_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "thb/registry/v1/registry.pb.h"

namespace thb::registry {

// What one resource may hold. Each is enforced where the core validates a
// write; docs/DECISIONS.md gives the reasons.
inline constexpr size_t kMaxNameLength = 200;
inline constexpr size_t kMaxDescriptionLength = 2000;
inline constexpr size_t kMaxUrlLength = 2000;
inline constexpr size_t kMaxCitationLength = 1000;
inline constexpr int32_t kMaxFootnote = 100000;
inline constexpr size_t kMaxEmnHistoryPeriods = 32;
inline constexpr size_t kMaxRegionCountries = 300;
// A resource as a write leaves it, serialized, before the server stamps
// revision, etag, times and last writer on it.
inline constexpr size_t kMaxResourceBytes = 8 * 1024;
// Countries, regions and organisations each; with kMaxResourceBytes and
// kMaxHistoryRevisions (registry_core.h) it bounds what the registry loads
// at start.
inline constexpr size_t kMaxResourcesPerKind = 5000;
// INVALID_ARGUMENT on `field` unless `id` is the identifier of a region or
// an organisation: upper-case letters, digits and underscores starting with
// a letter ("SAHEL", "IOM").
absl::Status CheckId(const std::string& id, const std::string& field);

// `code` in upper case when it is a two-letter country code; else
// INVALID_ARGUMENT on `field`.
absl::StatusOr<std::string> NormalizeCountryCode(std::string code,
                                                 const std::string& field);

// What each resource holds on its own, checked field by field and put in
// its canonical form (a country's ISO alpha-2 defaults to its code, its EMN
// periods are sorted). A region's countries need the registry: the core
// checks them (RegistryCore::CompleteInRegistry).
absl::Status ValidateCountry(v1::Country& country);
absl::Status ValidateRegion(const v1::Region& region);
absl::Status ValidateOrganisation(const v1::Organisation& organisation);

// Clears what the server sets or derives, so that a client cannot write it.
void ClearOutputOnly(v1::Country& country);
template <typename T>
void ClearOutputOnly(T& resource) {
  resource.clear_revision();
  resource.clear_create_time();
  resource.clear_update_time();
  resource.clear_last_changed_by();
}

// Readies a validated resource for storing: nothing a client sent that
// this build does not know is kept, and what is kept fits
// kMaxResourceBytes (measured without the fields the server stamps).
template <typename T>
absl::Status Admit(T& resource, const char* field) {
  resource.DiscardUnknownFields();
  T bare = resource;
  ClearOutputOnly(bare);
  bare.clear_etag();
  const size_t size = bare.ByteSizeLong();
  if (size > kMaxResourceBytes) {
    return InvalidArgument(
        field, absl::StrCat("is ", size, " bytes serialized; the limit is ",
                            kMaxResourceBytes));
  }
  return absl::OkStatus();
}

// RESOURCE_EXHAUSTED when the registry already holds kMaxResourcesPerKind
// of `kind` ("countries").
absl::Status CheckRoom(size_t held, const char* kind);

}  // namespace thb::registry

#endif  // THB_SERVICES_REGISTRY_RESOURCE_VALIDATION_H_
