#ifndef THB_SERVICES_REGISTRY_REGISTRY_CORE_H_
#define THB_SERVICES_REGISTRY_REGISTRY_CORE_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/audit_log.h"
#include "common/executor.h"
#include "common/message_budget.h"
#include "common/revision_notifier.h"
#include "google/protobuf/field_mask.pb.h"
#include "services/registry/reference_data.h"
#include "services/registry/registry_store.h"
#include "services/registry/resource_validation.h"
#include "thb/registry/v1/registry_service.pb.h"

namespace thb::registry {

// How much change history the registry may keep (CoreOptions);
// resource_validation.h bounds what one resource and one kind may hold.
inline constexpr int64_t kMaxHistoryRevisions = 50000;
// The largest request the registry receives: a write of a resource of
// kMaxResourceBytes that echoes the output-only fields a read gave it (a
// country's region_ids, in every region: kMaxResourcesPerKind ids of up to
// 63 bytes, ~330 KiB; its last writer, a principal of up to 16 KiB), with
// room to spare.
inline constexpr int kMaxRequestBytes = 1 << 20;

// What the registry learns from thb-cooperation before it deletes a region
// or an organisation: whether any cooperation record cites it.
class Citations {
 public:
  virtual ~Citations() = default;
  // The id of a record that cites the region or organisation `id`, or none;
  // UNAVAILABLE (or another error) when that cannot be learnt by `deadline`.
  virtual absl::StatusOr<std::optional<std::string>> FirstCitingRecord(
      ResourceKind kind, const std::string& id, absl::Time deadline) const = 0;
};

struct CoreOptions {
  // How many revisions of change history Watch can resume from, 1 to
  // kMaxHistoryRevisions.
  int64_t history_revisions = 10000;
  // Most changes one ChangesAfter call returns (whole revisions are never
  // split, so a single larger revision is still returned whole).
  int max_changes_per_batch = 1000;
  // Most bytes of resources one List page carries (always at least one).
  size_t max_page_bytes = kMaxListPageBytes;
  // Most bytes of changes one ChangesAfter call returns (whole revisions,
  // always at least one).
  size_t max_batch_bytes = kMaxWatchBatchBytes;
  // How long audit events are kept.
  absl::Duration audit_retention = audit::kDefaultRetention;
  // Asked before a region or organisation is deleted; null deletes without
  // asking (a registry deployed without cooperation records, unit tests).
  const Citations* citations = nullptr;
  // The server time that writes and the audit log go by.
  std::function<absl::Time()> clock = [] { return absl::Now(); };
};

// The registry's logic: validation, EU code aliases, EMN status on a date,
// etags, pagination, revisions and the change log. The whole registry fits
// in memory (a few hundred resources), so reads never touch the store and
// never block; writes go to the store first and reach memory only once
// durable.
class RegistryCore {
 public:
  // Loads the store, seeding it with `reference` in one commit when it has
  // never been seeded (a later start leaves the data as users changed it).
  static absl::StatusOr<std::unique_ptr<RegistryCore>> Open(
      std::unique_ptr<RegistryStore> store, const ReferenceData& reference,
      CoreOptions options = {});

  absl::StatusOr<v1::GetCountryResponse> GetCountry(
      const v1::GetCountryRequest& request) const;
  absl::StatusOr<v1::BatchGetCountriesResponse> BatchGetCountries(
      const v1::BatchGetCountriesRequest& request) const;
  absl::StatusOr<v1::ListCountriesResponse> ListCountries(
      const v1::ListCountriesRequest& request) const;
  absl::StatusOr<v1::CreateCountryResponse> CreateCountry(
      const v1::CreateCountryRequest& request, const audit::Invocation& call);
  absl::StatusOr<v1::UpdateCountryResponse> UpdateCountry(
      const v1::UpdateCountryRequest& request, const audit::Invocation& call);
  absl::StatusOr<v1::DeleteCountryResponse> DeleteCountry(
      const v1::DeleteCountryRequest& request, const audit::Invocation& call);

