// The registry's writes: one create/update/delete path over the resource
// type, the hooks where types differ, and the RPCs over them.

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/dates.h"
#include "common/errors.h"
#include "common/etag.h"
#include "common/update_mask.h"
#include "services/registry/registry_core.h"
#include "services/registry/resource_traits.h"

namespace thb::registry {

using v1::Country;
using v1::Organisation;
using v1::Region;

// --- Hooks: what a write of one type checks against the registry ---

template <typename T>
absl::StatusOr<std::string> RegistryCore::ResolveId(
    const std::string& id, const std::string& field) const {
  if (auto status = CheckId(id, field); !status.ok()) return status;
  return id;
}

template <>
absl::StatusOr<std::string> RegistryCore::ResolveId<Country>(
    const std::string& id, const std::string& field) const {
  return ResolveCountryCode(id, field);
}

absl::Status RegistryCore::CompleteInRegistry(Region& region) const {
  std::set<std::string> codes;
  for (int i = 0; i < region.country_codes_size(); ++i) {
    const std::string field = absl::StrCat("region.country_codes[", i, "]");
    auto code = ResolveCountryCode(region.country_codes(i), field);
    if (!code.ok()) return code.status();
    if (!countries_.count(*code)) {
      return InvalidArgument(
          field, absl::StrCat("\"", region.country_codes(i),
                              "\" is not a country of the registry"));
    }
    codes.insert(*code);
  }
  region.clear_country_codes();
  for (const auto& code : codes) region.add_country_codes(code);
  return absl::OkStatus();
}

absl::Status RegistryCore::CheckNoOtherCountryAnswersTo(
    const std::string& value, const std::string& field,
    const std::string& self) const {
  std::string holder;
  const char* as = nullptr;
  if (value != self && countries_.count(value)) {
    holder = value;
    as = "the code";
  } else if (auto alias = aliases_.find(value);
             alias != aliases_.end() && alias->second != self) {
    holder = alias->second;
    as = "an alias";
  }
  if (as == nullptr) return absl::OkStatus();
  return WithReason(
      absl::AlreadyExistsError(absl::StrCat(
          field, ": \"", value, "\" is already ", as, " of country \"", holder,
          "\"; codes and aliases are unique across all countries")),
      "COUNTRY_CODE_TAKEN",
      {{"field", field}, {"value", value}, {"country", holder}});
}

absl::Status RegistryCore::CheckNoConflict(const Country& country,
                                           ChangeKind change) const {
  // An update keeps the code it resolved, whatever a conflicting alias of
  // an older store says of it.
  if (change == ChangeKind::kCreated) {
    if (auto s = CheckNoOtherCountryAnswersTo(country.code(), "country.code",
                                              country.code());
        !s.ok()) {
      return s;
    }
  }
  return CheckNoOtherCountryAnswersTo(country.iso_alpha2(),
                                      "country.iso_alpha2", country.code());
}

absl::Status RegistryCore::CheckNotInUse(const Country& country) const {
  const std::string& code = country.code();
  for (const auto& [id, entry] : regions_) {
    auto region = Parse<Region>(id, entry.revision, entry.data);
    if (!region.ok()) return region.status();
    if (std::binary_search(region->country_codes().begin(),
                           region->country_codes().end(), code)) {
      return WithReason(absl::FailedPreconditionError(absl::StrCat(
                            "country \"", code, "\" is a member of region \"",
                            id, "\"; remove it from the region first")),
                        "COUNTRY_IN_USE", {{"region", id}});
    }
  }
  return absl::OkStatus();
}

absl::Status RegistryCore::CheckNotCited(ResourceKind kind,
                                         const std::string& id,
                                         absl::Time deadline) const {
  if (options_.citations == nullptr) return absl::OkStatus();
  auto record = options_.citations->FirstCitingRecord(kind, id, deadline);
  if (!record.ok()) return record.status();
  if (!record->has_value()) return absl::OkStatus();
  const std::string type = TypeName(kind);
  return WithReason(
      absl::FailedPreconditionError(absl::StrCat(
          type, " \"", id, "\" is cited by cooperation record \"", **record,
          "\" (and perhaps others); change or delete the records that cite "
          "it first")),
      kind == ResourceKind::kRegion ? "REGION_IN_USE" : "ORGANISATION_IN_USE",
      {{"resource_type", type}, {"resource_name", id}, {"record", **record}});
}

template <typename T>
absl::StatusOr<T> RegistryCore::Present(const std::string& id) const {
  const Entry& entry = TableFor(ResourceTraits<T>::kKind).at(id);
  return Parse<T>(id, entry.revision, entry.data);
}

template <>
absl::StatusOr<Country> RegistryCore::Present<Country>(
    const std::string& code) const {
  return Decorate(code, countries_.at(code), TodayUtc());
}

// --- The write path ---

template <typename T>
absl::StatusOr<T> RegistryCore::Create(T resource,
                                       const audit::Invocation& call) {
  using Traits = ResourceTraits<T>;
  auto id = Traits::NewId(resource);
  if (!id.ok()) return id.status();
  ClearOutputOnly(resource);
  resource.clear_etag();
  if (auto s = Traits::Validate(resource); !s.ok()) return s;
  if constexpr (!Traits::kCompletedInRegistry) {
    if (auto s = Admit(resource, Traits::kType); !s.ok()) return s;
  }
  absl::MutexLock write(&write_mu_);
  {
    absl::ReaderMutexLock lock(&mu_);
    const Table& table = TableFor(Traits::kKind);
    if (table.count(*id)) return AlreadyExists(Traits::kType, *id);
    if (auto s = CheckRoom(table.size(), Traits::kPlural); !s.ok()) return s;
    if (auto s = CompleteInRegistry(resource); !s.ok()) return s;
    if (auto s = CheckNoConflict(resource, ChangeKind::kCreated); !s.ok()) {
      return s;
    }
  }
  if constexpr (Traits::kCompletedInRegistry) {
    if (auto s = Admit(resource, Traits::kType); !s.ok()) return s;
  }
  auto revision =
      CommitChanges({StoredChange{0, ChangeKind::kCreated, Traits::kKind, *id,
                                  0, resource.SerializeAsString()}},
                    {}, &call);
  if (!revision.ok()) return revision.status();
  absl::ReaderMutexLock lock(&mu_);
  return Present<T>(*id);
}

template <typename T>
absl::StatusOr<T> RegistryCore::Update(
    const T& requested, const google::protobuf::FieldMask& update_mask,
    const audit::Invocation& call) {
  using Traits = ResourceTraits<T>;
  auto mask =
      EffectiveUpdateMask(update_mask, Traits::WritableFields(), Traits::kType);
  if (!mask.ok()) return mask.status();
  absl::MutexLock write(&write_mu_);
  std::string id;
  T resource;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto resolved =
        ResolveId<T>(Traits::Id(requested),
                     absl::StrCat(Traits::kType, ".", Traits::kIdField));
    if (!resolved.ok()) return resolved.status();
    id = *resolved;
    const Table& table = TableFor(Traits::kKind);
    auto it = table.find(id);
    if (it == table.end())
      return NotFound(Traits::kType, Traits::Id(requested));
    auto stored = Parse<T>(id, it->second.revision, it->second.data);
    if (!stored.ok()) return stored.status();
    resource = std::move(*stored);
    if (auto s =
            CheckEtag(Traits::kType, id, requested.etag(), resource.etag());
        !s.ok()) {
      return s;
    }
    ApplyUpdateMask(requested, *mask, &resource);
    if (auto s = Traits::Validate(resource); !s.ok()) return s;
    if (auto s = CompleteInRegistry(resource); !s.ok()) return s;
    if (auto s = Admit(resource, Traits::kType); !s.ok()) return s;
    if (auto s = CheckNoConflict(resource, ChangeKind::kUpdated); !s.ok()) {
      return s;
    }
  }
  auto revision =
      CommitChanges({StoredChange{0, ChangeKind::kUpdated, Traits::kKind, id, 0,
                                  resource.SerializeAsString()}},
                    {}, &call);
  if (!revision.ok()) return revision.status();
  absl::ReaderMutexLock lock(&mu_);
  return Present<T>(id);
}

