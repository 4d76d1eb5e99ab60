#ifndef THB_TESTS_REGISTRY_REGISTRY_CORE_FIXTURE_H_
#define THB_TESTS_REGISTRY_REGISTRY_CORE_FIXTURE_H_

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "services/registry/reference_data.h"
#include "services/registry/registry_core.h"

namespace thb::registry {

// all-or-nothing behaviour can be checked without a disk.
class FakeStore : public RegistryStore {
 public:
  explicit FakeStore(StoreState* state) : state_(state) {}

  absl::StatusOr<StoreState> Load() override { return *state_; }

  absl::Status Commit(const CommitBatch& batch) override {
    if (fail_commits) return absl::UnavailableError("disk unavailable");
    if (batch.revision != state_->revision + 1) {
      return absl::FailedPreconditionError("revision gap");
    }
    for (const auto& change : batch.changes) {
      auto it =
          std::find_if(state_->resources.begin(), state_->resources.end(),
                       [&](const StoredResource& r) {
                         return r.kind == change.kind && r.id == change.id;
                       });
      if (change.type == ChangeKind::kDeleted) {
        if (it != state_->resources.end()) state_->resources.erase(it);
      } else if (it != state_->resources.end()) {
        it->revision = batch.revision;
        it->data = change.data;
      } else {
        state_->resources.push_back(
            {change.kind, change.id, batch.revision, change.data});
      }
      state_->changes.push_back(change);
    }
    if (batch.compact_through > 0) {
      state_->compacted_revision = batch.compact_through;
      auto& log = state_->changes;
      log.erase(std::remove_if(log.begin(), log.end(),
                               [&](const StoredChange& c) {
                                 return c.revision <= batch.compact_through;
                               }),
                log.end());
    }
    for (const auto& [key, value] : batch.meta) state_->meta[key] = value;
    for (const auto& event : batch.audit) audit.push_back(event);
    state_->revision = batch.revision;
    ++commits;
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<audit::Event>> ReadAudit(
      const audit::Query&) override {
    return audit;
  }
  absl::StatusOr<int> PruneAudit(int64_t, int) override { return 0; }

  bool fail_commits = false;
  int commits = 0;
  // The audit events committed, oldest first.
  std::vector<audit::Event> audit;

 private:
  StoreState* state_;
};

inline const ReferenceData& Reference() {
  static const auto* data = [] {
    auto loaded = LoadReferenceData(kDefaultIsoCodesPath);
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    return new ReferenceData(std::move(*loaded));
  }();
  return *data;
}

// A write as the service hands it to the core.
inline audit::Invocation Admin() {
  return {{"spiffe://thb/admin/dev", "ipv4:127.0.0.1:50000"},
          "/thb.registry.v1.CountryRegistryService/Test"};
}

class RegistryCoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  void Reopen(CoreOptions options = {}) {
    auto store = std::make_unique<FakeStore>(&state_);
    store_ = store.get();
    auto core = RegistryCore::Open(std::move(store), Reference(), options);
    ASSERT_TRUE(core.ok()) << core.status();
    core_ = std::move(*core);
  }

  std::vector<std::string> Codes(const v1::ListCountriesRequest& base) {
    std::vector<std::string> codes;
    v1::ListCountriesRequest request = base;
    request.set_page_size(1000);
    auto response = core_->ListCountries(request);
    EXPECT_TRUE(response.ok()) << response.status();
    for (const auto& country : response->countries()) {
      codes.push_back(country.code());
    }
    return codes;
  }

  v1::Organisation CreateOrganisation(const std::string& id) {
    v1::CreateOrganisationRequest request;
    request.mutable_organisation()->set_id(id);
    request.mutable_organisation()->set_name("Organisation " + id);
    request.mutable_organisation()->set_kind(v1::ORGANISATION_KIND_NGO);
    auto response = core_->CreateOrganisation(request, Admin());
    EXPECT_TRUE(response.ok()) << response.status();
    return response->organisation();
  }

  StoreState state_;
  FakeStore* store_ = nullptr;
  std::unique_ptr<RegistryCore> core_;
};

}  // namespace thb::registry

#endif  // THB_TESTS_REGISTRY_REGISTRY_CORE_FIXTURE_H_