  absl::StatusOr<v1::GetRegionResponse> GetRegion(
      const v1::GetRegionRequest& request) const;
  absl::StatusOr<v1::ListRegionsResponse> ListRegions(
      const v1::ListRegionsRequest& request) const;
  absl::StatusOr<v1::CreateRegionResponse> CreateRegion(
      const v1::CreateRegionRequest& request, const audit::Invocation& call);
  absl::StatusOr<v1::UpdateRegionResponse> UpdateRegion(
      const v1::UpdateRegionRequest& request, const audit::Invocation& call);
  // Refused with FAILED_PRECONDITION while a cooperation record cites the
  // region (see CoreOptions::citations), asked by `deadline`.
  absl::StatusOr<v1::DeleteRegionResponse> DeleteRegion(
      const v1::DeleteRegionRequest& request, const audit::Invocation& call,
      absl::Time deadline = absl::InfiniteFuture());

  absl::StatusOr<v1::GetOrganisationResponse> GetOrganisation(
      const v1::GetOrganisationRequest& request) const;
  absl::StatusOr<v1::ListOrganisationsResponse> ListOrganisations(
      const v1::ListOrganisationsRequest& request) const;
  absl::StatusOr<v1::CreateOrganisationResponse> CreateOrganisation(
      const v1::CreateOrganisationRequest& request,
      const audit::Invocation& call);
  absl::StatusOr<v1::UpdateOrganisationResponse> UpdateOrganisation(
      const v1::UpdateOrganisationRequest& request,
      const audit::Invocation& call);
  // As DeleteRegion.
  absl::StatusOr<v1::DeleteOrganisationResponse> DeleteOrganisation(
      const v1::DeleteOrganisationRequest& request,
      const audit::Invocation& call,
      absl::Time deadline = absl::InfiniteFuture());

  // Changes with a revision greater than `from_revision`, whole revisions at
  // a time, at most about max_changes_per_batch and max_batch_bytes. Empty
  // when there are none yet. OUT_OF_RANGE when the history no longer reaches
  // back that far, when `from_revision` is beyond the current revision, or
  // when `incarnation` is set and is not the store's (a follower of an
  // earlier life of the store must list again); INVALID_ARGUMENT for a
  // negative revision.
  absl::StatusOr<v1::WatchResponse> ChangesAfter(
      int64_t from_revision, const std::string& incarnation = "") const;

  // The store's incarnation, sent with every List and Watch answer.
  const std::string& incarnation() const { return incarnation_; }

  // The audit log: an event for every resource each committed write changed
  // (the seeding of a new store is no call and has none).
  absl::StatusOr<v1::ListAuditEventsResponse> ListAuditEvents(
      const v1::ListAuditEventsRequest& request) const;

  int64_t revision() const;
  // Published after every commit; Watch streams wait on it.
  RevisionNotifier& notifier() { return notifier_; }

 private:
  struct Entry {
    int64_t revision = 0;
    std::string data;  // serialized resource, output-only fields cleared
  };
  using Table = std::map<std::string, Entry>;  // ordered: pages by id

  RegistryCore(std::unique_ptr<RegistryStore> store, CoreOptions options);

  absl::Status Seed(const ReferenceData& reference);
  // Commits `changes` at the next revision, with an audit event for each
  // made by `call` (none without), then applies them to memory. Fills
  // revision, etag, times and the last writer into each change's data.
  absl::StatusOr<int64_t> CommitChanges(std::vector<StoredChange> changes,
                                        std::map<std::string, std::string> meta,
                                        const audit::Invocation* call)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  // The one write path of every resource type T (resource_traits.h says
  // what differs between types; the hooks below, what needs the registry).
  // Create and Update answer the resource as stored; Delete, the revision.
  template <typename T>
  absl::StatusOr<T> Create(T resource, const audit::Invocation& call)
      ABSL_LOCKS_EXCLUDED(write_mu_, mu_);
  // `requested` names the resource and carries the new values of the fields
  // of `update_mask` (all writable fields when empty) and the etag to match.
  template <typename T>
  absl::StatusOr<T> Update(const T& requested,
                           const google::protobuf::FieldMask& update_mask,
                           const audit::Invocation& call)
      ABSL_LOCKS_EXCLUDED(write_mu_, mu_);
  // Deletes the resource `id` if `etag` is empty or current and nothing
  // refers to it (CheckNotInUse; CheckNotCited, by `deadline`, for what
  // cooperation records cite).
  template <typename T>
  absl::StatusOr<int64_t> Delete(const std::string& id, const std::string& etag,
                                 const audit::Invocation& call,
                                 absl::Time deadline)
      ABSL_LOCKS_EXCLUDED(write_mu_, mu_);
  // An existing resource as a read answers it.
  template <typename T>
  absl::StatusOr<T> Get(const std::string& id) const ABSL_LOCKS_EXCLUDED(mu_);

