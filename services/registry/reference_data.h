#ifndef THB_SERVICES_REGISTRY_REFERENCE_DATA_H_
#define THB_SERVICES_REGISTRY_REFERENCE_DATA_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "thb/registry/v1/registry.pb.h"

namespace thb::registry {

// Where Debian's iso-codes package keeps ISO 3166-1.
inline constexpr char kDefaultIsoCodesPath[] =
    "/usr/share/iso-codes/json/iso_3166-1.json";

// The data a new registry starts with: every ISO 3166-1 country under the EU
// code convention with EU membership and EMN status history, the regions the
// study names, and the organisations it names.
struct ReferenceData {
  std::vector<thb::registry::v1::Country> countries;
  std::vector<thb::registry::v1::Region> regions;
  std::vector<thb::registry::v1::Organisation> organisations;
};

// Bumped whenever the reference data changes, so a store knows what it was
// seeded with.
inline constexpr int kReferenceDataVersion = 1;

// Reads ISO 3166-1 from the iso-codes JSON file at `iso_codes_path` and adds
// the EU, EMN, region and organisation facts. A missing or malformed file is
// FAILED_PRECONDITION naming the path.
absl::StatusOr<ReferenceData> LoadReferenceData(
    const std::string& iso_codes_path);

}  // namespace thb::registry

#endif  // THB_SERVICES_REGISTRY_REFERENCE_DATA_H_
