#ifndef THB_TESTS_AGGREGATOR_REFERENCE_REGISTRY_H_
#define THB_TESTS_AGGREGATOR_REFERENCE_REGISTRY_H_

#include <memory>

#include "gtest/gtest.h"
#include "services/registry/client/registry_snapshot.h"
#include "services/registry/reference_data.h"

namespace thb::aggregator::testing {

// The registry a fresh registry service starts with (every ISO 3166-1
// country with its EMN history, the study's regions and organisations), as
// the snapshot a mirror of it would hold. Null, with a test failure, when
// the iso-codes list cannot be read.
inline std::unique_ptr<registry::RegistrySnapshot> ReferenceSnapshot() {
  auto reference = registry::LoadReferenceData(registry::kDefaultIsoCodesPath);
  EXPECT_TRUE(reference.ok()) << reference.status();
  if (!reference.ok()) return nullptr;
  auto snapshot = std::make_unique<registry::RegistrySnapshot>();
  for (const auto& country : reference->countries) {
    snapshot->countries[country.code()] = country;
    if (country.iso_alpha2() != country.code()) {
      snapshot->aliases[country.iso_alpha2()] = country.code();
    }
  }
  for (const auto& region : reference->regions) {
    snapshot->regions[region.id()] = region;
  }
  for (const auto& organisation : reference->organisations) {
    snapshot->organisations[organisation.id()] = organisation;
  }
  return snapshot;
}

}  // namespace thb::aggregator::testing

#endif  // THB_TESTS_AGGREGATOR_REFERENCE_REGISTRY_H_