  // Hooks of the write path, overloaded on the resource type; the template
  // is what a type without the hook does.
  //
  // The id of the existing resource `id` names (a country's alias resolves
  // to its code), or the error for `field`.
  template <typename T>
  absl::StatusOr<std::string> ResolveId(const std::string& id,
                                        const std::string& field) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Checks what a resource refers to in the registry and puts it in
  // canonical form (a region's countries); nothing for other types.
  absl::Status CompleteInRegistry(v1::Region& region) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  template <typename T>
  absl::Status CompleteInRegistry(T&) const ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return absl::OkStatus();
  }
  // ALREADY_EXISTS when what a write gives a resource belongs to another
  // (a country's code and alias are unique across all countries).
  absl::Status CheckNoConflict(const v1::Country& country,
                               ChangeKind change) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  template <typename T>
  absl::Status CheckNoConflict(const T&, ChangeKind) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return absl::OkStatus();
  }
  // FAILED_PRECONDITION while another resource of the registry refers to
  // this one (a region to a country).
  absl::Status CheckNotInUse(const v1::Country& country) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  template <typename T>
  absl::Status CheckNotInUse(const T&) const ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return absl::OkStatus();
  }
  // The resource `id` as a write answers it (a country with its status
  // today and its regions).
  template <typename T>
  absl::StatusOr<T> Present(const std::string& id) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  // FAILED_PRECONDITION naming a cooperation record that cites the region
  // or organisation `id`; the error of CoreOptions::citations when it cannot
  // tell. Asked without any lock held: it waits for another service.
  absl::Status CheckNotCited(ResourceKind kind, const std::string& id,
                             absl::Time deadline) const;

  // Canonical code for a code or alias (an exact code first), or the error
  // for `field`.
  absl::StatusOr<std::string> ResolveCountryCode(const std::string& code,
                                                 const std::string& field) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // ALREADY_EXISTS naming `field`, `value` and the holder when a country
  // other than `self` has `value` as its code or alias.
  absl::Status CheckNoOtherCountryAnswersTo(const std::string& value,
                                            const std::string& field,
                                            const std::string& self) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // The country `code` with its status on `day` and its regions; INTERNAL
  // naming a stored row that does not parse.
  absl::StatusOr<v1::Country> Decorate(const std::string& code,
                                       const Entry& entry,
                                       absl::CivilDay day) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  Table& TableFor(ResourceKind kind) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  const Table& TableFor(ResourceKind kind) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  std::unique_ptr<RegistryStore> store_;
  CoreOptions options_;
  std::string incarnation_;
  // Watch streams are woken on this thread, not on the writer's, which holds
  // write_mu_ while it publishes: a slow watcher never holds up writes.
  Executor fan_out_{1};
  RevisionNotifier notifier_{0, &fan_out_};

  // Writers take write_mu_ for their whole read-validate-commit sequence so
  // that validation sees the state the commit applies to; readers take only
  // mu_, which writers hold exclusively just to apply a durable commit.
  absl::Mutex write_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  mutable absl::Mutex mu_;
  int64_t revision_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t compacted_revision_ ABSL_GUARDED_BY(mu_) = 0;
  Table countries_ ABSL_GUARDED_BY(mu_);
  Table regions_ ABSL_GUARDED_BY(mu_);
  Table organisations_ ABSL_GUARDED_BY(mu_);
  // Alias → canonical code ("GR" → "EL"), from each country's ISO alpha-2.
  absl::flat_hash_map<std::string, std::string> aliases_ ABSL_GUARDED_BY(mu_);
  std::deque<v1::Change> history_ ABSL_GUARDED_BY(mu_);
  // Revisions of history_ whose stored change does not parse, and the error
  // a Watch reaching them answers.
  std::map<int64_t, absl::Status> damaged_changes_ ABSL_GUARDED_BY(mu_);
};

}  // namespace thb::registry

#endif  // THB_SERVICES_REGISTRY_REGISTRY_CORE_H_