template <typename T>
absl::StatusOr<int64_t> RegistryCore::Delete(const std::string& id,
                                             const std::string& etag,
                                             const audit::Invocation& call,
                                             absl::Time deadline) {
  using Traits = ResourceTraits<T>;
  if constexpr (Traits::kCitedByRecords) {
    // Asked without any lock held: it waits for another service.
    {
      absl::ReaderMutexLock lock(&mu_);
      if (auto s = ResolveId<T>(id, Traits::kIdField); !s.ok()) {
        return s.status();
      }
      if (!TableFor(Traits::kKind).count(id)) {
        return NotFound(Traits::kType, id);
      }
    }
    if (auto s = CheckNotCited(Traits::kKind, id, deadline); !s.ok()) return s;
  }
  absl::MutexLock write(&write_mu_);
  std::string resolved;
  std::string data;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto found = ResolveId<T>(id, Traits::kIdField);
    if (!found.ok()) return found.status();
    resolved = *found;
    const Table& table = TableFor(Traits::kKind);
    auto it = table.find(resolved);
    if (it == table.end()) return NotFound(Traits::kType, resolved);
    auto resource = Parse<T>(resolved, it->second.revision, it->second.data);
    if (!resource.ok()) return resource.status();
    if (auto s = CheckEtag(Traits::kType, resolved, etag, resource->etag());
        !s.ok()) {
      return s;
    }
    if (auto s = CheckNotInUse(*resource); !s.ok()) return s;
    data = it->second.data;
  }
  return CommitChanges({StoredChange{0, ChangeKind::kDeleted, Traits::kKind,
                                     resolved, 0, std::move(data)}},
                       {}, &call);
}

