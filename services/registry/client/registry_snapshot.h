#ifndef THB_SERVICES_REGISTRY_CLIENT_REGISTRY_SNAPSHOT_H_
#define THB_SERVICES_REGISTRY_CLIENT_REGISTRY_SNAPSHOT_H_

// The registry's data as its clients hold it, in plain C++: messages and
// Abseil, no gRPC, so that the cores that read it (the query engine, the
// cooperation core) need no transport. RegistryMirror
// (registry_mirror.h) keeps one current over gRPC.

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "thb/registry/v1/registry.pb.h"
#include "thb/registry/v1/registry_service.pb.h"

namespace thb::registry {

// Which snapshot a RegistrySnapshot is, for caches of what is derived from
// one: unique in the process and never reused (an address may be, and a
// revision may come back after the registry loses its history). A copy gets
// a new identity, and Apply renews it.
class SnapshotIdentity {
 public:
  SnapshotIdentity() : value_(Next()) {}
  SnapshotIdentity(const SnapshotIdentity&) : value_(Next()) {}
  SnapshotIdentity& operator=(const SnapshotIdentity&) {
    value_ = Next();
    return *this;
  }

  uint64_t value() const { return value_; }
  void Renew() { value_ = Next(); }

 private:
  static uint64_t Next() {
    static std::atomic<uint64_t> last{0};
    return last.fetch_add(1, std::memory_order_relaxed) + 1;
  }

  uint64_t value_;
};

// One consistent copy of the registry at a revision. Immutable once
// published, so readers share it without locks, and caches keyed by its
// identity stay right: its maps change only while it is being built, before
// anyone reads it, or through Apply.
struct RegistrySnapshot {
  SnapshotIdentity identity;
  int64_t revision = 0;
  // The incarnation of the registry store `revision` belongs to.
  std::string incarnation;
  absl::flat_hash_map<std::string, v1::Country> countries;
  // ISO alpha-2 → canonical code where they differ ("GR" → "EL").
  absl::flat_hash_map<std::string, std::string> aliases;
  absl::flat_hash_map<std::string, v1::Region> regions;
  absl::flat_hash_map<std::string, v1::Organisation> organisations;

  // The canonical code of a code or alias (any case; an exact code before
  // an alias), if the registry has it.
  std::optional<std::string> CanonicalCountry(std::string_view code) const;
  // EMN_STATUS_NONE for a country the registry does not have.
  v1::EmnStatus StatusOn(const std::string& canonical_code,
                         absl::CivilDay day) const;
  // Applies one change of the registry's Watch.
  void Apply(const v1::Change& change);
};

// What a service needs of the registry to validate and classify codes.
// Implemented by RegistryMirror; unit tests of a core may fake it.
class References {
 public:
  virtual ~References() = default;
  // The latest copy, waiting until `deadline` for a first one (or for the
  // registry to come back when the copy has gone stale); UNAVAILABLE naming
  // the registry when none arrives in time.
  virtual absl::StatusOr<std::shared_ptr<const RegistrySnapshot>> Snapshot(
      absl::Time deadline) const = 0;
};

}  // namespace thb::registry

#endif  // THB_SERVICES_REGISTRY_CLIENT_REGISTRY_SNAPSHOT_H_
