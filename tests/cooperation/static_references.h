#ifndef THB_TESTS_COOPERATION_STATIC_REFERENCES_H_
#define THB_TESTS_COOPERATION_STATIC_REFERENCES_H_

#include <memory>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "services/registry/client/registry_snapshot.h"
#include "services/registry/reference_data.h"

namespace thb::cooperation {

// The registry's reference data as a References, or none at all (a cold
// cache: the registry never answered).
class StaticReferences : public registry::References {
 public:
  explicit StaticReferences(bool available) {
    if (!available) return;
    auto data = registry::LoadReferenceData(registry::kDefaultIsoCodesPath);
    EXPECT_TRUE(data.ok()) << data.status();
    auto snapshot = std::make_shared<registry::RegistrySnapshot>();
    snapshot->revision = 1;
    for (const auto& country : data->countries) {
      snapshot->countries[country.code()] = country;
      if (country.iso_alpha2() != country.code()) {
        snapshot->aliases[country.iso_alpha2()] = country.code();
      }
    }
    for (const auto& region : data->regions)
      snapshot->regions[region.id()] = region;
    for (const auto& organisation : data->organisations) {
      snapshot->organisations[organisation.id()] = organisation;
    }
    snapshot_ = std::move(snapshot);
  }

  absl::StatusOr<std::shared_ptr<const registry::RegistrySnapshot>> Snapshot(
      absl::Time) const override {
    if (snapshot_ == nullptr) return absl::UnavailableError("registry down");
    return snapshot_;
  }

 private:
  std::shared_ptr<const registry::RegistrySnapshot> snapshot_;
};

}  // namespace thb::cooperation

#endif  // THB_TESTS_COOPERATION_STATIC_REFERENCES_H_