// --- The RPCs ---

absl::StatusOr<v1::CreateCountryResponse> RegistryCore::CreateCountry(
    const v1::CreateCountryRequest& request, const audit::Invocation& call) {
  auto country = Create(request.country(), call);
  if (!country.ok()) return country.status();
  v1::CreateCountryResponse response;
  *response.mutable_country() = std::move(*country);
  return response;
}

absl::StatusOr<v1::UpdateCountryResponse> RegistryCore::UpdateCountry(
    const v1::UpdateCountryRequest& request, const audit::Invocation& call) {
  auto country = Update(request.country(), request.update_mask(), call);
  if (!country.ok()) return country.status();
  v1::UpdateCountryResponse response;
  *response.mutable_country() = std::move(*country);
  return response;
}

absl::StatusOr<v1::DeleteCountryResponse> RegistryCore::DeleteCountry(
    const v1::DeleteCountryRequest& request, const audit::Invocation& call) {
  auto revision = Delete<Country>(request.code(), request.etag(), call,
                                  absl::InfiniteFuture());
  if (!revision.ok()) return revision.status();
  v1::DeleteCountryResponse response;
  response.set_revision(*revision);
  return response;
}

absl::StatusOr<v1::CreateRegionResponse> RegistryCore::CreateRegion(
    const v1::CreateRegionRequest& request, const audit::Invocation& call) {
  auto region = Create(request.region(), call);
  if (!region.ok()) return region.status();
  v1::CreateRegionResponse response;
  *response.mutable_region() = std::move(*region);
  return response;
}

absl::StatusOr<v1::UpdateRegionResponse> RegistryCore::UpdateRegion(
    const v1::UpdateRegionRequest& request, const audit::Invocation& call) {
  auto region = Update(request.region(), request.update_mask(), call);
  if (!region.ok()) return region.status();
  v1::UpdateRegionResponse response;
  *response.mutable_region() = std::move(*region);
  return response;
}

absl::StatusOr<v1::DeleteRegionResponse> RegistryCore::DeleteRegion(
    const v1::DeleteRegionRequest& request, const audit::Invocation& call,
    absl::Time deadline) {
  auto revision = Delete<Region>(request.id(), request.etag(), call, deadline);
  if (!revision.ok()) return revision.status();
  v1::DeleteRegionResponse response;
  response.set_revision(*revision);
  return response;
}

absl::StatusOr<v1::CreateOrganisationResponse> RegistryCore::CreateOrganisation(
    const v1::CreateOrganisationRequest& request,
    const audit::Invocation& call) {
  auto organisation = Create(request.organisation(), call);
  if (!organisation.ok()) return organisation.status();
  v1::CreateOrganisationResponse response;
  *response.mutable_organisation() = std::move(*organisation);
  return response;
}

absl::StatusOr<v1::UpdateOrganisationResponse> RegistryCore::UpdateOrganisation(
    const v1::UpdateOrganisationRequest& request,
    const audit::Invocation& call) {
  auto organisation =
      Update(request.organisation(), request.update_mask(), call);
  if (!organisation.ok()) return organisation.status();
  v1::UpdateOrganisationResponse response;
  *response.mutable_organisation() = std::move(*organisation);
  return response;
}

absl::StatusOr<v1::DeleteOrganisationResponse> RegistryCore::DeleteOrganisation(
    const v1::DeleteOrganisationRequest& request, const audit::Invocation& call,
    absl::Time deadline) {
  auto revision =
      Delete<Organisation>(request.id(), request.etag(), call, deadline);
  if (!revision.ok()) return revision.status();
  v1::DeleteOrganisationResponse response;
  response.set_revision(*revision);
  return response;
}

}  // namespace thb::registry
